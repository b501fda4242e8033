//! The application-processor start-up trampoline: real-mode code that a start-up IPI runs at
//! [`TRAMPOLINE_PHYS`], taking the CPU straight from 16-bit real mode to 64-bit long mode and
//! into a Rust entry in the higher half.
//!
//! Page 0x8000 (below 1 MiB, as start-up IPIs require; the frame allocator reserves the whole
//! first MiB, so the page belongs to this code) holds the code copied from the kernel image at
//! offset 0, and at fixed offsets the parameters the boot CPU writes for each AP: a 3-entry GDT
//! (null, 64-bit code 0x08, data 0x10) with its GDTR, CR0/CR3/CR4/EFER values, the stack top, the
//! entry address and its argument. The code enables PAE (CR4), loads the kernel's master page
//! tree (CR3, below 4 GiB), sets EFER.LME(+NXE), then sets CR0.PE and CR0.PG together and far-jumps
//! to the 64-bit code segment, which loads the stack and jumps to the entry. The master tree has
//! no identity map, so `smp.rs` identity-maps this page during bring-up and removes it after.

use core::arch::global_asm;

/// Physical (and, during bring-up, identity-mapped virtual) address of the trampoline page.
pub const TRAMPOLINE_PHYS: u64 = 0x8000;
/// The start-up IPI vector: the page number.
pub const TRAMPOLINE_PAGE: u8 = (TRAMPOLINE_PHYS >> 12) as u8;

/// Offsets of the parameter area inside the page.
const GDT: u64 = 0xe00;
const GDTR: u64 = 0xe20;
const CR0: u64 = 0xf00;
const CR3: u64 = 0xf08;
const CR4: u64 = 0xf10;
const EFER: u64 = 0xf18;
const STACK: u64 = 0xf20;
const ENTRY: u64 = 0xf28;
const ARG: u64 = 0xf30;

global_asm!(
    r#"
    .section .text.ap_trampoline, "ax"
    .global ap_trampoline_start
    .global ap_trampoline_end
    .code16
ap_trampoline_start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    lgdt [{gdtr}]
    mov eax, dword ptr [{cr4}]
    mov cr4, eax
    mov eax, dword ptr [{cr3}]
    mov cr3, eax
    mov ecx, 0xc0000080
    mov eax, dword ptr [{efer}]
    xor edx, edx
    wrmsr
    mov eax, dword ptr [{cr0}]
    mov cr0, eax
    .byte 0x66, 0xea
    .long {base} + (ap_trampoline_long - ap_trampoline_start)
    .word 0x08
    .code64
ap_trampoline_long:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, qword ptr [{stack}]
    mov rdi, qword ptr [{arg}]
    mov rax, qword ptr [{entry}]
    xor ebp, ebp
    push 0
    jmp rax
ap_trampoline_end:
    .text
"#,
    base = const TRAMPOLINE_PHYS,
    gdtr = const TRAMPOLINE_PHYS + GDTR,
    cr0 = const TRAMPOLINE_PHYS + CR0,
    cr3 = const TRAMPOLINE_PHYS + CR3,
    cr4 = const TRAMPOLINE_PHYS + CR4,
    efer = const TRAMPOLINE_PHYS + EFER,
    stack = const TRAMPOLINE_PHYS + STACK,
    entry = const TRAMPOLINE_PHYS + ENTRY,
    arg = const TRAMPOLINE_PHYS + ARG,
);

extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
}

/// What one AP needs to reach its Rust entry.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
    pub stack_top: u64,
    pub entry: u64,
    pub arg: u64,
}

/// The trampoline page through the boot direct map (which covers the first
/// `BOOT_DIRECT_MAP_SIZE` bytes of physical memory).
fn page() -> Option<*mut u8> {
    (TRAMPOLINE_PHYS + 4096 <= super::BOOT_DIRECT_MAP_SIZE).then(|| (super::DIRECT_MAP_BASE + TRAMPOLINE_PHYS) as *mut u8)
}

/// Copies the code and the GDT into the trampoline page. Returns false when the direct map
/// does not reach it or the code does not fit.
pub fn install() -> bool {
    let start = &raw const ap_trampoline_start;
    let len = (&raw const ap_trampoline_end) as usize - start as usize;
    let Some(page) = page() else { return false };
    if len > GDT as usize {
        return false;
    }
    // 64-bit code (L, P, S, exec/read), data (P, S, read/write).
    let gdt: [u64; 3] = [0, 0x0020_9a00_0000_0000, 0x0000_9200_0000_0000];
    let gdt_base = (TRAMPOLINE_PHYS + GDT) as u32;
    // SAFETY: the page at TRAMPOLINE_PHYS is reserved for this code (the frame allocator never
    // hands out the first MiB) and mapped writable in the direct map; the code is `len` bytes
    // of kernel text, which fit below the parameter area (checked above).
    unsafe {
        core::ptr::copy_nonoverlapping(start, page, len);
        core::ptr::write_volatile(page.add(GDT as usize).cast::<[u64; 3]>(), gdt);
        core::ptr::write_volatile(page.add(GDTR as usize).cast::<u16>(), 23);
        core::ptr::write_unaligned(page.add(GDTR as usize + 2).cast::<u32>(), gdt_base);
    }
    true
}

/// Writes the parameters for the next AP.
pub fn set_params(p: &Params) {
    let Some(page) = page() else { return };
    for (offset, value) in [
        (CR0, p.cr0), (CR3, p.cr3), (CR4, p.cr4), (EFER, p.efer),
        (STACK, p.stack_top), (ENTRY, p.entry), (ARG, p.arg),
    ] {
        // SAFETY: 8-byte aligned slots of the parameter area of the reserved trampoline page.
        unsafe { core::ptr::write_volatile(page.add(offset as usize).cast::<u64>(), value) };
    }
}
