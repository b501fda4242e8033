//! Path resolution with Linux's rules: absolute and relative paths, `.`, `..` (stopping at the
//! process root, crossing mount points upwards), mounted file systems (crossed downwards),
//! symlinks (at most 40 per resolution), repeated and trailing slashes, search permission on
//! every directory traversed, and the name and path length limits.
//!
//! The walker keeps a stack of path buffers: the path itself (borrowed from the caller) and,
//! above it, the bodies of the symlinks being followed, so nothing recurses. Components of the
//! path itself are handed out as borrowed slices: a lookup that follows no symlink allocates
//! nothing for names (the dentry cache is searched with the borrowed name).

use alloc::borrow::Cow;
use alloc::vec::Vec;

use exo_abi::Errno;

use super::{Lookup, Namespace, PathRef};
use crate::inode::Result;
use crate::perm::{permitted, Access};
use crate::types::{MAX_SYMLINKS, NAME_MAX, PATH_MAX};

/// What the final component of a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Last {
    /// An ordinary name.
    Normal,
    Dot,
    DotDot,
    /// The path has no component at all ("/", "//"): it names the root.
    Root,
}

/// A path resolved up to its final component.
pub(crate) struct Parent {
    /// The directory holding the final component.
    pub(crate) dir: PathRef,
    /// The final component ("/" for [`Last::Root`]).
    pub(crate) name: Vec<u8>,
    pub(crate) last: Last,
    /// The path ended with one or more slashes.
    pub(crate) trailing: bool,
}

pub(crate) struct Walk<'a> {
    ns: &'a Namespace,
    ctx: &'a Lookup,
    pub(crate) cur: PathRef,
    /// The path being resolved and the position of its next component (the bottom frame).
    path: &'a [u8],
    pos: usize,
    /// Symlink bodies being followed, (bytes, position of the next component), above `path`;
    /// the top is being consumed.
    frames: Vec<(Vec<u8>, usize)>,
    links: u32,
}

/// The component of `bytes` starting at `start`: (start, end, position after the slashes that
/// follow it).
fn component(bytes: &[u8], start: usize) -> (usize, usize, usize) {
    let end = bytes[start..].iter().position(|&c| c == b'/').map_or(bytes.len(), |i| start + i);
    (start, end, skip_slashes(bytes, end))
}

fn skip_slashes(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && bytes[pos] == b'/' {
        pos += 1;
    }
    pos
}

impl<'a> Walk<'a> {
    /// Starts resolving `path`: `ENOENT` if empty, `ENAMETOOLONG` if `PATH_MAX` bytes or more.
    pub(crate) fn new(ns: &'a Namespace, ctx: &'a Lookup, path: &'a [u8]) -> Result<Walk<'a>> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let cur = if path[0] == b'/' { ctx.root.clone() } else { ctx.cwd.clone() };
        let pos = skip_slashes(path, 0);
        Ok(Walk { ns, ctx, cur, path, pos, frames: Vec::new(), links: 0 })
    }

    /// Resolves every component but the last. Returns the last component and whether slashes
    /// followed it, or `None` if no component is left (`cur` is then the result). Before each
    /// component `cur` must be a directory (`ENOTDIR`) the caller may search (`EACCES`).
    pub(crate) fn walk_to_last(&mut self) -> Result<Option<(Cow<'a, [u8]>, bool)>> {
        loop {
            while self.frames.last().is_some_and(|(b, p)| *p >= b.len()) {
                self.frames.pop();
            }
            let (name, slash, last) = match self.frames.last_mut() {
                Some((bytes, pos)) => {
                    let (start, end, after) = component(bytes, *pos);
                    *pos = after;
                    let name = Cow::Owned(bytes[start..end].to_vec());
                    let last = self.pos >= self.path.len() && self.frames.iter().all(|(b, p)| *p >= b.len());
                    (name, after > end, last)
                }
                None => {
                    if self.pos >= self.path.len() {
                        return Ok(None);
                    }
                    let path: &'a [u8] = self.path;
                    let (start, end, after) = component(path, self.pos);
                    self.pos = after;
                    (Cow::Borrowed(&path[start..end]), after > end, after >= path.len())
                }
            };

            let meta = self.cur.metadata();
            if !meta.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if !permitted(&meta, &self.ctx.cred, Access::EXEC) {
                return Err(Errno::EACCES);
            }
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            if last {
                return Ok(Some((name, slash)));
            }
            match &*name {
                b"." => {}
                b".." => self.dotdot(),
                _ => {
                    let next = self.ns.child(&self.cur, &name)?;
                    if next.dentry.is_symlink() {
                        self.follow(&next)?;
                    } else {
                        self.cur = next;
                    }
                }
            }
        }
    }

    /// Continues through the symlink `link` found in `cur`: the rest of the walk first consumes
    /// its target (from the process root if absolute, else from `cur`).
    pub(crate) fn follow(&mut self, link: &PathRef) -> Result<()> {
        self.links += 1;
        if self.links > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        let target = link.inode().readlink()?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if target[0] == b'/' {
            self.cur = self.ctx.root.clone();
        }
        let pos = skip_slashes(&target, 0);
        self.frames.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.frames.push((target, pos));
        Ok(())
    }

    /// `..`: stays at the process root; at the root of a mount, first climbs to the mount
    /// point (repeatedly, for stacked mounts); then goes to the parent dentry and crosses into
    /// whatever is mounted there.
    pub(crate) fn dotdot(&mut self) {
        loop {
            if self.cur == self.ctx.root {
                return;
            }
            if !self.cur.is_mount_root() {
                break;
            }
            match self.cur.mount.parent_link() {
                Some((m, d)) => self.cur = PathRef { mount: m.clone(), dentry: d.clone() },
                None => return,
            }
        }
        if let Some(parent) = self.cur.dentry.parent() {
            let up = PathRef { mount: self.cur.mount.clone(), dentry: parent };
            self.cur = self.ns.cross_mounts(up);
        }
    }
}

impl Namespace {
    /// Resolves `path` to the location it names (see the crate docs for the rules). A final
    /// symlink is followed if `ctx.follow_final_symlink` or the path ends with `/`; the result
    /// must be a directory if `ctx.must_be_dir` or the path ends with `/` (`ENOTDIR`).
    pub fn resolve(&self, ctx: &Lookup, path: &[u8]) -> Result<PathRef> {
        let mut walk = Walk::new(self, ctx, path)?;
        let mut trailing = false;
        while let Some((name, slash)) = walk.walk_to_last()? {
            trailing |= slash;
            match &*name {
                b"." => {}
                b".." => walk.dotdot(),
                _ => {
                    let next = self.child(&walk.cur, &name)?;
                    if next.dentry.is_symlink() && (ctx.follow_final_symlink || trailing) {
                        walk.follow(&next)?;
                        continue;
                    }
                    walk.cur = next;
                }
            }
            break;
        }
        if (trailing || ctx.must_be_dir) && !walk.cur.dentry.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(walk.cur)
    }

    /// Resolves all but the final component of `path`; returns the directory and the final
    /// component (`.` and `..` verbatim, `/` if the path is only slashes). If the path ends with
    /// `/` and the final component exists, it must be (or lead by symlinks to) a directory:
    /// `ENOTDIR` otherwise. The namespace operations ([`Namespace::mkdir`] etc.) use this with
    /// Linux's per-operation handling of `.`, `..` and trailing slashes; prefer them.
    pub fn resolve_parent(&self, ctx: &Lookup, path: &[u8]) -> Result<(PathRef, Vec<u8>)> {
        let parent = self.parent_of(ctx, path)?;
        if parent.trailing {
            match self.resolve(ctx, path) {
                Ok(_) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((parent.dir, parent.name))
    }

    pub(crate) fn parent_of(&self, ctx: &Lookup, path: &[u8]) -> Result<Parent> {
        let mut walk = Walk::new(self, ctx, path)?;
        Ok(match walk.walk_to_last()? {
            None => Parent { dir: walk.cur, name: b"/".to_vec(), last: Last::Root, trailing: true },
            Some((name, trailing)) => {
                let last = match &*name {
                    b"." => Last::Dot,
                    b".." => Last::DotDot,
                    _ => Last::Normal,
                };
                Parent { dir: walk.cur, name: name.into_owned(), last, trailing }
            }
        })
    }
}
