//! Starting user space: PID 1. Like Linux, the kernel runs `rdinit=` (default `/init`) from the
//! initramfs, falling back to `init=`, `/sbin/init`, `/etc/init`, `/bin/init` and `/bin/sh`,
//! with fds 0-2 on the console. Command-line words the kernel does not know are passed on:
//! `name=value` ones in init's environment, the others (and everything after `--`) as its
//! arguments.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exo_abi::{Errno, KResult};

use super::mm::Mm;
use crate::files::{FdTable, FsContext, OpenFile};
use crate::sched::{self, SpawnOptions};

/// Parameters the kernel itself consumes (not passed to init).
const KERNEL_PARAMS: &[&str] = &["strace", "loglevel", "log", "quiet", "debug", "ktest", "kbench", "panic", "crashtest", "init", "rdinit", "console", "earlyprintk", "root", "rootfstype", "rootflags", "ro", "rw", "rootwait"];

/// init's argv (after argv[0]) and envp from the kernel command line.
pub fn init_arguments(cmdline: &str) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut argv = Vec::new();
    let mut envp = alloc::vec![b"HOME=/".to_vec(), b"TERM=linux".to_vec()];
    let (kernel_part, user_part) = match cmdline.split_once(" -- ") {
        Some((k, u)) => (k, Some(u)),
        None => (cmdline.strip_suffix(" --").unwrap_or(cmdline), None),
    };
    for param in exo_bootinfo::cmdline::Cmdline::new(kernel_part).params() {
        if KERNEL_PARAMS.contains(&param.key) || param.key.contains('.') {
            continue;
        }
        match param.value {
            Some(value) => envp.push(alloc::format!("{}={}", param.key, value).into_bytes()),
            None => argv.push(param.key.as_bytes().to_vec()),
        }
    }
    if let Some(rest) = user_part {
        argv.extend(rest.split_whitespace().map(|w| w.as_bytes().to_vec()));
    }
    (argv, envp)
}

/// Creates PID 1 with `console` as fds 0-2 and `fs` as its root and cwd, and runs the first
/// program that can be executed.
pub fn start(cmdline: &str, rdinit: Option<&str>, init: Option<&str>, console: Arc<OpenFile>, fs: FsContext) -> KResult<()> {
    let mut candidates: Vec<String> = Vec::new();
    candidates.push(String::from(rdinit.unwrap_or("/init")));
    if let Some(init) = init {
        candidates.push(String::from(init));
    }
    candidates.extend(["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"].map(String::from));
    let (args, envp) = init_arguments(cmdline);

    let pid = super::alloc_pid().ok_or(Errno::EAGAIN)?;
    let mm = Arc::new(Mm::new()?);
    let files = Arc::new(FdTable::new());
    for _ in 0..3 {
        files.insert(console.clone(), false, 0, 3)?;
    }
    let fs = Arc::new(fs);
    let task = super::clone::new_init_task(pid, mm, files, fs);
    let options = SpawnOptions { user: true, ..SpawnOptions::default() };
    let start = task.clone();
    let handle = sched::spawn_with("init", options, move || {
        let me = sched::current();
        me.set_user(start.clone());
        start.thread.store(u64::from(me.id), Ordering::Release);
        start.mm().enter();
        // SAFETY: this is PID 1's entry, before it has ever been in user mode: no other
        // reference to its frame exists.
        let Some(frame) = (unsafe { super::new_thread_frame() }) else { return -1 };
        for path in &candidates {
            let mut argv = alloc::vec![path.as_bytes().to_vec()];
            argv.extend(args.iter().cloned());
            match super::exec::execve(path.as_bytes().to_vec(), argv, envp.clone(), frame) {
                Ok(_) => {
                    log::info!("init: running {path} as pid {}", start.tid);
                    drop(start);
                    drop(me);
                    super::return_to_user(frame);
                    return sched::ENTER_USER;
                }
                Err(Errno::ENOENT) => {}
                Err(error) => log::warn!("init: cannot run {path}: {}", error.name()),
            }
        }
        panic!("no working init found (tried /init, /sbin/init, /etc/init, /bin/init, /bin/sh)");
    })
    .map_err(|_| Errno::ENOMEM)?;
    task.thread.store(u64::from(handle.thread().id), Ordering::Release);
    drop(handle);
    Ok(())
}
