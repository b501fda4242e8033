//! Embedding the kernel's own symbol table into its `.ksyms` section after linking.
//!
//! The kernel reserves a fixed-size, zero-filled, allocated `.ksyms` section. We read
//! the linked ELF's `.symtab`, keep the defined higher-half function and object symbols,
//! demangle them (`{:#}`: no hash), serialize them with `exo_ksyms::build`, pad the blob
//! to the section size and patch it in with `objcopy --update-section`.

use crate::util::{self, rel};
use anyhow::{bail, Context, Result};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use std::path::Path;
use std::process::Command;

/// Name of the kernel section that receives the symbol blob.
pub const SECTION: &str = ".ksyms";
/// Lowest address of the higher half: kernel symbols live at or above it.
pub const HIGHER_HALF: u64 = 0xffff_8000_0000_0000;

/// A symbol kept for the kernel: (address, size, demangled name).
pub type Sym = (u64, u64, String);

/// Should a raw ELF symbol be kept? (pure, for tests)
pub fn keep(kind: SymbolKind, defined: bool, addr: u64, name: &str) -> bool {
    matches!(kind, SymbolKind::Text | SymbolKind::Data)
        && defined
        && addr >= HIGHER_HALF
        && !name.is_empty()
        && !name.starts_with('$')
}

/// Demangle a Rust (legacy or v0) symbol without its hash; other names are unchanged.
pub fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

/// Sort by address and drop exact duplicates.
pub fn normalize(mut syms: Vec<Sym>) -> Vec<Sym> {
    syms.sort();
    syms.dedup();
    syms
}

/// Pad `blob` with zeros to exactly `size` bytes; fail if it does not fit.
pub fn pad(mut blob: Vec<u8>, size: usize, count: usize) -> Result<Vec<u8>> {
    if blob.len() > size {
        bail!(
            "the symbol blob ({} bytes for {count} symbols) is larger than the kernel's {SECTION} \
             section ({size} bytes): enlarge {SECTION} in the kernel's linker script",
            blob.len()
        );
    }
    blob.resize(size, 0);
    Ok(blob)
}

/// Extract the symbols to embed and the size of `.ksyms` from ELF bytes.
pub fn collect(data: &[u8]) -> Result<(Vec<Sym>, usize)> {
    let file = object::File::parse(data).context("cannot parse the kernel ELF")?;
    let section = file
        .section_by_name(SECTION)
        .with_context(|| format!("the kernel ELF has no {SECTION} section"))?;
    if section.kind() == SectionKind::UninitializedData {
        bail!("{SECTION} is NOBITS (like .bss): it must be a zero-filled PROGBITS section");
    }
    let size = usize::try_from(section.size()).context("absurd .ksyms size")?;
    if file.symbol_table().is_none() {
        bail!("the kernel ELF has no symbol table (was it stripped?)");
    }
    let mut syms = Vec::new();
    for s in file.symbols() {
        let Ok(name) = s.name() else { continue };
        if keep(s.kind(), !s.is_undefined(), s.address(), name) {
            syms.push((s.address(), s.size(), demangle(name)));
        }
    }
    Ok((normalize(syms), size))
}

/// Serialize symbols with the kernel's own format (`exo_ksyms`).
fn serialize(syms: &[Sym]) -> Vec<u8> {
    let refs: Vec<(u64, u64, &str)> = syms.iter().map(|(a, s, n)| (*a, *s, n.as_str())).collect();
    exo_ksyms::build(&refs)
}

/// Write `input` with its `.ksyms` filled to `output`; returns the symbol count.
pub fn embed_symbols(root: &Path, input: &Path, output: &Path) -> Result<usize> {
    let data = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let (syms, size) = collect(&data)?;
    let blob = pad(serialize(&syms), size, syms.len())?;

    let work = util::exo_target_dir(root).join("ksyms");
    util::mkdirs(&work)?;
    let stem = output
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let blob_file = work.join(format!("{stem}.ksyms.bin"));
    std::fs::write(&blob_file, &blob)
        .with_context(|| format!("cannot write {}", blob_file.display()))?;
    let tmp = work.join(format!("{stem}.tmp"));
    let mut objcopy = Command::new("objcopy");
    objcopy
        .arg("--update-section")
        .arg(format!("{SECTION}={}", blob_file.display()))
        .arg(input)
        .arg(&tmp);
    util::run_quiet(&mut objcopy).context("objcopy (binutils) could not patch .ksyms")?;

    // Check that the patch landed where the kernel will look for it.
    let patched = std::fs::read(&tmp).with_context(|| format!("cannot read {}", tmp.display()))?;
    let file = object::File::parse(&*patched).context("objcopy produced an unreadable ELF")?;
    let sec = file
        .section_by_name(SECTION)
        .context("objcopy lost .ksyms")?;
    let contents = sec.data().context("cannot read the patched .ksyms")?;
    if contents != blob.as_slice() {
        bail!(
            "after objcopy, {SECTION} of {} does not hold the symbol blob",
            rel(root, &tmp)
        );
    }
    std::fs::rename(&tmp, output)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), output.display()))?;
    Ok(syms.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_defined_higher_half_functions_and_objects() {
        let hi = 0xffff_ffff_8010_0000;
        assert!(keep(SymbolKind::Text, true, hi, "kmain"));
        assert!(keep(SymbolKind::Data, true, hi, "FRAMES"));
        assert!(!keep(SymbolKind::Text, false, hi, "extern_fn"));
        assert!(!keep(SymbolKind::Text, true, 0x10_0000, "_start32"));
        assert!(!keep(SymbolKind::Section, true, hi, ".text"));
        assert!(!keep(SymbolKind::Unknown, true, hi, "notype"));
        assert!(!keep(SymbolKind::Text, true, hi, ""));
        assert!(!keep(SymbolKind::Text, true, hi, "$x.1"));
        assert!(!keep(SymbolKind::Text, true, 0, "zero"));
    }

    #[test]
    fn demangles_without_hash() {
        assert_eq!(
            demangle("_ZN10exo_kernel5kmain17h0123456789abcdefE"),
            "exo_kernel::kmain"
        );
        assert_eq!(
            demangle("_RNvCs1234_10exo_kernel5kmain"),
            "exo_kernel::kmain"
        );
        assert_eq!(demangle("memcpy"), "memcpy");
    }

    #[test]
    fn normalizes_and_pads() {
        let syms = normalize(vec![
            (3, 1, "b".into()),
            (1, 1, "a".into()),
            (3, 1, "b".into()),
        ]);
        assert_eq!(syms, vec![(1, 1, "a".to_string()), (3, 1, "b".to_string())]);
        assert_eq!(pad(vec![1, 2], 4, 1).unwrap(), vec![1, 2, 0, 0]);
        let err = pad(vec![0; 5], 4, 1).unwrap_err().to_string();
        assert!(err.contains("larger"), "{err}");
    }

    #[test]
    fn rejects_an_elf_without_ksyms() {
        // The test binary itself is an ELF with a symbol table but no .ksyms section.
        let exe = std::env::current_exe().unwrap();
        let data = std::fs::read(exe).unwrap();
        let err = collect(&data).unwrap_err().to_string();
        assert!(err.contains(".ksyms"), "{err}");
    }
}
