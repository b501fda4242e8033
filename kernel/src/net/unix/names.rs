//! Socket names: the abstract namespace (a bounded global table keyed by socket type and
//! name) and filesystem names (a socket node created by bind, found again by its
//! (st_dev, st_ino) in a table of bound sockets, the way FIFOs find their pipe), and
//! autobind (Linux's 5-hex-digit abstract names).
//!
//! Both tables hold weak references: a socket removes its entry when released. Both are
//! sorted vectors grown with a fallible reservation; the abstract table holds at most
//! [`MAX_ABSTRACT`] names (ENOMEM past it), the path table at most one entry per socket
//! node, each a file the binder created.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use exo_abi::mode::S_IFSOCK;
use exo_abi::{Errno, KResult};
use exo_unixsock::addr::{self, Name};
use exo_vfs::{permitted, Access};

use super::{Binding, Unix};
use crate::net::SockAddr;
use crate::spinlock::SpinLock;

/// Most abstract names bound at once.
pub const MAX_ABSTRACT: usize = 65_536;

/// Abstract names by (socket type, name).
static ABSTRACT: SpinLock<Vec<((u32, Name), Weak<Unix>)>> = SpinLock::new(Vec::new());
/// Sockets bound to filesystem nodes by (st_dev, st_ino).
static PATHS: SpinLock<Vec<((u64, u64), Weak<Unix>)>> = SpinLock::new(Vec::new());
/// Where autobind starts looking.
static NEXT_AUTOBIND: AtomicU32 = AtomicU32::new(0);

/// Adds `key → sock` to a sorted table unless a live socket holds the key (EADDRINUSE).
fn insert<K: Ord + Copy>(table: &SpinLock<Vec<(K, Weak<Unix>)>>, key: K, sock: &Arc<Unix>, bound: usize) -> KResult<()> {
    let mut table = table.lock();
    match table.binary_search_by(|(k, _)| k.cmp(&key)) {
        Ok(i) if table[i].1.strong_count() > 0 => Err(Errno::EADDRINUSE),
        Ok(i) => {
            table[i].1 = Arc::downgrade(sock);
            Ok(())
        }
        Err(i) => {
            if table.len() >= bound {
                return Err(Errno::ENOMEM);
            }
            table.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            table.insert(i, (key, Arc::downgrade(sock)));
            Ok(())
        }
    }
}

fn remove<K: Ord + Copy>(table: &SpinLock<Vec<(K, Weak<Unix>)>>, key: K, sock: &Unix) {
    let mut table = table.lock();
    if let Ok(i) = table.binary_search_by(|(k, _)| k.cmp(&key)) {
        if core::ptr::eq(table[i].1.as_ptr(), sock) || table[i].1.strong_count() == 0 {
            table.remove(i);
        }
    }
}

fn lookup<K: Ord + Copy>(table: &SpinLock<Vec<(K, Weak<Unix>)>>, key: K) -> Option<Arc<Unix>> {
    let table = table.lock();
    let i = table.binary_search_by(|(k, _)| k.cmp(&key)).ok()?;
    table[i].1.upgrade()
}

/// An abstract name's key: Linux hashes the socket type in, so each type has its own
/// abstract namespace (a stream and a datagram socket may share a name).
fn abstract_key(kind: u32, name: Name) -> (u32, Name) {
    (kind, name)
}

/// Binds `sock` to `name` (the caller holds its `op` lock and checked it is unbound).
pub(super) fn bind(sock: &Unix, name: Name) -> KResult<(Name, Binding)> {
    let arc = sock.arc()?;
    if name.is_abstract() {
        insert(&ABSTRACT, abstract_key(sock.kind, name), &arc, MAX_ABSTRACT)?;
        return Ok((name, Binding::Abstract));
    }
    let task = crate::process::current().ok_or(Errno::EINVAL)?;
    let ctx = crate::fs::lookup_ctx(&task, None);
    let mode = S_IFSOCK | (0o777 & !task.fs().umask());
    let node = match crate::fs::namespace()?.mknod(&ctx, name.bytes(), mode, 0) {
        Ok(node) => node,
        Err(Errno::EEXIST) => return Err(Errno::EADDRINUSE),
        Err(e) => return Err(e),
    };
    let meta = node.metadata();
    let key = (meta.dev, meta.ino);
    insert(&PATHS, key, &arc, usize::MAX)?;
    Ok((name, Binding::Path(node, key)))
}

/// Whether a filesystem name exists (as anything).
pub(super) fn path_exists(name: &Name) -> bool {
    let Some(task) = crate::process::current() else { return false };
    let ctx = crate::fs::lookup_ctx(&task, None).follow(false);
    crate::fs::namespace().is_ok_and(|ns| ns.resolve(&ctx, name.bytes()).is_ok())
}

/// Forgets `sock`'s name (it is being released).
pub(super) fn unbind(sock: &Unix, name: &Name, binding: &Binding) {
    match binding {
        Binding::Abstract => remove(&ABSTRACT, abstract_key(sock.kind, *name), sock),
        Binding::Path(_, key) => remove(&PATHS, *key, sock),
        Binding::Inherited => {}
    }
}

/// Gives an unbound `sock` an autobind name (nothing if it has a name).
pub(super) fn autobind(sock: &Unix) -> KResult<()> {
    let _op = sock.op.lock();
    if sock.conn.lock().name.is_some() {
        return Ok(());
    }
    let bound = autobind_locked(sock)?;
    sock.conn.lock().name = Some(bound);
    Ok(())
}

/// Finds a free autobind name and binds `sock` to it (the caller holds `op`).
pub(super) fn autobind_locked(sock: &Unix) -> KResult<(Name, Binding)> {
    // The table holds at most MAX_ABSTRACT names, so this many tries find a free one.
    for _ in 0..=MAX_ABSTRACT {
        let n = NEXT_AUTOBIND.fetch_add(1, Ordering::Relaxed);
        match bind(sock, Name::autobind(n)) {
            Err(Errno::EADDRINUSE) => continue,
            other => return other,
        }
    }
    Err(Errno::EADDRINUSE)
}

/// The socket an address names, for a socket of type `kind` connecting or sending to it:
/// EINVAL (malformed), ENOENT and the path errors, EACCES (no write permission on the node),
/// ECONNREFUSED (nobody bound there), EPROTOTYPE (another socket type).
pub(super) fn find(addr: &SockAddr, kind: u32) -> KResult<Arc<Unix>> {
    let name = addr::parse(addr.bytes()).map_err(|_| Errno::EINVAL)?;
    if name.is_abstract() {
        return lookup(&ABSTRACT, abstract_key(kind, name)).ok_or(Errno::ECONNREFUSED);
    }
    let task = crate::process::current().ok_or(Errno::EINVAL)?;
    let ctx = crate::fs::lookup_ctx(&task, None);
    let node = crate::fs::namespace()?.resolve(&ctx, name.bytes())?;
    let meta = node.metadata();
    if meta.mode & exo_abi::mode::S_IFMT != S_IFSOCK {
        return Err(Errno::ECONNREFUSED);
    }
    if !permitted(&meta, &ctx.cred, Access { read: false, write: true, exec: false }) {
        return Err(Errno::EACCES);
    }
    let sock = lookup(&PATHS, (meta.dev, meta.ino)).ok_or(Errno::ECONNREFUSED)?;
    if sock.kind != kind {
        return Err(Errno::EPROTOTYPE);
    }
    if sock.state() == super::CLOSED {
        return Err(Errno::ECONNREFUSED);
    }
    Ok(sock)
}
