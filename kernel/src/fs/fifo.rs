//! Named pipes (FIFOs): opening a FIFO node gives an end of the one pipe object of that inode,
//! found in a table keyed by (file-system id, inode number) and alive while some end is open.
//! Linux's open rules: O_RDONLY waits for a writer (unless O_NONBLOCK), O_WRONLY waits for a
//! reader (O_NONBLOCK: ENXIO when there is none), O_RDWR never waits.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};

use exo_abi::fcntl::{O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY};
use exo_abi::{Errno, KResult};
use exo_vfs::PathRef;
use crate::spinlock::SpinLock as Mutex;

use super::file::OpenFile;
use super::pipe::Pipe;
use crate::sched::wait::WaitOutcome;

/// The pipes of the FIFOs open now, by (st_dev, st_ino).
static FIFOS: Mutex<BTreeMap<(u64, u64), Weak<Pipe>>> = Mutex::new(BTreeMap::new());

/// The pipe of the FIFO `key`, made on first use.
fn pipe_of(key: (u64, u64)) -> Arc<Pipe> {
    let mut table = FIFOS.lock();
    if let Some(pipe) = table.get(&key).and_then(Weak::upgrade) {
        return pipe;
    }
    // Forget the pipes of FIFOs that nobody has open any more.
    table.retain(|_, pipe| pipe.strong_count() > 0);
    let pipe = Pipe::new();
    table.insert(key, Arc::downgrade(&pipe));
    pipe
}

/// Opens the FIFO at `node` with status flags `flags` (access mode, O_NONBLOCK, ...).
pub fn open(node: PathRef, flags: u32) -> KResult<Arc<OpenFile>> {
    let meta = node.metadata();
    let pipe = pipe_of((meta.dev, meta.ino));
    open_pipe(pipe, Some(node), flags)
}


/// Opens another end of an existing pipe, as opening `/proc/<pid>/fd/<n>` of a pipe does on
/// Linux (bash's process substitution, `/dev/stdin` on a pipe): like a FIFO, except that an
/// anonymous pipe never waits for (or requires) the other side — the writer of `<(…)` may
/// well have finished already.
pub fn reopen(pipe: Arc<Pipe>, flags: u32) -> KResult<Arc<OpenFile>> {
    let (reads, writes) = match flags & O_ACCMODE {
        O_RDONLY => (true, false),
        O_WRONLY => (false, true),
        O_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    Ok(OpenFile::new(Arc::new(pipe.open_end(reads, writes, None)), flags))
}

fn open_pipe(pipe: Arc<Pipe>, node: Option<PathRef>, flags: u32) -> KResult<Arc<OpenFile>> {
    let nonblocking = flags & exo_abi::fcntl::O_NONBLOCK != 0;
    let (reads, writes) = match flags & O_ACCMODE {
        O_RDONLY => (true, false),
        O_WRONLY => (false, true),
        O_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    if writes && !reads && nonblocking && pipe.readers() == 0 {
        return Err(Errno::ENXIO);
    }
    // Counts already taken by this end: what the other side waits for to change.
    let (readers_seen, writers_seen) = (pipe.reader_opens(), pipe.writer_opens());
    let end = pipe.open_end(reads, writes, node);
    // From here dropping `file` releases the end (an interrupted open leaves no trace).
    let file = OpenFile::new(Arc::new(end), flags);
    if reads && !writes && !nonblocking && pipe.writers() == 0 {
        wait_for(&pipe, || pipe.writers() > 0 || pipe.writer_opens() != writers_seen)?;
    } else if writes && !reads && pipe.readers() == 0 {
        wait_for(&pipe, || pipe.readers() > 0 || pipe.reader_opens() != readers_seen)?;
    }
    Ok(file)
}

/// Waits (interruptibly) until `partner()`: the other side has opened the FIFO.
fn wait_for(pipe: &Pipe, partner: impl Fn() -> bool) -> KResult<()> {
    let outcome = pipe.changed.wait_interruptible(
        || partner(),
        crate::sched::signal_check(),
        None,
    );
    if outcome == WaitOutcome::Interrupted {
        return Err(Errno::ERESTARTSYS);
    }
    Ok(())
}
