//! Debian's own programs for Exo-OS (`cargo xtask run --debian`, the `debian` test stage): the
//! bookworm packages of [`PACKAGES`] are fetched with `apt-get download`, unpacked with
//! `dpkg-deb -x` into `target/exo/debian/rootfs`, and completed with the packages that provide
//! the shared libraries their ELF files need (the `DT_NEEDED` closure, resolved against the
//! unpacked tree; [`PROVIDERS`] says which package holds which library). The `.deb` files and
//! `versions.txt` (one `package=version` line each: the pins) are kept in
//! `target/exo/debian/debs`; later runs download the pinned versions only when their `.deb` is
//! missing, so every run unpacks the same programs. Delete `versions.txt` to move to the
//! archive's current versions.
//!
//! [`image_tree`] lays the Debian tree over the initramfs tree (Exo-OS's `/init`, busybox for
//! what Debian's packages do not give: `mount`, `poweroff`, `ps`…; `/bin/sh` is bash), adds `/etc` files,
//! the test scripts of `user/debian` (under `/opt/exo-debian`) and the programs of `--add`
//! (`addprog.rs`) in `/usr/local/bin`; [`image`] makes the ext2 root disk of it.

use anyhow::{bail, Context, Result};
use object::read::elf::{Dyn, FileHeader};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{disks, initramfs, util};

/// The packages whose programs the image is for (whole packages).
pub const PACKAGES: &[&str] = &[
    "bash",
    "coreutils",
    "findutils",
    "grep",
    "sed",
    "gawk",
    "tar",
    "gzip",
    "xz-utils",
    "python3-minimal",
    "python3.11-minimal",
    "libpython3.11-minimal",
    "libc6",
    // terminfo of `linux`, `vt100`, `xterm`… for bash's line editing (data only, 70 KiB).
    "ncurses-base",
];

/// Packages of which only some paths are taken. `json` is not in python3's minimal standard
/// library (`select`, `_posixsubprocess`, `math` and `fcntl` are built into Debian's
/// `python3.11`; `os`, `subprocess`, `threading` and `selectors` are in
/// `libpython3.11-minimal`): the smallest package with it is `libpython3.11-stdlib`, whose
/// other modules (and their libraries: sqlite, Berkeley DB, ncurses, ffi…) are left out.
pub const PARTIAL: &[(&str, &[&str])] = &[(
    "libpython3.11-stdlib",
    &["usr/lib/python3.11/json", "usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so"],
)];

/// Files of the whole packages left out: python's `ssl` and `hashlib`-with-OpenSSL modules
/// (they alone would need libssl3 and libcrypto; `hashlib` falls back to its built-in md5/sha),
/// documentation, manual pages and translations.
const DROPPED: &[&str] = &[
    "usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
    "usr/lib/python3.11/lib-dynload/_hashlib.cpython-311-x86_64-linux-gnu.so",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/bug",
];

/// Which bookworm package provides a shared library (the `DT_NEEDED` name).
pub const PROVIDERS: &[(&str, &str)] = &[
    ("libc.so.6", "libc6"),
    ("libm.so.6", "libc6"),
    ("libpthread.so.0", "libc6"),
    ("libdl.so.2", "libc6"),
    ("librt.so.1", "libc6"),
    ("ld-linux-x86-64.so.2", "libc6"),
    ("libtinfo.so.6", "libtinfo6"),
    ("libselinux.so.1", "libselinux1"),
    ("libacl.so.1", "libacl1"),
    ("libattr.so.1", "libattr1"),
    ("libpcre2-8.so.0", "libpcre2-8-0"),
    ("libgmp.so.10", "libgmp10"),
    ("libmpfr.so.6", "libmpfr6"),
    ("libreadline.so.8", "libreadline8"),
    ("libsigsegv.so.2", "libsigsegv2"),
    ("liblzma.so.5", "liblzma5"),
    ("libz.so.1", "zlib1g"),
    ("libexpat.so.1", "libexpat1"),
    ("libcrypt.so.1", "libcrypt1"),
    ("libgcc_s.so.1", "libgcc-s1"),
    ("libcap.so.2", "libcap2"),
    ("libbz2.so.1.0", "libbz2-1.0"),
    ("libzstd.so.1", "libzstd1"),
    ("libssl.so.3", "libssl3"),
    ("libcrypto.so.3", "libssl3"),
];

/// Directories the dynamic loader searches (relative to the root).
const LIB_DIRS: &[&str] = &["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "lib", "usr/lib"];

/// `target/exo/debian`.
pub fn cache_dir(root: &Path) -> PathBuf {
    util::exo_target_dir(root).join("debian")
}

/// The `DT_NEEDED` entries of an ELF file (None: not a 64-bit ELF, or no dynamic section).
pub fn needed(data: &[u8]) -> Option<Vec<String>> {
    let header = object::elf::FileHeader64::<object::Endianness>::parse(data).ok()?;
    let endian = header.endian().ok()?;
    let sections = header.sections(endian, data).ok()?;
    let (dynamic, link) = sections.dynamic(endian, data).ok()??;
    let strings = sections.strings(endian, data, link).ok()?;
    let mut out = Vec::new();
    for d in dynamic {
        if d.tag32(endian) == Some(object::elf::DT_NEEDED) {
            let name = d.string(endian, strings).ok()?;
            out.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    Some(out)
}

/// Every regular file under `dir` (recursively, symlinks not followed).
fn files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            files(&e.path(), out)?;
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

/// The libraries needed by the ELF files of `tree` that no library directory of it holds.
pub fn missing_libraries(tree: &Path) -> Result<Vec<String>> {
    let mut all = Vec::new();
    files(tree, &mut all)?;
    let mut missing: Vec<String> = Vec::new();
    for f in all {
        let mut head = [0u8; 4];
        let is_elf = fs::File::open(&f).and_then(|mut h| std::io::Read::read_exact(&mut h, &mut head)).is_ok() && head == *b"\x7fELF";
        if !is_elf {
            continue;
        }
        let data = fs::read(&f)?;
        for lib in needed(&data).unwrap_or_default() {
            // Also next to the file ($ORIGIN: glibc's gconv modules need their neighbours).
            let beside = f.parent().is_some_and(|d| d.join(&lib).exists());
            let found = beside || LIB_DIRS.iter().any(|d| tree.join(d).join(&lib).exists());
            if !found && !missing.contains(&lib) {
                missing.push(lib);
            }
        }
    }
    missing.sort();
    Ok(missing)
}

/// Parses `versions.txt` (`package=version` lines).
pub fn parse_pins(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(p, v)| (p.trim().to_string(), v.trim().to_string()))
        .filter(|(p, v)| !p.is_empty() && !v.is_empty())
        .collect()
}

/// The package and version of a `.deb` file name (`name_version_arch.deb`, `%3a` for `:`).
pub fn parse_deb_name(file: &str) -> Option<(String, String)> {
    let stem = file.strip_suffix(".deb")?;
    let mut parts = stem.splitn(3, '_');
    let (name, version) = (parts.next()?, parts.next()?);
    parts.next()?;
    Some((name.to_string(), version.replace("%3a", ":").replace("%3A", ":")))
}

/// The cached `.deb` of `pkg` in `dir`.
fn find_deb(dir: &Path, pkg: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| parse_deb_name(&n.to_string_lossy())).is_some_and(|(n, _)| n == pkg))
        .collect();
    found.sort();
    found.pop()
}

/// Makes sure the `.deb` of every package of `pkgs` is in `dir` (the pinned version if there is
/// a pin), updating the pins.
fn download(dir: &Path, pkgs: &[String], pins: &mut BTreeMap<String, String>) -> Result<()> {
    let wanted: Vec<&String> = pkgs.iter().filter(|p| find_deb(dir, p).is_none()).collect();
    if !wanted.is_empty() {
        let spec = |p: &str, pinned: bool| match pins.get(p) {
            Some(v) if pinned => format!("{p}={v}"),
            _ => p.to_string(),
        };
        let fetch = |pinned: bool| -> bool {
            let args: Vec<String> = wanted.iter().map(|p| spec(p, pinned)).collect();
            println!("xtask: downloading Debian packages: {}", args.join(" "));
            Command::new("apt-get").arg("download").args(&args).current_dir(dir).status().is_ok_and(|s| s.success())
        };
        if !fetch(true) {
            // The package lists may be missing on a fresh machine, or a pinned version may
            // have left the archive (a security update replaced it).
            let _ = Command::new("apt-get").arg("update").status();
            if !fetch(true) {
                println!("xtask: a pinned version is no longer available: taking the archive's current ones");
                if !fetch(false) {
                    bail!("`apt-get download` of {} failed", wanted.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
                }
            }
        }
    }
    for p in pkgs {
        let deb = find_deb(dir, p).with_context(|| format!("apt-get download left no {p}_*.deb"))?;
        let (_, version) = parse_deb_name(&deb.file_name().unwrap_or_default().to_string_lossy()).context("bad .deb name")?;
        pins.insert(p.clone(), version);
    }
    Ok(())
}

fn unpack(deb: &Path, into: &Path) -> Result<()> {
    util::run_quiet(Command::new("dpkg-deb").arg("-x").arg(deb).arg(into)).map(|_| ())
}

/// The unpacked Debian tree (`target/exo/debian/rootfs`), fetched and unpacked if needed;
/// with `pins()`'s versions.
pub fn fetch(root: &Path) -> Result<PathBuf> {
    let dir = cache_dir(root);
    let debs = dir.join("debs");
    let rootfs = dir.join("rootfs");
    let pin_file = debs.join("versions.txt");
    let stamp = rootfs.join(".exo-complete");
    util::mkdirs(&debs)?;
    let mut pins = parse_pins(&fs::read_to_string(&pin_file).unwrap_or_default());
    let want = format!("{PACKAGES:?} {PARTIAL:?} {DROPPED:?}\n{pins:?}");
    if fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(rootfs);
    }
    if rootfs.exists() {
        fs::remove_dir_all(&rootfs)?;
    }
    util::mkdirs(&rootfs)?;
    let mut whole: Vec<String> = PACKAGES.iter().map(|s| s.to_string()).collect();
    let partial: Vec<String> = PARTIAL.iter().map(|(p, _)| p.to_string()).collect();
    download(&debs, &partial, &mut pins)?;
    let mut unpacked: Vec<String> = Vec::new();
    loop {
        download(&debs, &whole, &mut pins)?;
        for p in &whole {
            if !unpacked.contains(p) {
                unpack(&find_deb(&debs, p).context("deb vanished")?, &rootfs)?;
                unpacked.push(p.clone());
            }
        }
        for (p, paths) in PARTIAL {
            let tmp = dir.join("partial");
            let _ = fs::remove_dir_all(&tmp);
            unpack(&find_deb(&debs, p).context("deb vanished")?, &tmp)?;
            for path in *paths {
                let to = rootfs.join(path);
                util::mkdirs(to.parent().unwrap_or(&rootfs))?;
                util::run_quiet(Command::new("cp").arg("-a").arg(tmp.join(path)).arg(&to))?;
            }
            fs::remove_dir_all(&tmp)?;
        }
        for d in DROPPED {
            let p = rootfs.join(d);
            if p.is_dir() {
                fs::remove_dir_all(&p)?;
            } else if p.exists() {
                fs::remove_file(&p)?;
            }
        }
        let missing = missing_libraries(&rootfs)?;
        if missing.is_empty() {
            break;
        }
        let mut added = false;
        for lib in &missing {
            let Some((_, pkg)) = PROVIDERS.iter().find(|(l, _)| l == lib) else {
                bail!("no package is known for the library {lib} (add it to debian::PROVIDERS)");
            };
            if !whole.iter().any(|p| p == pkg) {
                println!("xtask: {lib} is needed: adding package {pkg}");
                whole.push(pkg.to_string());
                added = true;
            }
        }
        if !added {
            bail!("libraries still missing after unpacking their packages: {}", missing.join(" "));
        }
    }
    // Keep the pins of the packages used (sorted), and note the closure.
    pins.retain(|p, _| whole.contains(p) || partial.contains(p));
    let text: String = pins.iter().map(|(p, v)| format!("{p}={v}\n")).collect();
    fs::write(&pin_file, &text)?;
    fs::write(dir.join("packages.txt"), whole.join("\n") + "\n")?;
    let want = format!("{PACKAGES:?} {PARTIAL:?} {DROPPED:?}\n{pins:?}");
    fs::write(&stamp, want)?;
    println!("xtask: Debian tree ready in {} ({} packages)", util::rel(root, &rootfs), pins.len());
    Ok(rootfs)
}

/// The pinned `package=version` lines (after [`fetch`]).
pub fn pins(root: &Path) -> String {
    fs::read_to_string(cache_dir(root).join("debs").join("versions.txt")).unwrap_or_default()
}

/// `/etc/profile` of the Debian image: login shells (init starts `-bash`) read it.
const PROFILE: &str = "\
# /etc/profile of the Debian image (cargo xtask run --debian)
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
export TERM=${TERM:-linux}
if [ -n \"$BASH_VERSION\" ]; then
    [ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
    PS1='exo-debian:\\w\\$ '
else
    PS1='exo-debian:\\w# '
fi
";

const MOTD: &str = "\nWelcome to Exo-OS with Debian's bash, coreutils, findutils, grep, sed, gawk, tar, gzip, xz and python3.\nYour own programs (cargo xtask run --debian --add FILE) are in /usr/local/bin. `poweroff` to leave.\n\n";

/// Removes the busybox applet links of `tree` that a Debian program replaces (a link in `/bin`
/// would shadow `/usr/bin/<name>`).
fn drop_shadowed_links(tree: &Path, debian: &Path) -> Result<()> {
    let bins = ["bin", "usr/bin", "sbin", "usr/sbin"];
    for d in bins {
        let Ok(rd) = fs::read_dir(debian.join(d)) else { continue };
        for e in rd.filter_map(|e| e.ok()) {
            for d2 in bins {
                let p = tree.join(d2).join(e.file_name());
                if p.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
                    fs::remove_file(&p)?;
                }
            }
        }
    }
    // gawk is `awk` through Debian's alternatives, which dpkg-deb -x does not set up.
    let awk = tree.join("usr/bin/awk");
    let _ = fs::remove_file(&awk);
    let _ = fs::remove_file(tree.join("bin/awk"));
    std::os::unix::fs::symlink("gawk", &awk)?;
    // /bin/sh is bash (Debian's is dash, not included): busybox's shell runs its own applets
    // before PATH ("standalone" build), so `sh -c "xz -d"` of tar, `system()` of gawk and
    // python's `shell=True` would reach busybox's xz, awk... instead of Debian's.
    let sh = tree.join("bin/sh");
    let _ = fs::remove_file(&sh);
    std::os::unix::fs::symlink("bash", &sh)?;
    Ok(())
}

/// `target/exo/debian/image-tree`: the initramfs tree with the Debian tree over it, `/etc`
/// files, the test scripts (`/opt/exo-debian`) and `adds` (name, ELF) in `/usr/local/bin`.
pub fn image_tree(root: &Path, adds: &[(String, Vec<u8>)]) -> Result<PathBuf> {
    let debian = fetch(root)?;
    let built = initramfs::build(root, true)?;
    let tree = cache_dir(root).join("image-tree");
    disks::unpack_initrd(&built.path, &tree)?;
    drop_shadowed_links(&tree, &debian)?;
    util::run_quiet(Command::new("cp").arg("-a").arg(format!("{}/.", debian.display())).arg(&tree))?;
    let _ = fs::remove_file(tree.join(".exo-complete"));
    fs::write(tree.join("etc/profile"), PROFILE)?;
    fs::write(tree.join("etc/motd"), MOTD)?;
    fs::write(tree.join("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")?;
    fs::write(tree.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    fs::write(tree.join("etc/debian-packages.txt"), pins(root))?;
    // As on Debian (df and mount read it when /proc/self/mountinfo is missing).
    let _ = fs::remove_file(tree.join("etc/mtab"));
    std::os::unix::fs::symlink("../proc/self/mounts", tree.join("etc/mtab"))?;
    let opt = tree.join("opt/exo-debian");
    util::mkdirs(&opt)?;
    util::run_quiet(Command::new("cp").arg("-a").arg(format!("{}/.", root.join("user/debian").display())).arg(&opt))?;
    let local = tree.join("usr/local/bin");
    util::mkdirs(&local)?;
    for (name, data) in adds {
        let p = local.join(name);
        fs::write(&p, data)?;
        disks::set_mode(&p, 0o755)?;
    }
    Ok(tree)
}

/// `build/debian.img`: an ext2 root disk of [`image_tree`] (`mib` MiB).
pub fn image(root: &Path, adds: &[(String, Vec<u8>)], mib: u64) -> Result<PathBuf> {
    util::ensure_packages(&[util::PKGS_DISK, util::PKGS_DEB])?;
    let tree = image_tree(root, adds)?;
    let image = util::build_dir(root).join("debian.img");
    disks::ext2_from_tree(&tree, &image, mib)?;
    Ok(image)
}

/// The kernel command line of a Debian-image boot: the disk is the root, bash the console's
/// shell.
pub const APPEND: &str = "root=/dev/vda rootfstype=ext2 rw exo.shell=/bin/bash";
/// QEMU memory of a Debian-image boot (python, xz -6 and gawk are larger than busybox).
pub const MEMORY: &str = "512M";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deb_names_and_pins() {
        assert_eq!(parse_deb_name("bash_5.2.15-2+b8_amd64.deb"), Some(("bash".into(), "5.2.15-2+b8".into())));
        assert_eq!(parse_deb_name("busybox-static_1%3a1.35.0-4_amd64.deb"), Some(("busybox-static".into(), "1:1.35.0-4".into())));
        assert_eq!(parse_deb_name("x.txt"), None);
        let pins = parse_pins("bash=5.2\n\nbad\ngzip = 1.12-1\n");
        assert_eq!(pins.len(), 2);
        assert_eq!(pins["gzip"], "1.12-1");
    }

    #[test]
    fn reads_needed_libraries() {
        // The test binary itself is a dynamic ELF linked against libc.
        let data = fs::read(std::env::current_exe().unwrap()).unwrap();
        let libs = needed(&data).unwrap_or_default();
        assert!(libs.iter().any(|l| l.starts_with("libc.so")), "{libs:?}");
        assert_eq!(needed(b"not an elf"), None);
    }

    #[test]
    fn every_provider_is_a_library_name() {
        for (lib, pkg) in PROVIDERS {
            assert!(lib.contains(".so"), "{lib}");
            assert!(!pkg.is_empty());
        }
    }
}
