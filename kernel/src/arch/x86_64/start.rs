//! The first instructions of Exo-OS: the two boot entries (PVH and Multiboot2), the boot page
//! tables and the switch from 32-bit protected mode to 64-bit long mode in the higher half.
//!
//! Both loaders enter in 32-bit protected mode with paging off:
//! - PVH (QEMU `-kernel`): at the address in the `XEN_ELFNOTE_PHYS32_ENTRY` note, `ebx` = physical
//!   address of the `hvm_start_info` structure;
//! - Multiboot2 (GRUB): at the ELF entry, `eax` = 0x36d76289, `ebx` = physical address of the
//!   boot information structure.
//!
//! The common path checks for long mode, builds the boot page tables (identity map and direct map
//! of the first 4 GiB with 2 MiB pages; the kernel window at -2 GiB with 4 KiB pages over the first
//! 16 MiB so the boot stack's guard page can stay unmapped), enables PAE, long mode, NX and paging,
//! and jumps to `kernel_start64` in the higher half, which calls [`kernel_entry`] with
//! `(protocol magic, info physical address)`.

use core::arch::global_asm;

/// The value `edi` holds on entry to Rust when the kernel was entered through PVH.
pub const PVH_MAGIC: u32 = 0x336e_c578;

global_asm!(
    r#"
    .section .multiboot2_header, "a"
    .balign 8
mb2_header_start:
    .long 0xe85250d6
    .long 0
    .long mb2_header_end - mb2_header_start
    .long 0x100000000 - (0xe85250d6 + (mb2_header_end - mb2_header_start))
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .balign 4
    .quad pvh_entry
    .balign 4

    .section .boot.text, "ax"
    .code32
    .global mb2_entry
mb2_entry:
    mov edi, eax
    mov esi, ebx
    jmp boot32_common

    .global pvh_entry
pvh_entry:
    mov edi, {pvh_magic}
    mov esi, ebx

boot32_common:
    cli
    cld
    mov esp, offset boot_stack32_top

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb boot32_no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 0x20000000
    jz boot32_no_long_mode
    mov ebp, edx

    mov eax, offset boot_pdpt_low
    or eax, 3
    mov dword ptr [boot_pml4], eax
    mov dword ptr [boot_pml4 + 256 * 8], eax
    mov eax, offset boot_pdpt_high
    or eax, 3
    mov dword ptr [boot_pml4 + 511 * 8], eax

    xor ecx, ecx
.Lpdpt_low:
    mov eax, ecx
    shl eax, 12
    add eax, offset boot_pd_low
    or eax, 3
    mov dword ptr [boot_pdpt_low + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .Lpdpt_low

    xor ecx, ecx
.Lpd_low:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov dword ptr [boot_pd_low + ecx * 8], eax
    inc ecx
    cmp ecx, 2048
    jb .Lpd_low

    mov eax, offset boot_pd_high
    or eax, 3
    mov dword ptr [boot_pdpt_high + 510 * 8], eax

    xor ecx, ecx
.Lpd_high:
    cmp ecx, 8
    jae .Lpd_high_large
    mov eax, ecx
    shl eax, 12
    add eax, offset boot_pt_kernel
    or eax, 3
    jmp .Lpd_high_store
.Lpd_high_large:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
.Lpd_high_store:
    mov dword ptr [boot_pd_high + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jb .Lpd_high

    xor ecx, ecx
.Lpt_kernel:
    mov eax, ecx
    shl eax, 12
    cmp eax, offset __boot_stack_guard_phys
    je .Lpt_kernel_next
    or eax, 3
    mov dword ptr [boot_pt_kernel + ecx * 8], eax
.Lpt_kernel_next:
    inc ecx
    cmp ecx, 4096
    jb .Lpt_kernel

    mov eax, offset boot_pml4
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x100
    test ebp, 0x100000
    jz .Lno_nx
    or eax, 0x800
.Lno_nx:
    wrmsr
    mov eax, cr0
    or eax, 0x80010001
    mov cr0, eax
    lgdt [boot_gdt_ptr]
    // Far jump to the 64-bit code segment (ptr16:32 form, encoded by hand).
    .byte 0xea
    .long boot64
    .short 0x08

boot32_no_long_mode:
    mov esi, offset boot_no_long_mode_msg
.Lmsg:
    lodsb
    test al, al
    jz .Lhalt32
    mov dx, 0x3f8
    out dx, al
    jmp .Lmsg
.Lhalt32:
    cli
    hlt
    jmp .Lhalt32

    .code64
boot64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    movabs rax, offset kernel_start64
    jmp rax

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_ptr:
    .short boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt
boot_no_long_mode_msg:
    .asciz "Exo-OS: this CPU has no 64-bit long mode; halting.\r\n"

    .section .boot.bss, "aw", @nobits
    .balign 4096
    .global boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt_low:
    .skip 4096
boot_pdpt_high:
    .skip 4096
boot_pd_high:
    .skip 4096
boot_pd_low:
    .skip 4096 * 4
boot_pt_kernel:
    .skip 4096 * 8
boot_stack32:
    .skip 4096
boot_stack32_top:

    .section .text.kernel_start64, "ax"
    .global kernel_start64
kernel_start64:
    lea rsp, [rip + __boot_stack_top]
    xor ebp, ebp
    call exo_kernel_entry
.Lspin64:
    cli
    hlt
    jmp .Lspin64
"#,
    pvh_magic = const PVH_MAGIC,
);

// `kernel_start64` calls `exo_kernel_entry(magic, info_paddr)` (System V: edi, esi), the first
// Rust code, defined by the generic kernel (`main.rs`) and linked by name, so that the
// architecture code names no layer above it: `magic` is [`PVH_MAGIC`] for PVH or the Multiboot2
// loader magic, `info_paddr` the physical address of the loader's information structure.
