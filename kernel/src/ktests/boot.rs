//! Tests of what boot produced: the boot information, the symbol table and backtraces.

use exo_bootinfo::MemoryKind;

use crate::params::boot_info;
use crate::{debug, kassert, kassert_eq, ktest};

extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

ktest!(fn boot_info_has_a_sane_memory_map() {
    let Some(info) = boot_info() else { return Err(crate::ktest::TestFailure::new(format_args!("no boot info"))) };
    let regions = info.memory_map.regions();
    kassert!(!regions.is_empty(), "empty memory map");
    kassert!(regions.windows(2).all(|w| w[0].end <= w[1].start), "regions overlap or are unsorted");
    kassert!(info.memory_map.total_usable() >= 64 << 20, "less than 64 MiB usable");
    // The kernel image was loaded into usable RAM.
    let start = (&raw const __kernel_phys_start) as u64;
    let end = (&raw const __kernel_phys_end) as u64;
    let inside = regions.iter().any(|r| r.kind == MemoryKind::Usable && r.start <= start && end <= r.end);
    kassert!(inside, "kernel image {start:#x}..{end:#x} is not inside usable memory");
    Ok(())
});

ktest!(fn command_line_reached_the_kernel() {
    let Some(info) = boot_info() else { return Err(crate::ktest::TestFailure::new(format_args!("no boot info"))) };
    kassert!(info.cmdline.as_str().contains("ktest"), "cmdline {:?}", info.cmdline.as_str());
    kassert!(crate::params::options().ktest.is_some());
    Ok(())
});

#[inline(never)]
fn symbolize_me() -> u64 {
    core::hint::black_box(symbolize_me as *const () as u64)
}

ktest!(fn symbol_table_names_kernel_functions() {
    let Some(table) = debug::symbols() else { return Err(crate::ktest::TestFailure::new(format_args!("no .ksyms table embedded"))) };
    kassert!(table.len() > 100, "only {} symbols", table.len());
    let addr = symbolize_me();
    match table.lookup(addr + 1) {
        Some((name, offset)) => {
            kassert!(name.ends_with("symbolize_me"), "looked up {name}");
            kassert_eq!(offset, 1);
        }
        None => kassert!(false, "no symbol for {addr:#x}"),
    }
    Ok(())
});

#[inline(never)]
fn collect_backtrace(out: &mut [u64; 8]) -> usize {
    let mut n = 0;
    crate::arch::walk_stack(crate::arch::current_frame_pointer(), |ret| {
        if n < out.len() {
            out[n] = ret;
            n += 1;
        }
    });
    core::hint::black_box(n)
}

#[inline(never)]
fn backtrace_outer(out: &mut [u64; 8]) -> usize {
    core::hint::black_box(collect_backtrace(out))
}

ktest!(fn backtrace_walks_frame_pointers() {
    let mut frames = [0u64; 8];
    let n = backtrace_outer(&mut frames);
    kassert!(n >= 3, "only {n} frames");
    let Some(table) = debug::symbols() else { return Err(crate::ktest::TestFailure::new(format_args!("no symbols"))) };
    let first = table.lookup(frames[0] - 1).map(|(name, _)| name).unwrap_or("?");
    kassert!(first.ends_with("backtrace_outer"), "first caller is {first}");
    Ok(())
});

ktest!(fn wall_clock_comes_from_the_rtc_and_advances() {
    let now = crate::time::realtime_ns();
    kassert!(now > 0, "no wall clock");
    let date = exo_clock::DateTime::from_unix((now / 1_000_000_000) as i64);
    kassert!((2024..=2100).contains(&date.year), "implausible date {date}");
    crate::sched::sleep_ns(10_000_000);
    let later = crate::time::realtime_ns();
    kassert!(later >= now + 10_000_000, "wall clock advanced only {} ns in a 10 ms sleep", later - now);
    // The wall clock and a fresh RTC read agree within a couple of seconds.
    let rtc = crate::arch::read_rtc().decode().and_then(|d| d.to_unix()).unwrap_or(0);
    let diff = (later / 1_000_000_000) as i64 - rtc;
    kassert!(diff.abs() <= 2, "wall clock {later} ns vs RTC {rtc} s");
    Ok(())
});
