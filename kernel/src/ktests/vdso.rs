//! Tests of the vDSO's kernel side: the data page holds what the clock uses (so the vDSO's
//! arithmetic, the same as `exo_clock::TscScale`, gives the syscalls' nanoseconds), and the
//! image frames hold the embedded ELF and are never the last reference.

use crate::process::vdso;
use crate::{kassert, kassert_eq, ktest};

ktest!(fn vdso_data_page_matches_the_clock() {
    let words = vdso::published();
    kassert!(words.is_some());
    let words = words.unwrap_or_default();
    let params = crate::time::params();
    kassert_eq!(words[0] & 1, 0);
    kassert_eq!(words[1], params.boot_tsc);
    kassert_eq!(words[2], params.scale.mult);
    kassert_eq!(words[3], u64::from(params.scale.shift));
    kassert_eq!(words[4], params.boot_unix_ns);
    kassert!(words[2] != 0);
    kassert_eq!(words[6], crate::sched::tick_ns().max(1));
    // The vDSO's computation for one TSC value equals the kernel's.
    let tsc = crate::arch::read_timestamp();
    let user = exo_clock::TscScale { mult: words[2], shift: words[3] as u32 }.ticks_to_ns(tsc.saturating_sub(words[1]));
    kassert_eq!(user, crate::time::ticks_to_ns(tsc.saturating_sub(params.boot_tsc)));
    Ok(())
});

ktest!(fn vdso_frames_hold_the_image_and_a_kernel_reference() {
    let frames = vdso::frames();
    kassert!(frames.is_some());
    let (vvar, text) = frames.unwrap_or_default();
    let image = vdso::image();
    kassert_eq!(text.len(), image.len().div_ceil(4096));
    let mut page = [0u8; 4];
    kassert!(crate::memory::read_phys(text[0], &mut page));
    kassert_eq!(&page, b"\x7fELF");
    for frame in core::iter::once(vvar).chain(text.iter().copied()) {
        kassert!(crate::memory::frames::refcount(frame) >= 1);
    }
    Ok(())
});
