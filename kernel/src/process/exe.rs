//! What `/proc/<pid>/exe` and `/proc/<pid>/environ` show: the program file the last exec ran
//! (its path as exec was given it, and the working directory it was relative to) and a copy of
//! the environment it was given, kept in the process at exec. The file layer registers a
//! resolver ([`set_resolver`]) that turns the path exec was given into the file's absolute
//! path, symbolic links followed (`/bin/sh` → `/bin/busybox`, `/proc/self/exe` → the old
//! program), as Linux's link shows it.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_vfs::PathRef;

use super::Process;

/// Resolves a program path, relative to the calling task's working directory, to an absolute
/// path with links followed (`None`: keep the path as given).
pub type Resolver = fn(&[u8]) -> Option<Vec<u8>>;

static RESOLVER: spin::Once<Resolver> = spin::Once::new();

/// Installs the path resolver (the file layer, once).
pub fn set_resolver(resolver: Resolver) {
    RESOLVER.call_once(|| resolver);
}

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
    /// `fs` is the exec'ing task's context (its working directory; no lock of it is held).
    pub fn set_exe(&self, path: &[u8], envp: &[Vec<u8>], fs: &crate::files::FsContext) {
        let cwd = fs.cwd.lock().clone();
        let mut environ = Vec::new();
        let length: usize = envp.iter().map(|e| e.len() + 1).sum();
        if environ.try_reserve_exact(length).is_ok() {
            for e in envp {
                environ.extend_from_slice(e);
                environ.push(0);
            }
        }
        let resolved = RESOLVER.get().and_then(|resolve| resolve(path));
        let mut copy = Vec::new();
        match resolved {
            Some(resolved) => copy = resolved,
            None => {
                if copy.try_reserve_exact(path.len()).is_err() {
                    return;
                }
                copy.extend_from_slice(path);
            }
        }
        let image = Arc::new(ExecImage { path: copy, cwd, environ });
        *self.exe.lock() = Some(image);
    }

    /// The last exec's program, if any.
    pub fn exe(&self) -> Option<Arc<ExecImage>> {
        self.exe.lock().clone()
    }
}
