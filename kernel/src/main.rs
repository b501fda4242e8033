//! Exo-OS kernel: the boot sequence from the first Rust function to the idle console.
//!
//! Order: timestamp → console (serial + VGA) and splash → logger → TSC calibration → boot
//! information and command line → memory management → scheduler, SMP → PCI and network devices →
//! (test build: in-kernel tests) → banner → optional crash test →
//! idle console. CPU tables are already set up by `arch::init_early` before `kernel_main` runs.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod arch;
mod block;
mod boot;
mod console;
mod crashtest;
mod debug;
mod drivers;
mod files;
mod fs;
mod ipc;
#[cfg(feature = "ktest")]
mod kbench;
#[cfg(feature = "ktest")]
mod ktest;
#[cfg(feature = "ktest")]
mod ktests;
mod lockdep;
mod memory;
mod monitor;
mod net;
mod netdev;
mod panic;
mod params;
mod pci;
mod power;
mod process;
mod random;
mod sched;
mod spinlock;
mod syscall;
mod time;
mod tty;
mod uaccess;

use exo_bootinfo::BootInfo;
use log::LevelFilter;

fn level_filter(level: exo_bootinfo::cmdline::LogLevel) -> LevelFilter {
    use exo_bootinfo::cmdline::LogLevel;
    match level {
        LogLevel::Error => LevelFilter::Error,
        LogLevel::Warn => LevelFilter::Warn,
        LogLevel::Info => LevelFilter::Info,
        LogLevel::Debug => LevelFilter::Debug,
        LogLevel::Trace => LevelFilter::Trace,
    }
}

/// Scheduler timer frequency on every CPU.
const TICK_HZ: u32 = 1000;

/// What SMP bring-up (`arch::smp`) gets from the memory manager: the local APIC's register
/// mapping, the master tree's root, the trampoline's identity mapping, the APs' stacks.
const SMP_MEMORY: arch::smp::SmpMemory = arch::smp::SmpMemory {
    map_registers: memory::paging::map_device_page,
    kernel_root: memory::paging::kernel_root,
    identity_map: memory::paging::identity_map_page,
    ap_stacks: memory::stacks::ap_stacks,
};

/// Where each application processor goes once the architecture code has set it up.
fn application_processor_main(_cpu: usize) -> ! {
    sched::start_tick(TICK_HZ);
    sched::run_application_processor()
}

/// The first Rust code: called by the architecture's start code (`kernel_start64`, by this
/// name) on the boot stack with interrupts off. `magic` is the PVH or Multiboot2 magic,
/// `info_paddr` the physical address of the loader's information structure.
#[no_mangle]
extern "C" fn exo_kernel_entry(magic: u32, info_paddr: u32) -> ! {
    arch::init_early();
    kernel_main(boot::Handoff { magic, info_paddr: u64::from(info_paddr) })
}

/// The generic kernel entry, once the CPU tables are set up.
fn kernel_main(handoff: boot::Handoff) -> ! {
    arch::set_kernel_handlers(arch::KernelHandlers {
        syscall: syscall::handle,
        syscall_table: &syscall::FAST_TABLE,
        syscall_exit_work: syscall::exit_work,
        return_to_user: process::return_to_user,
        preempt: sched::preempt_point,
        user_exception: process::user_exception,
        user_memory_fault: process::resolve_kernel_access,
        kernel_thread_fault,
        report: panic::report_exception,
        fatal_stop: panic::fatal_stop,
        on_kernel_stack: memory::is_on_kernel_stack,
        kernel_stack_slot: memory::stacks::slot_of,
    });
    time::init_early();
    console::splash::show();
    console::logger::init();
    let tsc_hz = time::calibrate();

    let (info, options) = match boot::parse(handoff) {
        Ok(info) => params::set(info),
        Err(error) => {
            log::error!("boot: cannot read the boot loader's information: {error} (magic {:#x})", handoff.magic);
            panic::fatal_stop()
        }
    };
    console::logger::set_level(level_filter(options.log_level));

    match time::init_wall_clock() {
        Some(now) => log::info!("time: {now} (CMOS RTC)"),
        None => log::warn!("time: the CMOS RTC gave no valid date; the wall clock starts at 0"),
    }
    let mut brand = [0u8; 48];
    log::info!("cpu: {}, TSC {}.{:03} MHz, XSAVE {}", arch::cpu_brand(&mut brand),
        tsc_hz / 1_000_000, tsc_hz / 1000 % 1000, if arch::xsave_enabled() { "on" } else { "off" });
    boot::print_summary();
    if let Err(error) = memory::init(info) {
        log::error!("memory: cannot start memory management: {error}");
        panic::fatal_stop();
    }
    if let Err(error) = sched::init(exo_sched::SchedConfig::default()) {
        log::error!("sched: cannot start the scheduler: {error:?}");
        panic::fatal_stop();
    }
    arch::set_rsdp_hint(arch::RsdpHint {
        paddr: info.rsdp,
        copy: info.rsdp_copy.as_ref().map(|copy| copy.as_bytes()),
        read_phys: memory::read_phys,
    });
    // SMP (arch::smp): the boot CPU's local APIC (and its calibrated timer) first.
    arch::smp::init_boot_cpu(&SMP_MEMORY);
    sched::start_tick(TICK_HZ);
    // The other CPUs start their tick and run threads from their idle loop.
    let cpus = arch::smp::start_application_processors(&SMP_MEMORY, application_processor_main);
    log::info!("smp: {cpus} CPU(s) online, scheduler tick every {} us", sched::tick_ns() / 1000);
    // The vDSO's pages, and its data page published from now on (the tick is set).
    process::vdso::init();
    process::cputime::init();
    arch::enable_interrupts();
    // PCI (after memory, interrupts and the scheduler: MSI-X vectors target the boot CPU's
    // local APIC), then the network devices on it.
    let functions = pci::init();
    let nics = netdev::probe();
    let disks = block::probe();
    log::info!("pci: {functions} function(s), {nics} network device(s), {disks} disk(s)");

    #[cfg(feature = "ktest")]
    if options.ktest.is_some() {
        ktest::run();
    }
    #[cfg(feature = "ktest")]
    if let Some(filter) = options.kbench.as_ref() {
        kbench::run(filter.as_str());
    }

    console::splash::welcome();
    let reset_us = time::since_reset_ns() / 1000;
    let kernel_us = time::since_boot_ns() / 1000;
    kprintln!("boot: banner after {reset_us} us since reset (TSC), {kernel_us} us in the kernel");

    if let Some(test) = options.crashtest {
        crashtest::run(test);
    }
    sched::watchdog::start();
    start_user_space(info);
    monitor::run()
}

/// A page fault of a kernel thread without a process on a tree it built itself (the in-kernel
/// tests' copy-on-write checks). A thread with a process never takes this path: its memory is
/// only changed under its memory map's lock.
#[cfg(feature = "ktest")]
fn kernel_thread_fault(cr2: u64, error: u64) -> bool {
    crate::process::current().is_none() && crate::memory::fault::handle(cr2, error)
}

/// Outside test builds no kernel thread works on a tree of its own.
#[cfg(not(feature = "ktest"))]
fn kernel_thread_fault(_cr2: u64, _error: u64) -> bool {
    false
}

/// Unpacks the initramfs (the first boot module) into the root file system, mounts the disk
/// `root=` names when there is no initramfs (with one, init switches to it, as Linux's initramfs
/// does), and starts PID 1. Without either, or if init cannot start, the kernel keeps its own
/// console.
fn start_user_space(info: &'static BootInfo) {
    let options = params::options();
    let initramfs = info.modules().first().and_then(memory::boot_module);
    let initramfs = initramfs.filter(|archive| {
        let valid = exo_cpio::entries(archive).next().is_some_and(|entry| entry.is_ok());
        if !valid {
            log::warn!("the boot module is not an initramfs (newc cpio archive): ignored");
        }
        valid
    });
    if initramfs.is_none() && options.root.is_none() {
        log::warn!("no initramfs and no root=: staying in the kernel console");
        return;
    }
    fs::init(initramfs);
    // Sockets: the /proc/net files; TCP/IP: lo, an interface per network card, ip= or DHCP,
    // the network thread.
    net::init();
    // The console TTY: its devices, input interrupts and signal thread (PID 1's stdio).
    tty::init();
    let rdinit = options.rdinit.as_ref().map(|s| s.as_str());
    let init = options.init.as_ref().map(|s| s.as_str());
    let context = match (initramfs, options.root.as_ref()) {
        (None, Some(root)) => {
            let fstype = options.rootfstype.as_ref().map(|s| s.as_str());
            let flags = options.rootflags.as_ref().map_or("", |s| s.as_str());
            // Linux mounts the root read-only unless `rw` is given.
            let read_only = options.root_read_only.unwrap_or(true);
            match fs::root_context(root.as_str(), fstype, flags, read_only) {
                Ok(context) => Ok(context),
                Err(error) => {
                    log::error!("root={}: cannot mount the root file system ({}): staying in the kernel console", root.as_str(), error.name());
                    return;
                }
            }
        }
        _ => fs::initial_context(),
    };
    // PID 1's stdio is /dev/console (which tty::init registered), its root and cwd `/`.
    let console = fs::devices::open(exo_abi::mode::makedev(5, 1), exo_abi::fcntl::O_RDWR | exo_abi::fcntl::O_NOCTTY);
    let started = console.and_then(|console| Ok((console, context?))).and_then(|(console, context)| {
        process::init::start(info.cmdline.as_str(), rdinit, init, console, context)
    });
    match started {
        Ok(()) => loop {
            // User space runs from here on; the boot thread has nothing left to do.
            sched::sleep_ns(u64::MAX / 4);
        },
        Err(error) => log::error!("init: cannot create pid 1: {}", error.name()),
    }
}
