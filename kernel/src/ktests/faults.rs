//! Tests of exception handling: each deliberate fault is caught, reported and survived.

use core::sync::atomic::Ordering;

use crate::arch::{self, Fault};
use crate::crashtest::{recurse, UNMAPPED_KERNEL_ADDRESS};
use crate::{kassert, kassert_eq, ktest};

fn vector_of(result: Result<(), Fault>) -> Option<u8> {
    match result {
        Err(Fault::Exception { vector, .. }) => Some(vector),
        _ => None,
    }
}

ktest!(fn breakpoint_is_reported_and_survived() {
    let before = arch::BREAKPOINTS.load(Ordering::SeqCst);
    arch::breakpoint();
    arch::breakpoint();
    kassert_eq!(arch::BREAKPOINTS.load(Ordering::SeqCst), before + 2);
    Ok(())
});

ktest!(fn page_fault_on_read_is_caught_with_address() {
    // SAFETY: deliberately faulting read inside a fault guard.
    let result = arch::run_guarded(|| unsafe {
        core::ptr::read_volatile(UNMAPPED_KERNEL_ADDRESS as *const u64);
    });
    match result {
        Err(Fault::Exception { vector, error_code, cr2, .. }) => {
            kassert_eq!(vector, 14);
            kassert_eq!(cr2, UNMAPPED_KERNEL_ADDRESS);
            kassert!(error_code & 0b11 == 0, "read of a non-present page, got {error_code:#x}");
        }
        other => kassert!(false, "expected a page fault, got {other:?}"),
    }
    Ok(())
});

ktest!(fn page_fault_on_null_write_is_caught() {
    // SAFETY: deliberately faulting write inside a fault guard (page 0 is identity-mapped at boot,
    // so use an address in the unmapped kernel range instead of literal null).
    let result = arch::run_guarded(|| unsafe {
        core::ptr::write_volatile((UNMAPPED_KERNEL_ADDRESS + 8) as *mut u64, 1);
    });
    match result {
        Err(Fault::Exception { vector: 14, error_code, .. }) => {
            kassert!(error_code & 2 != 0, "write bit should be set, got {error_code:#x}");
        }
        other => kassert!(false, "expected a page fault, got {other:?}"),
    }
    Ok(())
});

ktest!(fn non_canonical_access_raises_general_protection() {
    // SAFETY: deliberately faulting read inside a fault guard.
    let result = arch::run_guarded(|| unsafe {
        core::ptr::read_volatile(0x8000_0000_0000_0000u64 as *const u64);
    });
    kassert_eq!(vector_of(result), Some(13));
    Ok(())
});

ktest!(fn invalid_opcode_is_caught() {
    // SAFETY: ud2 raises #UD inside a fault guard; nothing else is touched.
    let result = arch::run_guarded(|| unsafe { core::arch::asm!("ud2") });
    kassert_eq!(vector_of(result), Some(6));
    Ok(())
});

ktest!(fn divide_by_zero_is_caught() {
    let divisor = core::hint::black_box(0u64);
    // SAFETY: a 64-bit div by zero raises #DE inside a fault guard; registers are declared.
    let result = arch::run_guarded(|| unsafe {
        core::arch::asm!("div {d}", d = in(reg) divisor, inout("rax") 1u64 => _, inout("rdx") 0u64 => _);
    });
    kassert_eq!(vector_of(result), Some(0));
    Ok(())
});

ktest!(fn stack_overflow_hits_guard_page_and_double_faults() {
    let result = arch::run_guarded(|| {
        core::hint::black_box(recurse(core::hint::black_box(1)));
    });
    match result {
        Err(Fault::Exception { vector, cr2, .. }) => {
            kassert_eq!(vector, 8);
            kassert!(crate::memory::is_stack_guard(cr2), "CR2 {cr2:#x} is not in the guard page");
        }
        other => kassert!(false, "expected a double fault, got {other:?}"),
    }
    Ok(())
});

ktest!(fn panic_inside_guard_is_contained() {
    let result = arch::run_guarded(|| panic!("deliberate panic inside a guard"));
    kassert_eq!(result, Err(Fault::Panic));
    Ok(())
});

ktest!(fn kernel_keeps_working_after_faults() {
    // After all the faults above the guard machinery still returns normally.
    let mut ran = false;
    kassert_eq!(arch::run_guarded(|| ran = true), Ok(()));
    kassert!(ran);
    Ok(())
});

ktest!(fn faulting_iret_to_user_becomes_the_threads_fault() {
    let before = arch::BAD_IRETS.load(Ordering::SeqCst);
    // The fault on the `iretq` arrives in kernel mode with the user's GS (it came after the
    // `swapgs`); the entry must swap back (else the per-CPU block is garbage) and hand the
    // fault to the thread as its own. A kernel thread without a process is then just ended.
    // SAFETY: the spawned thread exists only to be ended this way.
    let thread = crate::sched::spawn("bad-iret", || unsafe { arch::iret_with_bad_selector() })
        .map_err(|e| crate::ktest::TestFailure::new(format_args!("spawn: {e:?}")))?;
    kassert_eq!(thread.join(), -1);
    kassert_eq!(arch::BAD_IRETS.load(Ordering::SeqCst), before + 1);
    Ok(())
});
