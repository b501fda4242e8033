//! Build script of the kernel: links the kernel with its own linker script.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=0x1000");
    println!("cargo:rustc-link-arg-bins=--no-dynamic-linker");
    // The boot segment is RWX on purpose: 32-bit entry code writes its page tables beside it.
    println!("cargo:rustc-link-arg-bins=--no-warn-rwx-segments");
    println!("cargo:rerun-if-changed=linker.ld");
}
