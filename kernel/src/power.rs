//! Powering the machine off and restarting it: what `reboot(2)` and init's poweroff reach.
//! Under QEMU with the isa-debug-exit device the power-off is an orderly exit (status 33);
//! otherwise the ACPI sleep state S5 of QEMU's chipsets is entered, then the CPU halts.

use crate::arch;

/// Powers the machine off. Never returns.
pub fn power_off() -> ! {
    crate::kprintln!("Power down.");
    arch::request_emulator_exit(arch::exit_code::SUCCESS);
    // The PM1a control registers of QEMU's q35 (ICH9, 0x604) and i440fx (PIIX4, 0xb004):
    // SLP_EN with the S5 sleep type.
    arch::io::outw(0x604, 0x2000);
    arch::io::outw(0xb004, 0x2000);
    arch::halt_forever()
}

/// Restarts the machine (keyboard-controller reset, then a triple fault). Never returns.
pub fn reboot() -> ! {
    crate::kprintln!("Restarting system.");
    // Command 0xfe to the 8042 keyboard controller pulses the CPU reset line.
    arch::io::outb(0x64, 0xfe);
    arch::halt_forever()
}
