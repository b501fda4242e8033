//! What `/proc/<pid>/exe` and `/proc/<pid>/environ` show: the program file the last exec ran
//! (its path as exec was given it, and the working directory it was relative to) and a copy of
//! the environment it was given, kept in the process at exec.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_vfs::PathRef;

use super::Process;

/// One exec's program and environment.
pub struct ExecImage {
    /// The path exec opened (after `#!`: the interpreter's).
    pub path: Vec<u8>,
    /// The working directory at exec, for a relative `path`.
    pub cwd: PathRef,
    /// The environment strings, each ending with a NUL (Linux's `environ` layout).
    pub environ: Vec<u8>,
}

impl Process {
    /// Records the program an exec is starting (next to `set_comm`). Without memory for the
    /// copy, the environment is left empty.
    pub fn set_exe(&self, path: &[u8], envp: &[Vec<u8>], cwd: &PathRef) {
        let mut environ = Vec::new();
        let length: usize = envp.iter().map(|e| e.len() + 1).sum();
        if environ.try_reserve_exact(length).is_ok() {
            for e in envp {
                environ.extend_from_slice(e);
                environ.push(0);
            }
        }
        let mut copy = Vec::new();
        if copy.try_reserve_exact(path.len()).is_err() {
            return;
        }
        copy.extend_from_slice(path);
        let image = Arc::new(ExecImage { path: copy, cwd: cwd.clone(), environ });
        *self.exe.lock() = Some(image);
    }

    /// The last exec's program, if any.
    pub fn exe(&self) -> Option<Arc<ExecImage>> {
        self.exe.lock().clone()
    }
}
