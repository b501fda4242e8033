//! Readiness syscalls: poll, ppoll, select, pselect6, epoll_create(1), epoll_ctl,
//! epoll_wait/pwait/pwait2, eventfd(2). Readiness comes from `FileOps::poll`; a waiter scans its
//! files and, when none is ready, registers on the poll queue of each of them
//! (`FileOps::poll_register`, `sched::pollwait`), scans again and sleeps until one of them
//! notifies, a signal arrives or the deadline passes; it deregisters when it returns. A change
//! of a file wakes only the threads polling that file. poll/select return ERESTARTNOHAND when interrupted (EINTR when a handler
//! runs, restarted otherwise; the timespec/timeval forms write back the time left first, so a
//! restart waits only for that); epoll_wait returns EINTR (never restarted, as on Linux).

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exo_abi::epoll::{EpollEvent, EPOLL_CLOEXEC};
use exo_abi::poll::*;
use exo_abi::signal::{SigSet, SIGSET_SIZE};
use exo_abi::types::{Timespec, Timeval};
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs::epoll::readiness;
use crate::fs::{FileOps, OpenFile};
use crate::process::Task;
use crate::sched::pollwait::PollTable;
use crate::sched::wait::WaitOutcome;
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: pipes, FIFOs, eventfd, epoll, console, files (always ready); POLLNVAL, POLLHUP (writers gone), POLLERR (readers gone); EINVAL above RLIMIT_NOFILE; EINTR after a handler, else restarted
    t[nr::POLL] = typed!(sys_poll);
    // full: poll with a timespec (time left written back) and a temporary signal mask, restored after the handler
    t[nr::PPOLL] = typed!(sys_ppoll);
    // full: EBADF, EINVAL for nfds < 0; fds past the table's size ignored; timeout updated with the time left
    t[nr::SELECT] = typed!(sys_select);
    // full: select with a timespec and a temporary signal mask ({sigset, size})
    t[nr::PSELECT6] = typed!(sys_pselect6);
    // full: EINVAL for size <= 0
    t[nr::EPOLL_CREATE] = typed!(sys_epoll_create);
    // full: EPOLL_CLOEXEC
    t[nr::EPOLL_CREATE1] = typed!(sys_epoll_create1);
    // full: ADD/MOD/DEL, EPOLLET (reports when the file's event counter moves or a bit rises), EPOLLONESHOT, EPOLLEXCLUSIVE checks; EEXIST/ENOENT/EBADF/EINVAL, EPERM for regular files, ELOOP and depth 4 for nested epolls; closing a file's last descriptor removes it
    t[nr::EPOLL_CTL] = typed!(sys_epoll_ctl);
    // full: EINVAL for maxevents <= 0 or a non-epoll fd; EINTR (never restarted)
    t[nr::EPOLL_WAIT] = typed!(sys_epoll_wait);
    // full: epoll_wait with a temporary signal mask
    t[nr::EPOLL_PWAIT] = typed!(sys_epoll_pwait);
    // full: timespec timeout
    t[nr::EPOLL_PWAIT2] = typed!(sys_epoll_pwait2);
    // full: see eventfd2
    t[nr::EVENTFD] = typed!(sys_eventfd);
    // full: EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC; 8-byte reads/writes (EINVAL shorter or for 2^64-1), EAGAIN, waits while the count would overflow
    t[nr::EVENTFD2] = typed!(sys_eventfd2);
}

/// Scans with `scan` until it finds something (`Some`), the deadline (ns since boot; None:
/// never) passes (`None`) or a signal interrupts (ERESTARTNOHAND). A first scan finds what is
/// ready already without registering (`scan(None)`); the second (`scan(Some(table))`) puts
/// the thread on the poll queue of each file it watches BEFORE it asks that file's readiness
/// (`FileOps::poll_register`: a change meanwhile is seen by the scan or wakes the sleep), then
/// the thread sleeps until one of them notifies. Registration failure: ENOMEM. The table
/// deregisters when dropped, before the caller copies anything to user memory.
fn wait_ready<T>(
    me: &Task,
    deadline: Option<u64>,
    mut scan: impl FnMut(Option<&mut PollTable>) -> KResult<Option<T>>,
) -> KResult<Option<T>> {
    if let Some(found) = scan(None)? {
        return Ok(Some(found));
    }
    if deadline.is_some_and(|d| crate::time::since_boot_ns() >= d) {
        return Ok(None);
    }
    let mut table = PollTable::new();
    if let Some(found) = scan(Some(&mut table))? {
        return Ok(Some(found));
    }
    loop {
        match table.wait(|| me.interrupted(), deadline) {
            WaitOutcome::Ready => {}
            WaitOutcome::TimedOut => return scan(None),
            WaitOutcome::Interrupted => return Err(Errno::ERESTARTNOHAND),
        }
        if let Some(found) = scan(None)? {
            return Ok(Some(found));
        }
    }
}

/// Registers `file` on `table` when there is one (the registering scan), then gives its
/// readiness.
fn register_and_poll(file: &OpenFile, table: &mut Option<&mut PollTable>) -> KResult<u32> {
    if let Some(table) = table {
        file.ops.poll_register(table)?;
    }
    Ok(readiness(file))
}

/// The deadline `ns` from now.
fn deadline_in(ns: u64) -> u64 {
    crate::time::since_boot_ns().saturating_add(ns)
}

/// Time left until `deadline` (0 once passed).
fn time_left(deadline: u64) -> u64 {
    deadline.saturating_sub(crate::time::since_boot_ns())
}

/// Reads a signal mask argument (NULL: none; a size other than sigset_t's: EINVAL).
fn read_sigmask(mask: UserPtr<u64>, size: usize) -> KResult<Option<SigSet>> {
    if mask.is_null() {
        return Ok(None);
    }
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    Ok(Some(SigSet(mask.read()?)))
}

/// Installs the temporary mask of ppoll/pselect6/epoll_pwait (the old one is saved, as
/// rt_sigsuspend does) and runs `wait`. Unless the call ends interrupted, the old mask is back
/// at once; otherwise it comes back after the handler (signal frame) or at the return to user
/// mode when no handler runs.
fn with_sigmask<T>(me: &Task, mask: Option<SigSet>, wait: impl FnOnce() -> KResult<T>) -> KResult<T> {
    let Some(mask) = mask else { return wait() };
    {
        let mut signals = me.signals.lock();
        signals.saved_mask = Some(signals.mask);
        signals.mask = mask.difference(SigSet::UNBLOCKABLE);
    }
    me.attention.store(true, Ordering::SeqCst);
    let result = wait();
    if !matches!(result, Err(Errno::ERESTARTNOHAND | Errno::EINTR)) {
        let mut signals = me.signals.lock();
        if let Some(saved) = signals.saved_mask.take() {
            signals.mask = saved;
        }
    }
    result
}

fn nofile_limit(me: &Task) -> u64 {
    me.process.rlimit(exo_abi::resource::RLIMIT_NOFILE).rlim_cur
}

// ---- poll / ppoll ----

fn do_poll(me: &Task, fds: UserPtr<PollFd>, nfds: u64, deadline: Option<u64>) -> KResult<u64> {
    if nfds > nofile_limit(me) || nfds > crate::fs::FD_HARD_MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let mut table: Vec<PollFd> = Vec::new();
    table.try_reserve_exact(nfds as usize).map_err(|_| Errno::ENOMEM)?;
    table.resize(nfds as usize, PollFd::default());
    let fds = fds.slice(table.len())?;
    fds.read_into(&mut table)?;
    let files = me.files();
    let result = wait_ready(me, deadline, |mut registering| {
        let mut ready = 0;
        for entry in table.iter_mut() {
            entry.revents = 0;
            if entry.fd < 0 {
                continue;
            }
            entry.revents = match files.get(entry.fd) {
                Err(_) => POLLNVAL,
                Ok(file) => {
                    let bits = register_and_poll(&file, &mut registering)?;
                    (bits & (entry.events as u16 as u32 | (POLLERR | POLLHUP) as u32)) as i16
                }
            };
            if entry.revents != 0 {
                ready += 1;
            }
        }
        Ok(if ready > 0 { Some(ready) } else { None })
    });
    if !matches!(result, Ok(Some(_))) {
        table.iter_mut().for_each(|entry| entry.revents = 0);
    }
    fds.write_from(&table)?;
    result.map(|ready| ready.unwrap_or(0))
}

fn sys_poll(fds: UserPtr<PollFd>, nfds: u64, timeout: i32) -> KResult<u64> {
    let me = task()?;
    let deadline = if timeout < 0 { None } else { Some(deadline_in(timeout as u64 * 1_000_000)) };
    do_poll(&me, fds, nfds, deadline)
}

/// Reads a timespec timeout (NULL: none) as a deadline.
fn timespec_deadline(ts: UserPtr<Timespec>) -> KResult<Option<u64>> {
    let Some(spec) = ts.read_opt()? else { return Ok(None) };
    Ok(Some(deadline_in(spec.to_ns().ok_or(Errno::EINVAL)?)))
}

/// Writes the time left back into a timespec/timeval timeout (`from_ns` makes one), as Linux
/// does; a failed write turns a restart into EINTR.
fn finish_timeout<T: bytemuck::Pod>(result: KResult<u64>, ptr: UserPtr<T>, deadline: Option<u64>, from_ns: fn(u64) -> T) -> KResult<u64> {
    let (Some(deadline), false) = (deadline, ptr.is_null()) else { return result };
    let left = time_left(deadline);
    let written = ptr.write(&from_ns(left));
    match (written, result) {
        (Err(_), Err(Errno::ERESTARTNOHAND)) => Err(Errno::EINTR),
        (_, result) => result,
    }
}

fn sys_ppoll(
    fds: UserPtr<PollFd>,
    nfds: u64,
    tmo_p: UserPtr<Timespec>,
    sigmask: UserPtr<u64>,
    sigsetsize: usize,
) -> KResult<u64> {
    let me = task()?;
    let deadline = timespec_deadline(tmo_p)?;
    let mask = read_sigmask(sigmask, sigsetsize)?;
    let result = with_sigmask(&me, mask, || do_poll(&me, fds, nfds, deadline));
    finish_timeout(result, tmo_p, deadline, Timespec::from_ns)
}

// ---- select / pselect6 ----

/// Bits select counts as readable, writable, exceptional (Linux's POLLIN_SET etc.).
const IN_SET: u32 = (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR) as u32;
const OUT_SET: u32 = (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR) as u32;
const EX_SET: u32 = POLLPRI as u32;

fn read_fdset(ptr: UserPtr<u64>, words: usize) -> KResult<Vec<u64>> {
    let mut set = Vec::new();
    set.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
    set.resize(words, 0);
    if !ptr.is_null() {
        ptr.slice(words)?.read_into(&mut set)?;
    }
    Ok(set)
}

fn do_select(me: &Task, n: i32, sets: [UserPtr<u64>; 3], deadline: Option<u64>) -> KResult<u64> {
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let files = me.files();
    // Descriptors past the table's capacity are ignored, as Linux's max_fds does.
    let capacity = files.capacity().div_ceil(64).max(1) * 64;
    let n = (n as usize).min(capacity);
    let words = n.div_ceil(64);
    let wanted = [read_fdset(sets[0], words)?, read_fdset(sets[1], words)?, read_fdset(sets[2], words)?];
    let mut result = [alloc::vec![0u64; words], alloc::vec![0u64; words], alloc::vec![0u64; words]];
    let masks = [IN_SET, OUT_SET, EX_SET];
    let found = wait_ready(me, deadline, |mut table| {
        let mut count = 0u64;
        for fd in 0..n {
            let (word, bit) = (fd / 64, 1u64 << (fd % 64));
            let asked: [bool; 3] = core::array::from_fn(|k| wanted[k][word] & bit != 0);
            if !asked.iter().any(|&a| a) {
                continue;
            }
            let file = files.get(fd as i32)?;
            let bits = register_and_poll(&file, &mut table)?;
            for k in 0..3 {
                if asked[k] && bits & masks[k] != 0 {
                    result[k][word] |= bit;
                    count += 1;
                }
            }
        }
        Ok(if count > 0 { Some(count) } else { None })
    })?;
    if found.is_none() {
        result.iter_mut().for_each(|set| set.fill(0));
    }
    for (ptr, set) in sets.iter().zip(result.iter()) {
        if !ptr.is_null() {
            ptr.slice(set.len())?.write_from(set)?;
        }
    }
    Ok(found.unwrap_or(0))
}

fn sys_select(
    nfds: i32,
    readfds: UserPtr<u64>,
    writefds: UserPtr<u64>,
    exceptfds: UserPtr<u64>,
    timeout: UserPtr<Timeval>,
) -> KResult<u64> {
    let me = task()?;
    let deadline = if let Some(t) = timeout.read_opt()? {
        if t.tv_sec < 0 || t.tv_usec < 0 {
            return Err(Errno::EINVAL);
        }
        // Linux folds whole seconds out of tv_usec instead of refusing it.
        let ns = (t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add((t.tv_usec as u64).saturating_mul(1000));
        Some(deadline_in(ns))
    } else {
        None
    };
    let result = do_select(&me, nfds, [readfds, writefds, exceptfds], deadline);
    finish_timeout(result, timeout, deadline, Timeval::from_ns)
}

/// pselect6's sixth argument points at `{ const sigset_t *ss; size_t ss_len; }`.
fn sys_pselect6(
    nfds: i32,
    readfds: UserPtr<u64>,
    writefds: UserPtr<u64>,
    exceptfds: UserPtr<u64>,
    timeout: UserPtr<Timespec>,
    sigmask: UserPtr<[u64; 2]>,
) -> KResult<u64> {
    let me = task()?;
    let deadline = timespec_deadline(timeout)?;
    let mask = match sigmask.read_opt()? {
        None => None,
        Some([set, size]) => read_sigmask(UserPtr::new(set), size as usize)?,
    };
    let result = with_sigmask(&me, mask, || do_select(&me, nfds, [readfds, writefds, exceptfds], deadline));
    finish_timeout(result, timeout, deadline, Timespec::from_ns)
}

// ---- epoll ----

fn sys_epoll_create(size: i32) -> KResult<u64> {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    super::fs::install(&me, crate::fs::epoll::new(), false)
}

fn sys_epoll_create1(flags: u32) -> KResult<u64> {
    if flags & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    super::fs::install(&me, crate::fs::epoll::new(), flags & EPOLL_CLOEXEC != 0)
}

fn sys_epoll_ctl(epfd: Fd, op: i32, fd: Fd, event: UserPtr<EpollEvent>) -> KResult<u64> {
    // The ABI's operation constants are unsigned; the bits are the same.
    let op = op as u32;
    let event = if op == exo_abi::epoll::EPOLL_CTL_DEL { EpollEvent::default() } else { event.read()? };
    let me = task()?;
    let files = me.files();
    let this = files.get(epfd.get())?;
    let target = files.get(fd.get())?;
    let epoll = crate::fs::epoll::of(&this).ok_or(Errno::EINVAL)?;
    epoll.control(&this, op, fd.get(), &target, event).map(|_| 0)
}

fn do_epoll_wait(epfd: Fd, events: UserPtr<EpollEvent>, max: i32, deadline: Option<u64>, mask: Option<SigSet>) -> KResult<u64> {
    let size = core::mem::size_of::<EpollEvent>();
    if max <= 0 || max as usize > i32::MAX as usize / size {
        return Err(Errno::EINVAL);
    }
    let events = events.slice(max as usize)?;
    let me = task()?;
    let file = me.files().get(epfd.get())?;
    let epoll = crate::fs::epoll::of(&file).ok_or(Errno::EINVAL)?;
    let found = with_sigmask(&me, mask, || {
        let found = wait_ready(&me, deadline, |table| {
            if let Some(table) = table {
                // The instance's own queue and every armed item's file, before the scan.
                epoll.poll_register(table)?;
            }
            let ready = epoll.collect(max as usize);
            Ok(if ready.is_empty() { None } else { Some(ready) })
        });
        match found {
            Err(Errno::ERESTARTNOHAND) => Err(Errno::EINTR),
            other => other,
        }
    })?;
    let Some(ready) = found else { return Ok(0) };
    events.write_from(&ready)?;
    Ok(ready.len() as u64)
}

fn ms_deadline(ms: i32) -> Option<u64> {
    if ms < 0 { None } else { Some(deadline_in(ms as u64 * 1_000_000)) }
}

fn sys_epoll_wait(epfd: Fd, events: UserPtr<EpollEvent>, maxevents: i32, timeout: i32) -> KResult<u64> {
    do_epoll_wait(epfd, events, maxevents, ms_deadline(timeout), None)
}

fn sys_epoll_pwait(
    epfd: Fd,
    events: UserPtr<EpollEvent>,
    maxevents: i32,
    timeout: i32,
    sigmask: UserPtr<u64>,
    sigsetsize: usize,
) -> KResult<u64> {
    let mask = read_sigmask(sigmask, sigsetsize)?;
    do_epoll_wait(epfd, events, maxevents, ms_deadline(timeout), mask)
}

fn sys_epoll_pwait2(
    epfd: Fd,
    events: UserPtr<EpollEvent>,
    maxevents: i32,
    timeout: UserPtr<Timespec>,
    sigmask: UserPtr<u64>,
    sigsetsize: usize,
) -> KResult<u64> {
    let deadline = timespec_deadline(timeout)?;
    let mask = read_sigmask(sigmask, sigsetsize)?;
    do_epoll_wait(epfd, events, maxevents, deadline, mask)
}

// ---- eventfd ----

fn eventfd(initval: u32, flags: u32) -> KResult<u64> {
    use exo_abi::eventfd::*;
    if flags & !(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    super::fs::install(&me, crate::fs::eventfd::new(u64::from(initval), flags), flags & EFD_CLOEXEC != 0)
}

fn sys_eventfd(initval: u32) -> KResult<u64> {
    eventfd(initval, 0)
}

fn sys_eventfd2(initval: u32, flags: u32) -> KResult<u64> {
    eventfd(initval, flags)
}
