//! Building the kernel with the Debian toolchain (`-Zbuild-std`), then embedding its
//! symbol table and copying the result to `build/`. The vDSO the kernel embeds is built first
//! (`vdso::build`).

use crate::ksyms;
use crate::util::{self, debian_cargo, rel};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Which kernel to build.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildOpts {
    pub release: bool,
    /// Compile the in-kernel tests (`--features ktest`).
    pub ktest: bool,
    /// The `checked` profile (optimized, with debug assertions, overflow checks and lockdep);
    /// overrides `release`.
    pub checked: bool,
}

impl BuildOpts {
    fn profile(&self) -> &'static str {
        if self.checked {
            "checked"
        } else if self.release {
            "release"
        } else {
            "debug"
        }
    }

    /// `build/exo-kernel.elf` or `build/exo-kernel-test.elf`.
    pub fn output(&self, root: &Path) -> PathBuf {
        let name = match (self.ktest, self.checked) {
            (true, false) => "exo-kernel-test.elf",
            (true, true) => "exo-kernel-test-checked.elf",
            (false, false) => "exo-kernel.elf",
            (false, true) => "exo-kernel-checked.elf",
        };
        util::build_dir(root).join(name)
    }
}

pub const KERNEL_TARGET: &str = "x86_64-unknown-none";
const KERNEL_RUSTFLAGS: &str = "-C linker=ld -C linker-flavor=ld -C relocation-model=static \
    -C code-model=kernel -C force-frame-pointers=yes";

/// Build the kernel, embed its symbols and copy it to `build/`; returns the copied ELF.
pub fn build_kernel(root: &Path, opts: BuildOpts) -> Result<PathBuf> {
    util::ensure_packages(&[util::PKGS_BUILD])?;
    // The kernel embeds build/vdso.so (include_bytes!): build it first.
    crate::vdso::build(root)?;
    let what = if opts.ktest {
        "kernel with in-kernel tests"
    } else {
        "kernel"
    };
    println!("xtask: building the {what} ({})", opts.profile());
    let mut cmd = debian_cargo(root);
    cmd.env("RUSTC_BOOTSTRAP", "1")
        .env(
            "CARGO_TARGET_X86_64_UNKNOWN_NONE_RUSTFLAGS",
            KERNEL_RUSTFLAGS,
        )
        .args(["build", "-p", "exo-kernel", "--target", KERNEL_TARGET])
        .args([
            "-Zbuild-std=core,alloc,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ]);
    if opts.checked {
        cmd.args(["--profile", "checked"]);
    } else if opts.release {
        cmd.arg("--release");
    }
    if opts.ktest {
        // Both feature sets share cargo's output path; each result is copied to its own
        // file under build/, so switching between them costs only a relink.
        cmd.args(["--features", "ktest"]);
    }
    util::run_checked(&mut cmd).context("kernel build failed")?;

    let elf = util::exo_target_dir(root)
        .join(KERNEL_TARGET)
        .join(opts.profile())
        .join("exo-kernel");
    if !elf.is_file() {
        anyhow::bail!(
            "the kernel build succeeded but {} does not exist",
            elf.display()
        );
    }
    let out = opts.output(root);
    util::mkdirs(&util::build_dir(root))?;
    let n = ksyms::embed_symbols(root, &elf, &out)
        .with_context(|| format!("embedding the symbol table into {}", rel(root, &elf)))?;
    println!("xtask: {} ready ({n} symbols embedded)", rel(root, &out));
    Ok(out)
}
