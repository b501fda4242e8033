//! `cargo xtask initramfs`: compiles the C programs under `user/` into static Linux binaries
//! (musl, plus glibc variants of the tests listed in `user/tests/GLIBC`) and packs them, with a
//! few `/etc` files (plus `user/etc/*`), `/dev/console`, and Debian's busybox-static with its
//! applet links (`busybox.rs`), into `build/initramfs.cpio` (newc, written by exo-cpio).
//!
//! | source | image path | compiler |
//! |---|---|---|
//! | `user/init/init.c` | `/init` (and the symlink `/sbin/init`) | `musl-gcc` |
//! | `user/bin/<stem>.c` | `/bin/<stem>` | `musl-gcc` |
//! | `user/fuzz/<stem>.c`, `user/soak/<stem>.c` | `/bin/<stem>` (`/bin/fuzz`, `/bin/soak`) | `musl-gcc` |
//! | `user/tests/<stem>.c` | `/bin/tests/<stem>` | `musl-gcc` |
//! | stems listed in `user/tests/GLIBC` | `/bin/tests/<stem>.glibc` | `gcc` |
//! | stems listed in `user/tests/GLIBC_PIE` | `/bin/tests/<stem>.glibc-pie` | `gcc -static-pie` |
//! | stems listed in `user/tests/DYNAMIC` | `/bin/tests/<stem>.dyn`, `<stem>.musl-dyn` | `gcc`, `musl-gcc` (dynamically linked) |
//! | `user/rust` (cargo package `exo-user-rust`), binary `<name>` | `/bin/<name>` | Debian `cargo` (`rustuser.rs`) |
//!
//! Every program is built with `-static -O2 -Wall -Iuser/lib -pthread` into `target/exo/user/`,
//! again only when its source, a header (`user/lib/**.h` or one next to the source) or the
//! compile command changed since (mtimes, and a `.cmd` file holding the command). The Rust
//! programs are built by `rustuser::build` (`no_std`, x86_64-unknown-none, static non-PIE) into
//! `target/exo/rust-user/`, with the same kind of staleness check.
//!
//! Dynamically linked tests need their loaders and libraries: when there is one, the image also
//! gets the host's glibc loader and libraries (`/lib64/ld-linux-x86-64.so.2`,
//! `/lib/x86_64-linux-gnu/{libc,libm}.so.6`, `libgcc_s.so.1`) and musl's (`/lib/ld-musl-x86_64.so.1`), the files
//! the compilers linked against.

use crate::util::{self, rel};
use anyhow::{bail, Context, Result};
use exo_cpio::{Writer, S_IFCHR};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

const CFLAGS: &[&str] = &["-static", "-O2", "-Wall", "-pthread"];

/// One program to compile.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// Path in the image, without the leading `/` (`bin/tests/t_fork`).
    pub dest: String,
    pub src: PathBuf,
    /// The compiled binary under `target/exo/user/`.
    pub out: PathBuf,
    /// `musl-gcc` or `gcc`.
    pub cc: &'static str,
    /// Link as a static position-independent executable (`-static-pie`).
    pub pie: bool,
    /// Link dynamically (against the compiler's shared C library).
    pub dynamic: bool,
}

impl Program {
    /// How reports name it: a test by its file name (`t_fork.glibc`), others by image path.
    pub fn label(&self) -> &str {
        self.dest.strip_prefix("bin/tests/").unwrap_or(&self.dest)
    }
}

/// The result of a build.
#[derive(Debug, Default)]
pub struct Built {
    pub path: PathBuf,
    pub size: u64,
    /// Labels of the test programs in `/bin/tests`, sorted.
    pub tests: Vec<String>,
    /// Programs that did not compile (label, compiler output); only in lenient builds.
    pub broken: Vec<(String, String)>,
    /// How many programs were (re)compiled.
    pub compiled: usize,
}

/// `build/initramfs.cpio`.
pub fn output(root: &Path) -> PathBuf {
    util::build_dir(root).join("initramfs.cpio")
}

/// Build `build/initramfs.cpio`. `lenient`: programs other than init that do not compile are
/// left out and listed in [`Built::broken`] instead of failing the build.
pub fn build(root: &Path, lenient: bool) -> Result<Built> {
    util::ensure_packages(&[util::PKGS_USER])?;
    let objdir = util::exo_target_dir(root).join("user");
    let mut extras = Extras::for_system(root)?;
    let mut rust_broken = Vec::new();
    match crate::rustuser::build(root) {
        Ok(programs) => extras.programs = programs,
        Err(e) if lenient => {
            println!("  cargo user/rust: FAILED: {e:#}");
            for name in crate::rustuser::PROGRAMS {
                rust_broken.push((format!("bin/{name}"), format!("{e:#}")));
            }
        }
        Err(e) => return Err(e),
    }
    let mut built = build_in(&root.join("user"), &objdir, &output(root), lenient, &extras)?;
    built.broken.extend(rust_broken);
    println!(
        "xtask: {} ready ({} bytes; {} test programs, {} compiled now)",
        rel(root, &built.path),
        built.size,
        built.tests.len(),
        built.compiled
    );
    Ok(built)
}

/// The stems of `user/tests/GLIBC`: one per line, `#` starts a comment.
pub fn parse_glibc_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The `*.c` files directly in `dir`, sorted (none if `dir` does not exist).
fn c_sources(dir: &Path) -> Result<Vec<PathBuf>> {
    files_with_ext(dir, "c")
}

fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(vec![]);
    }
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let p = e?.path();
        if p.is_file() && p.extension().is_some_and(|x| x == ext) {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every program of `user`, in image order; `missing` gets the GLIBC stems without a source.
fn plan(user: &Path, objdir: &Path, missing: &mut Vec<String>) -> Result<Vec<Program>> {
    let init = user.join("init").join("init.c");
    if !init.is_file() {
        bail!(
            "{} does not exist: there is no /init to pack",
            init.display()
        );
    }
    let mut v = vec![Program {
        dest: "init".into(),
        src: init,
        out: objdir.join("init"),
        cc: "musl-gcc",
        pie: false,
        dynamic: false,
    }];
    // user/bin, and the reliability tools (the fuzzer, the soak driver: `/bin/fuzz`, `/bin/soak`).
    for dir in ["bin", "fuzz", "soak"] {
        for src in c_sources(&user.join(dir))? {
            let s = stem(&src);
            v.push(Program {
                dest: format!("bin/{s}"),
                out: objdir.join("bin").join(&s),
                src,
                cc: "musl-gcc",
                pie: false,
                dynamic: false,
            });
        }
    }
    let tests = user.join("tests");
    for src in c_sources(&tests)? {
        let s = stem(&src);
        v.push(Program {
            dest: format!("bin/tests/{s}"),
            out: objdir.join("tests").join(&s),
            src,
            cc: "musl-gcc",
            pie: false,
            dynamic: false,
        });
    }
    // glibc variants: static (`GLIBC`) and static-PIE (`GLIBC_PIE`, loaded at a bias); both
    // C libraries dynamically linked (`DYNAMIC`: started by their `ld.so`).
    let variants: [(&str, &str, &'static str, bool, bool); 4] = [
        ("GLIBC", "glibc", "gcc", false, false),
        ("GLIBC_PIE", "glibc-pie", "gcc", true, false),
        ("DYNAMIC", "dyn", "gcc", false, true),
        ("DYNAMIC", "musl-dyn", "musl-gcc", false, true),
    ];
    for (list, suffix, cc, pie, dynamic) in variants {
        let list = tests.join(list);
        if !list.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&list)
            .with_context(|| format!("cannot read {}", list.display()))?;
        for s in parse_glibc_list(&text) {
            let src = tests.join(format!("{s}.c"));
            if !src.is_file() {
                missing.push(s);
                continue;
            }
            let name = format!("{s}.{suffix}");
            v.push(Program {
                dest: format!("bin/tests/{name}"),
                out: objdir.join("tests").join(&name),
                src,
                cc,
                pie,
                dynamic,
            });
        }
    }
    Ok(v)
}

/// The compile command of `p`, writing to `out`.
fn command(p: &Program, user: &Path, out: &Path) -> Command {
    let mut c = Command::new(p.cc);
    if p.pie {
        c.args(["-static-pie", "-fPIE"]).args(&CFLAGS[1..]);
    } else if p.dynamic {
        c.args(&CFLAGS[1..]);
    } else {
        c.args(CFLAGS);
    }
    c
        .arg(format!("-I{}", user.join("lib").display()))
        .arg("-o")
        .arg(out)
        .arg(&p.src);
    c
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Is `out` missing, older than one of `inputs`, or built by another command than `cmd`?
pub fn is_stale(out: &Path, inputs: &[PathBuf], cmd: &str) -> bool {
    let Some(built) = mtime(out) else {
        return true;
    };
    let stamp = std::fs::read_to_string(with_suffix(out, ".cmd")).unwrap_or_default();
    stamp != cmd || inputs.iter().any(|i| mtime(i).is_none_or(|t| t > built))
}

/// Compile `p` (to a temporary file, renamed on success; a failure removes the old binary).
/// Returns the compiler's messages (warnings) or, as the error, its output.
fn compile(p: &Program, user: &Path) -> Result<String, String> {
    let tmp = with_suffix(&p.out, ".part");
    let mut cmd = command(p, user, &tmp);
    let _ = std::fs::remove_file(&p.out);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", util::show(&cmd)))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "`{}` failed:\n{}",
            util::show(&cmd),
            text.trim_end()
        ));
    }
    let stamp = util::show(&command(p, user, &tmp));
    std::fs::rename(&tmp, &p.out)
        .and_then(|_| std::fs::write(with_suffix(&p.out, ".cmd"), stamp))
        .map_err(|e| format!("cannot store {}: {e}", p.out.display()))?;
    Ok(text)
}

/// Compile `jobs` on as many threads as there are CPUs; results in the order of `jobs`.
fn compile_all(jobs: &[&Program], user: &Path) -> Vec<Result<String, String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<String, String>>> = vec![None; jobs.len()];
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = jobs.get(i) else { break };
                        done.push((i, compile(p, user)));
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            for (i, r) in w.join().expect("a compile thread panicked") {
                results[i] = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not compiled".into())))
        .collect()
}

/// Headers every program depends on: `user/lib/**.h`.
fn lib_headers(dir: &Path, into: &mut Vec<PathBuf>) -> Result<()> {
    into.extend(files_with_ext(dir, "h")?);
    if dir.is_dir() {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                lib_headers(&p, into)?;
            }
        }
    }
    Ok(())
}

/// Build the image from the tree `user` (objects in `objdir`) into `out`.
pub fn build_in(user: &Path, objdir: &Path, out: &Path, lenient: bool, extras: &Extras) -> Result<Built> {
    let mut missing = Vec::new();
    let programs = plan(user, objdir, &mut missing)?;
    let mut common = Vec::new();
    lib_headers(&user.join("lib"), &mut common)?;
    let mut stale = Vec::new();
    for p in &programs {
        let mut inputs = vec![p.src.clone()];
        inputs.extend(common.iter().cloned());
        if let Some(dir) = p.src.parent() {
            inputs.extend(files_with_ext(dir, "h")?);
        }
        let tmp = with_suffix(&p.out, ".part");
        if is_stale(&p.out, &inputs, &util::show(&command(p, user, &tmp))) {
            stale.push(p);
        }
    }
    for d in [objdir.join("bin"), objdir.join("tests")] {
        util::mkdirs(&d)?;
    }
    if !stale.is_empty() {
        println!(
            "xtask: compiling {} user programs ({} up to date)",
            stale.len(),
            programs.len() - stale.len()
        );
    }
    let mut broken: Vec<(String, String)> = missing
        .iter()
        .map(|s| {
            let why = format!("user/tests/GLIBC lists `{s}` but user/tests/{s}.c does not exist");
            (format!("{s}.glibc"), why)
        })
        .collect();
    let results = compile_all(&stale, user);
    let top = user.parent().unwrap_or(user);
    for (p, r) in stale.iter().zip(results) {
        let src = p.src.strip_prefix(top).unwrap_or(&p.src).display();
        match r {
            Ok(msgs) => {
                println!("  cc    {src} -> /{} ({})", p.dest, p.cc);
                for l in msgs.lines() {
                    println!("        {l}");
                }
            }
            Err(e) => {
                println!("  cc    {src} -> /{} ({}): FAILED", p.dest, p.cc);
                for l in e.lines() {
                    println!("        {l}");
                }
                if p.dest == "init" {
                    bail!("init does not compile:\n{e}");
                }
                broken.push((p.label().to_string(), e));
            }
        }
    }
    if !broken.is_empty() && !lenient {
        let names: Vec<&str> = broken.iter().map(|(n, _)| n.as_str()).collect();
        let first = &broken[0].1;
        bail!(
            "{} user programs could not be built ({}); first error:\n{first}",
            broken.len(),
            names.join(", ")
        );
    }
    let ok: Vec<&Program> = programs
        .iter()
        .filter(|p| !broken.iter().any(|(n, _)| n == p.label()))
        .collect();
    let mut files = extras.programs.clone();
    if ok.iter().any(|p| p.dynamic) {
        files.extend(dynamic_runtime()?);
    }
    for p in &ok {
        let data =
            std::fs::read(&p.out).with_context(|| format!("cannot read {}", p.out.display()))?;
        files.push((p.dest.clone(), data));
    }
    let image = image(&files, extras);
    let unchanged = std::fs::read(out).is_ok_and(|old| old == image);
    if !unchanged {
        if let Some(dir) = out.parent() {
            util::mkdirs(dir)?;
        }
        std::fs::write(out, &image).with_context(|| format!("cannot write {}", out.display()))?;
    }
    let mut tests: Vec<String> = ok
        .iter()
        .filter(|p| p.dest.starts_with("bin/tests/"))
        .map(|p| p.label().to_string())
        .collect();
    tests.sort();
    Ok(Built {
        path: out.to_path_buf(),
        size: image.len() as u64,
        tests,
        broken,
        compiled: stale.len(),
    })
}

/// The loaders and shared libraries of the dynamically linked tests, from the host (the files
/// `gcc` and `musl-gcc` linked them against): image path, contents.
fn dynamic_runtime() -> Result<Vec<(String, Vec<u8>)>> {
    const FILES: [(&str, &str); 5] = [
        ("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"),
        ("/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"),
        ("/lib/x86_64-linux-gnu/libm.so.6", "lib/x86_64-linux-gnu/libm.so.6"),
        // glibc's pthread_exit and cancellation unwind through it (dlopened).
        ("/lib/x86_64-linux-gnu/libgcc_s.so.1", "lib/x86_64-linux-gnu/libgcc_s.so.1"),
        ("/lib/ld-musl-x86_64.so.1", "lib/ld-musl-x86_64.so.1"),
    ];
    FILES
        .iter()
        .map(|(host, dest)| {
            let data = std::fs::read(host).with_context(|| format!("cannot read {host} (the C libraries' packages: libc6, musl)"))?;
            Ok((dest.to_string(), data))
        })
        .collect()
}

/// What goes into the image besides the compiled C programs: programs built elsewhere (the Rust
/// ones: image path, contents), busybox with its applet links, and the files of `user/etc/`
/// (image path, contents, mode).
#[derive(Clone, Debug, Default)]
pub struct Extras {
    pub programs: Vec<(String, Vec<u8>)>,
    pub busybox: Option<crate::busybox::Busybox>,
    pub etc: Vec<(String, Vec<u8>, u32)>,
}

impl Extras {
    /// busybox (fetched) and `user/etc/*`.
    pub fn for_system(root: &Path) -> Result<Extras> {
        let busybox = Some(crate::busybox::fetch(root)?);
        let mut etc = Vec::new();
        let dir = root.join("user").join("etc");
        if dir.is_dir() {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
            paths.sort();
            for p in paths {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let data = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
                let mode = if data.starts_with(b"#!") { 0o755 } else { 0o644 };
                etc.push((format!("etc/{name}"), data, mode));
            }
        }
        Ok(Extras { programs: Vec::new(), busybox, etc })
    }
}

/// The image: the fixed skeleton, then `programs` (image path, contents) in name order, then
/// the extras (busybox and its applet links, `/etc` files).
pub fn image(programs: &[(String, Vec<u8>)], extras: &Extras) -> Vec<u8> {
    let mut w = Writer::new();
    for (dir, mode) in [
        ("bin", 0o755),
        ("bin/tests", 0o755),
        ("sbin", 0o755),
        ("etc", 0o755),
        ("tmp", 0o1777),
        ("dev", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
    ] {
        w.dir(dir, mode);
    }
    w.node("dev/console", S_IFCHR | 0o600, 5, 1);
    w.file("etc/hostname", 0o644, b"exo");
    w.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
    w.file("etc/group", 0o644, b"root:x:0:\n");
    let mut sorted: Vec<&(String, Vec<u8>)> = programs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    // Directories of program paths that the skeleton lacks (`lib/x86_64-linux-gnu` …).
    let mut parents: Vec<String> = Vec::new();
    for (dest, _) in &sorted {
        let mut at = 0;
        while let Some(slash) = dest[at..].find('/') {
            let dir = &dest[..at + slash];
            if !["bin", "bin/tests", "sbin", "etc", "tmp", "dev", "proc", "root"].contains(&dir) && !parents.iter().any(|p| p == dir) {
                parents.push(dir.to_string());
            }
            at += slash + 1;
        }
    }
    for dir in &parents {
        w.dir(dir, 0o755);
    }
    for (dest, data) in sorted {
        w.file(dest, 0o755, data);
    }
    w.symlink("sbin/init", "/init");
    for (path, data, mode) in &extras.etc {
        if !["etc/hostname", "etc/passwd", "etc/group"].contains(&path.as_str()) {
            w.file(path, *mode, data);
        }
    }
    if let Some(busybox) = &extras.busybox {
        w.file("bin/busybox", 0o755, &busybox.binary);
        let taken: Vec<&str> = sorted_names(programs);
        let mut dirs: Vec<String> = parents.clone();
        for applet in &busybox.applets {
            if taken.contains(&applet.as_str()) {
                continue;
            }
            // Parent directories the skeleton lacks (usr/, usr/bin/, usr/sbin/).
            let mut prefix = String::new();
            for part in applet.split('/').collect::<Vec<_>>().iter().rev().skip(1).rev() {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                if !["bin", "sbin", "etc"].contains(&prefix.as_str()) && !dirs.contains(&prefix) {
                    w.dir(&prefix, 0o755);
                    dirs.push(prefix.clone());
                }
            }
            w.symlink(applet, "/bin/busybox");
        }
    }
    w.finish()
}

fn sorted_names(programs: &[(String, Vec<u8>)]) -> Vec<&str> {
    programs.iter().map(|(p, _)| p.as_str()).collect()
}

#[cfg(test)]
mod tests;
