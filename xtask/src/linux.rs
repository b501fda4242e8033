//! Debian's Linux kernel as the reference of `cargo xtask bench`: the versioned package behind
//! `linux-image-amd64` is fetched with `apt-get download`, its `boot/vmlinuz-*` (a bzImage) is
//! unpacked, and the compressed kernel inside it is decompressed into an ELF `vmlinux` that QEMU
//! boots directly through its PVH entry (`XEN_ELFNOTE_PHYS32_ENTRY`), exactly like Exo-OS.
//! Cached in `target/exo/linux/vmlinux-<release>`. [`add_modules`] puts modules of the same
//! package (virtio-net for the network guest, virtio-blk and ext4 for the benchmark's disk)
//! into an initramfs.

use crate::qemu::{self, Boot, Capture, Machine};
use crate::util;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Packages for unpacking the kernel (`tar` and `dpkg-deb` are essential on Debian).
pub const PKGS_LINUX: &[&str] = &["xz-utils", "gzip", "zstd", "lz4"];
/// The metapackage naming Debian's current amd64 kernel.
const META: &str = "linux-image-amd64";
/// Kernel command line of the benchmark and smoke boots.
pub const APPEND: &str = "console=ttyS0 quiet panic=-1 rdinit=/init";
/// `XEN_ELFNOTE_PHYS32_ENTRY`: the 32-bit PVH entry point, in a note named "Xen".
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

fn cache_dir(root: &Path) -> PathBuf {
    util::exo_target_dir(root).join("linux")
}

/// The versioned kernel packages named by `apt-cache depends linux-image-amd64` output, in
/// order (e.g. `linux-image-6.1.0-56-amd64`; virtual `<...>` names unwrapped).
pub fn parse_depends(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .filter_map(|l| l.trim().trim_start_matches('|').strip_prefix("Depends:"))
        .map(|p| p.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        .filter(|p| p.starts_with("linux-image-") && p != META)
        .collect();
    v.dedup();
    v
}

/// The release of a kernel package: `linux-image-6.1.0-56-amd64[-unsigned]` -> `6.1.0-56-amd64`.
pub fn release_of(pkg: &str) -> &str {
    let r = pkg.strip_prefix("linux-image-").unwrap_or(pkg);
    r.strip_suffix("-unsigned").unwrap_or(r)
}

/// Runs `apt-cache depends` (after one `apt-get update` if the package lists are missing).
fn versioned_package() -> Result<String> {
    let query = || -> Vec<String> {
        Command::new("apt-cache")
            .args(["depends", META])
            .stderr(Stdio::null())
            .output()
            .map(|o| parse_depends(&String::from_utf8_lossy(&o.stdout)))
            .unwrap_or_default()
    };
    let mut pkgs = query();
    if pkgs.is_empty() {
        println!("xtask: no package list knows {META}: running apt-get update");
        let _ = Command::new("apt-get").arg("update").status();
        pkgs = query();
    }
    pkgs.into_iter()
        .next()
        .with_context(|| format!("`apt-cache depends {META}` names no linux-image-* package"))
}

/// `apt-get download` of `pkg` (or its `-unsigned` twin) into `dir`; the `.deb` path.
fn download(dir: &Path, pkg: &str) -> Result<PathBuf> {
    let base = pkg.strip_suffix("-unsigned").unwrap_or(pkg);
    let candidates = [base.to_string(), format!("{base}-unsigned")];
    let find = |p: &str| -> Option<PathBuf> {
        let prefix = format!("{p}_");
        std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).find(|f| {
            f.extension().is_some_and(|x| x == "deb")
                && f.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
    };
    if let Some(deb) = candidates.iter().find_map(|p| find(p)) {
        return Ok(deb);
    }
    for p in &candidates {
        println!("xtask: downloading Debian's {p}");
        let ok = Command::new("apt-get").args(["download", p]).current_dir(dir).status();
        if ok.is_ok_and(|s| s.success()) {
            return find(p).with_context(|| format!("apt-get download left no {p}_*.deb"));
        }
    }
    bail!("`apt-get download {base}` failed (and so did its -unsigned variant)")
}

/// Unpacks only `boot/vmlinuz-*` of the package (the modules are not needed); its path.
fn extract_vmlinuz(deb: &Path, dir: &Path) -> Result<PathBuf> {
    let out = dir.join("extract");
    let _ = std::fs::remove_dir_all(&out);
    util::mkdirs(&out)?;
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run dpkg-deb")?;
    let tar = Command::new("tar")
        .args(["-x", "--wildcards", "-C"])
        .arg(&out)
        .args(["./boot/vmlinuz-*"])
        .stdin(dpkg.stdout.take().context("no dpkg-deb pipe")?)
        .status()
        .context("cannot run tar")?;
    let dpkg = dpkg.wait()?;
    if !tar.success() || !dpkg.success() {
        bail!("unpacking boot/vmlinuz-* of {} failed (dpkg-deb {dpkg}, tar {tar})", deb.display());
    }
    let boot = out.join("boot");
    std::fs::read_dir(&boot)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .with_context(|| format!("{} holds no boot/vmlinuz-*", deb.display()))
}

/// The compressions a bzImage payload may use: (name, magic, decompressor command).
const FORMATS: &[(&str, &[u8], &[&str])] = &[
    ("xz", &[0xFD, b'7', b'z', b'X', b'Z', 0], &["xz", "-dc", "--single-stream"]),
    ("zstd", &[0x28, 0xB5, 0x2F, 0xFD], &["zstd", "-dc"]),
    ("gzip", &[0x1F, 0x8B, 0x08], &["gzip", "-dc"]),
    ("lz4", &[0x02, 0x21, 0x4C, 0x18], &["lz4", "-dc"]),
    ("lzma", &[0x5D, 0, 0], &["xz", "-dc", "--format=lzma"]),
];

/// Where the compressed kernel starts in a bzImage and which of [`FORMATS`] it uses: from the
/// setup header (`payload_offset`, boot protocol >= 2.08), else the first known magic.
pub fn find_payload(bz: &[u8]) -> Option<(usize, usize)> {
    let at = |off: usize| FORMATS.iter().position(|(_, magic, _)| bz[off..].starts_with(magic));
    if bz.len() > 0x250 && &bz[0x202..0x206] == b"HdrS" && u16::from_le_bytes([bz[0x206], bz[0x207]]) >= 0x208 {
        let setup_sects = match bz[0x1F1] {
            0 => 4,
            n => n as usize,
        };
        let off = (setup_sects + 1) * 512 + u32::from_le_bytes(bz[0x248..0x24C].try_into().ok()?) as usize;
        if off < bz.len() {
            if let Some(f) = at(off) {
                return Some((off, f));
            }
        }
    }
    // No usable header: the earliest magic (lzma's is weak, so only as a last resort).
    (0..bz.len()).find_map(|o| at(o).filter(|f| FORMATS[*f].0 != "lzma").map(|f| (o, f)))
}

fn le(b: &[u8], off: usize, n: usize) -> Option<u64> {
    let s = b.get(off..off + n)?;
    Some(s.iter().rev().fold(0u64, |a, x| (a << 8) | *x as u64))
}

/// The PVH entry point of an ELF64 x86-64 image (`None`: no `XEN_ELFNOTE_PHYS32_ENTRY` note in
/// its PT_NOTE segments). An error if the image is not an ELF64 x86-64 file.
pub fn pvh_entry(elf: &[u8]) -> Result<Option<u64>> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 || le(elf, 18, 2) != Some(62) {
        bail!("not a little-endian ELF64 x86-64 image");
    }
    let (phoff, phsize, phnum) = (le(elf, 32, 8).unwrap_or(0) as usize, le(elf, 54, 2).unwrap_or(0) as usize, le(elf, 56, 2).unwrap_or(0) as usize);
    for i in 0..phnum {
        let ph = phoff + i * phsize;
        if le(elf, ph, 4) != Some(4) {
            continue; // not PT_NOTE
        }
        let (off, size) = (le(elf, ph + 8, 8).unwrap_or(0) as usize, le(elf, ph + 32, 8).unwrap_or(0) as usize);
        let Some(notes) = elf.get(off..off.saturating_add(size)) else { continue };
        let mut p = 0;
        while p + 12 <= notes.len() {
            let (namesz, descsz, ty) = (le(notes, p, 4).unwrap() as usize, le(notes, p + 4, 4).unwrap() as usize, le(notes, p + 8, 4).unwrap() as u32);
            let name = notes.get(p + 12..p + 12 + namesz).unwrap_or(&[]);
            let desc_at = p + 12 + namesz.div_ceil(4) * 4;
            if name == b"Xen\0" && ty == XEN_ELFNOTE_PHYS32_ENTRY {
                return Ok(le(notes, desc_at, descsz.min(8)));
            }
            p = desc_at + descsz.div_ceil(4) * 4;
        }
    }
    Ok(None)
}

/// Decompresses the kernel of `bzimage` into `out` and checks it is PVH-bootable.
fn decompress(bzimage: &Path, out: &Path) -> Result<u64> {
    let bz = std::fs::read(bzimage).with_context(|| format!("cannot read {}", bzimage.display()))?;
    let (off, f) = find_payload(&bz).with_context(|| {
        format!("no compressed kernel (xz, zstd, gzip, lz4, lzma) found in {}", bzimage.display())
    })?;
    let (name, _, argv) = FORMATS[f];
    let payload = out.with_extension(name);
    std::fs::write(&payload, &bz[off..])?;
    let tmp = out.with_extension("tmp");
    let result = Command::new(argv[0])
        .args(&argv[1..])
        .arg(&payload)
        .stdout(std::fs::File::create(&tmp)?)
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot run {}", argv[0]))?;
    let _ = std::fs::remove_file(&payload);
    // The payload is followed by other data (its size, padding): decompressors may complain
    // about trailing garbage after a complete stream, so the output itself is what is judged.
    let elf = std::fs::read(&tmp)?;
    let entry = pvh_entry(&elf).with_context(|| {
        format!(
            "{name} stream at offset {off:#x} of {} did not give an ELF kernel ({}): {}",
            bzimage.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        )
    })?;
    let Some(entry) = entry else {
        bail!(
            "Debian's kernel {} has no PVH entry (no XEN_ELFNOTE_PHYS32_ENTRY note, CONFIG_PVH off): \
             QEMU cannot boot it directly with -kernel",
            bzimage.display()
        );
    };
    std::fs::rename(&tmp, out)?;
    Ok(entry)
}

/// Debian's kernel as a PVH-bootable ELF (`target/exo/linux/vmlinux-<release>`), fetched,
/// unpacked and decompressed on first use.
pub fn vmlinux(root: &Path) -> Result<PathBuf> {
    let dir = cache_dir(root);
    util::mkdirs(&dir)?;
    let pkg = match versioned_package() {
        Ok(p) => p,
        Err(e) => {
            // Offline: any kernel unpacked before will do.
            let cached = std::fs::read_dir(&dir).ok().and_then(|d| {
                d.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
                    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinux-"))
                        && p.extension().is_none()
                })
            });
            return cached.ok_or(e);
        }
    };
    let out = dir.join(format!("vmlinux-{}", release_of(&pkg)));
    if out.is_file() {
        return Ok(out);
    }
    util::ensure_packages(&[PKGS_LINUX])?;
    let deb = download(&dir, &pkg)?;
    let vmlinuz = extract_vmlinuz(&deb, &dir)?;
    let entry = decompress(&vmlinuz, &out)?;
    let _ = std::fs::remove_dir_all(dir.join("extract"));
    println!("xtask: {} ready (PVH entry {entry:#x})", util::rel(root, &out));
    Ok(out)
}

/// The directory holding `<name>.ko` of every module of `names` for `vmlinux-<release>`,
/// unpacked from the kernel package [`vmlinux`] downloaded next to it (cached in
/// `modules-<release>`; missing ones are added to it).
pub fn modules(root: &Path, vmlinux: &Path, names: &[&str]) -> Result<PathBuf> {
    let dir = vmlinux.parent().context("vmlinux has no directory")?.to_path_buf();
    let name = vmlinux.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let release = name.strip_prefix("vmlinux-").context("vmlinux file name is not vmlinux-<release>")?;
    let out = dir.join(format!("modules-{release}"));
    let missing = |d: &Path| -> Vec<String> {
        names.iter().filter(|m| !d.join(format!("{m}.ko")).is_file()).map(|m| m.to_string()).collect()
    };
    let wanted = missing(&out);
    if wanted.is_empty() {
        return Ok(out);
    }
    let deb = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            n.ends_with(".deb")
                && (n.starts_with(&format!("linux-image-{release}_")) || n.starts_with(&format!("linux-image-{release}-unsigned_")))
        })
        .with_context(|| format!("no linux-image-{release}*.deb in {}", util::rel(root, &dir)))?;
    let tmp = dir.join("modules-extract");
    let _ = std::fs::remove_dir_all(&tmp);
    util::mkdirs(&tmp)?;
    let mut dpkg = Command::new("dpkg-deb").arg("--fsys-tarfile").arg(&deb).stdout(Stdio::piped()).spawn().context("cannot run dpkg-deb")?;
    let patterns: Vec<String> = wanted.iter().map(|m| format!("*/{m}.ko")).collect();
    let tar = Command::new("tar")
        .args(["-x", "--wildcards", "-C"])
        .arg(&tmp)
        .args(&patterns)
        .stdin(dpkg.stdout.take().context("no dpkg-deb pipe")?)
        .status()
        .context("cannot run tar")?;
    let dpkg = dpkg.wait()?;
    if !tar.success() || !dpkg.success() {
        bail!("unpacking the modules {wanted:?} of {} failed (dpkg-deb {dpkg}, tar {tar})", deb.display());
    }
    util::mkdirs(&out)?;
    let mut stack = vec![tmp.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)?.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(n) = p.file_name() {
                std::fs::rename(&p, out.join(n))?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let still = missing(&out);
    if !still.is_empty() {
        bail!("{} lacks the modules {still:?}", deb.display());
    }
    Ok(out)
}

/// Adds `lib/modules/<name>.ko` for every module of `names` (Debian's kernel `vmlinux`; see
/// [`modules`]) to `w`, and `lib/modules/order`: their names in load order, one a line (the
/// benchmark program loads them from it). `names` must list dependencies first.
pub fn add_modules(w: &mut exo_cpio::Writer, root: &Path, vmlinux: &Path, names: &[&str]) -> Result<()> {
    let dir = modules(root, vmlinux, names)?;
    w.dir("lib", 0o755);
    w.dir("lib/modules", 0o755);
    for name in names {
        let path = dir.join(format!("{name}.ko"));
        let data = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        w.file(&format!("lib/modules/{name}.ko"), 0o644, &data);
    }
    w.file("lib/modules/order", 0o644, module_order(names).as_bytes());
    Ok(())
}

/// The text of `lib/modules/order`.
pub fn module_order(names: &[&str]) -> String {
    names.iter().map(|n| format!("{n}\n")).collect()
}

/// The QEMU machine of a Linux boot: Exo-OS's machine (q35, TCG, `-cpu max`, 256M,
/// isa-debug-exit, no reboot) with `-icount shift=0,sleep=off` and `smp` CPUs.
pub fn machine(vmlinux: &Path, initrd: &Path, smp: u32) -> Machine {
    let mut m = Machine::new(Boot::Pvh {
        kernel: vmlinux.to_path_buf(),
        initrd: Some(initrd.to_path_buf()),
        append: APPEND.to_string(),
    });
    m.icount = true;
    m.smp = Some(smp);
    m
}

/// Boots `vmlinux` with `initrd` (its `/init` must power off) on one CPU under icount; the
/// serial lines. Fails unless QEMU ends by the guest's ACPI power-off (status 0).
pub fn smoke(root: &Path, vmlinux: &Path, initrd: &Path) -> Result<Vec<String>> {
    util::ensure_packages(&[util::PKGS_QEMU])?;
    // Linux 6.1 never brings up a second CPU under QEMU 7.2's -icount (see the module tests).
    let m = machine(vmlinux, initrd, 1);
    let cap = Capture {
        timeout: Duration::from_secs(120),
        log: cache_dir(root).join("smoke-serial.log"),
        send: None,
        mark: None,
        echo: false,
        abort_on: vec!["Kernel panic".into()],
    };
    let out = qemu::run_captured(&m, &cap)?;
    if out.status != Some(0) {
        bail!("Linux smoke boot failed ({}); serial log: {}", out.describe_end(), cap.log.display());
    }
    println!("xtask: Linux booted and powered off in {:.1} s", out.elapsed.as_secs_f64());
    Ok(out.lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_versioned_package() {
        let out = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
        assert_eq!(parse_depends(out), vec!["linux-image-6.1.0-56-amd64"]);
        let alt = "linux-image-amd64\n |Depends: linux-image-6.12.9-amd64-unsigned\n  Depends: <linux-image-6.12.9-amd64>\n  Recommends: x\n";
        assert_eq!(parse_depends(alt), vec!["linux-image-6.12.9-amd64-unsigned", "linux-image-6.12.9-amd64"]);
        assert!(parse_depends("E: No packages found\n").is_empty());
        assert_eq!(release_of("linux-image-6.12.9-amd64-unsigned"), "6.12.9-amd64");
        assert_eq!(release_of("linux-image-6.1.0-56-amd64"), "6.1.0-56-amd64");
    }

    #[test]
    fn module_order_is_one_name_a_line() {
        assert_eq!(module_order(&["crc16", "ext4"]), "crc16\next4\n");
        assert_eq!(module_order(&[]), "");
    }

    #[test]
    fn locates_the_payload_from_the_setup_header_or_by_magic() {
        let mut bz = vec![0u8; 8192];
        bz[0x1F1] = 3; // protected-mode code at 4 * 512
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        bz[0x206..0x208].copy_from_slice(&0x20Fu16.to_le_bytes());
        bz[0x248..0x24C].copy_from_slice(&0x100u32.to_le_bytes());
        bz[2048 + 0x100..2048 + 0x106].copy_from_slice(&[0xFD, b'7', b'z', b'X', b'Z', 0]);
        bz[3000..3003].copy_from_slice(&[0x1F, 0x8B, 0x08]); // an earlier gzip magic is ignored
        assert_eq!(find_payload(&bz), Some((2048 + 0x100, 0)));
        bz[0x202] = 0; // no header: first magic wins
        assert_eq!(find_payload(&bz), Some((2048 + 0x100, 0)));
        bz[100..104].copy_from_slice(&[0x28, 0xB5, 0x2F, 0xFD]);
        assert_eq!(find_payload(&bz), Some((100, 1)));
        assert_eq!(find_payload(&[0u8; 600]), None);
    }

    /// A minimal ELF64 x86-64 with one PT_NOTE holding `notes`.
    fn elf_with_notes(notes: &[(&[u8], u32, &[u8])]) -> Vec<u8> {
        let mut n = Vec::new();
        for (name, ty, desc) in notes {
            n.extend((name.len() as u32).to_le_bytes());
            n.extend((desc.len() as u32).to_le_bytes());
            n.extend(ty.to_le_bytes());
            n.extend(*name);
            n.resize(n.len().div_ceil(4) * 4, 0);
            n.extend(*desc);
            n.resize(n.len().div_ceil(4) * 4, 0);
        }
        let mut e = vec![0u8; 120];
        e[..6].copy_from_slice(b"\x7fELF\x02\x01");
        e[18] = 62;
        e[32..40].copy_from_slice(&64u64.to_le_bytes());
        e[54..56].copy_from_slice(&56u16.to_le_bytes());
        e[56..58].copy_from_slice(&1u16.to_le_bytes());
        e[64..68].copy_from_slice(&4u32.to_le_bytes());
        e[72..80].copy_from_slice(&120u64.to_le_bytes());
        e[96..104].copy_from_slice(&(n.len() as u64).to_le_bytes());
        e.extend(n);
        e
    }

    #[test]
    fn reads_the_pvh_note() {
        let elf = elf_with_notes(&[(b"GNU\0", 3, &[1; 20]), (b"Xen\0", 18, &0x1000_0u32.to_le_bytes())]);
        assert_eq!(pvh_entry(&elf).unwrap(), Some(0x10000));
        let elf = elf_with_notes(&[(b"Xen\0", 17, &[1, 0, 0, 0]), (b"Linux\0", 18, &[9; 8])]);
        assert_eq!(pvh_entry(&elf).unwrap(), None);
        assert!(pvh_entry(b"MZ not an elf at all, but long enough to look at.......................").is_err());
    }

    /// Fetches Debian's kernel and boots it with a tiny static init (downloads ~70 MB):
    /// `cargo test -p xtask linux -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn debian_kernel_boots_under_pvh_and_icount() {
        let root = util::workspace_root();
        let vmlinux = vmlinux(&root).unwrap();
        let dir = cache_dir(&root).join("smoke");
        util::mkdirs(&dir).unwrap();
        let src = dir.join("init.c");
        std::fs::write(
            &src,
            "#include <stdio.h>\n#include <unistd.h>\n#include <sys/reboot.h>\n\
             int main(void) { printf(\"hello from init\\n\"); fflush(stdout); reboot(RB_POWER_OFF); return 1; }\n",
        )
        .unwrap();
        let init = dir.join("init");
        util::run_checked(Command::new("musl-gcc").args(["-static", "-O2", "-o"]).arg(&init).arg(&src)).unwrap();
        let mut w = exo_cpio::Writer::new();
        w.dir("dev", 0o755);
        w.node("dev/console", exo_cpio::S_IFCHR | 0o600, 5, 1);
        w.file("init", 0o755, &std::fs::read(&init).unwrap());
        let cpio = dir.join("init.cpio");
        std::fs::write(&cpio, w.finish()).unwrap();
        let start = std::time::Instant::now();
        let lines = smoke(&root, &vmlinux, &cpio).unwrap();
        println!("boot + power-off: {:.1} s\n{}", start.elapsed().as_secs_f64(), lines.join("\n"));
        assert!(lines.iter().any(|l| l.contains("hello from init")), "{lines:?}");
    }
}
