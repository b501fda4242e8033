//! PS/2 keyboard (i8042 controller, IRQ 1): scancode set 1 (the controller translates), US
//! layout with Shift, Ctrl, Caps Lock and Alt (as an ESC prefix); arrows, Home/End, Insert,
//! Delete and Page Up/Down become the ANSI escape sequences a VT100-style terminal sends. The
//! resulting bytes go to the input function given to [`init`] (the console TTY).

use core::sync::atomic::{AtomicBool, Ordering};

// A leaf lock below the lock checker's layer (docs/ARCHITECTURE.md): a plain `spin::Mutex`.
use spin::Mutex;

use crate::arch::io::{inb, outb};

const DATA: u16 = 0x60;
const STATUS: u16 = 0x64;
const COMMAND: u16 = 0x64;
const STATUS_OUTPUT_FULL: u8 = 0x01;
const STATUS_INPUT_FULL: u8 = 0x02;
/// The keyboard's legacy IRQ line.
pub const KEYBOARD_IRQ: u8 = 1;

/// Unshifted and shifted characters of scancodes 0x00-0x39 (0 = no character).
const NORMAL: &[u8; 58] = b"\0\x1b1234567890-=\x7f\tqwertyuiop[]\r\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
const SHIFTED: &[u8; 58] = b"\0\x1b!@#$%^&*()_+\x7f\tQWERTYUIOP{}\r\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

/// Modifier and prefix state.
struct Keyboard {
    shift_left: bool,
    shift_right: bool,
    ctrl: bool,
    alt: bool,
    caps: bool,
    extended: bool,
}

static KEYBOARD: Mutex<Keyboard> =
    Mutex::new(Keyboard { shift_left: false, shift_right: false, ctrl: false, alt: false, caps: false, extended: false });
/// Where decoded bytes go.
static SINK: spin::Once<fn(&[u8])> = spin::Once::new();
static PRESENT: AtomicBool = AtomicBool::new(false);

impl Keyboard {
    /// Decodes one scancode byte into at most a few bytes of terminal input.
    fn decode(&mut self, code: u8, out: &mut [u8; 8]) -> usize {
        if code == 0xe0 {
            self.extended = true;
            return 0;
        }
        let extended = core::mem::replace(&mut self.extended, false);
        let release = code & 0x80 != 0;
        let key = code & 0x7f;
        match (extended, key) {
            (false, 0x2a) => self.shift_left = !release,
            (false, 0x36) => self.shift_right = !release,
            (_, 0x1d) => self.ctrl = !release,
            (_, 0x38) => self.alt = !release,
            (false, 0x3a) if !release => self.caps = !self.caps,
            _ if release => {}
            (true, _) => {
                let seq: &[u8] = match key {
                    0x48 => b"\x1b[A",
                    0x50 => b"\x1b[B",
                    0x4d => b"\x1b[C",
                    0x4b => b"\x1b[D",
                    0x47 => b"\x1b[H",
                    0x4f => b"\x1b[F",
                    0x52 => b"\x1b[2~",
                    0x53 => b"\x1b[3~",
                    0x49 => b"\x1b[5~",
                    0x51 => b"\x1b[6~",
                    0x1c => b"\r",
                    0x35 => b"/",
                    _ => b"",
                };
                out[..seq.len()].copy_from_slice(seq);
                return seq.len();
            }
            (false, key) => {
                let shift = self.shift_left || self.shift_right;
                let Some(&base) = NORMAL.get(usize::from(key)) else { return 0 };
                if base == 0 {
                    return 0;
                }
                let mut c = if shift { SHIFTED[usize::from(key)] } else { base };
                if self.caps && base.is_ascii_lowercase() {
                    c = if shift { base } else { base.to_ascii_uppercase() };
                }
                if self.ctrl {
                    c = match c {
                        b'a'..=b'z' | b'A'..=b'Z' => c & 0x1f,
                        b'@' | b'2' | b' ' => 0,
                        b'[' | b'3' => 0x1b,
                        b'\\' | b'4' => 0x1c,
                        b']' | b'5' => 0x1d,
                        b'^' | b'6' => 0x1e,
                        b'_' | b'-' | b'7' => 0x1f,
                        b'8' | b'?' => 0x7f,
                        _ => c,
                    };
                }
                let mut n = 0;
                if self.alt {
                    out[0] = 0x1b;
                    n = 1;
                }
                out[n] = c;
                return n + 1;
            }
        }
        0
    }
}

fn wait_input_empty() {
    for _ in 0..100_000 {
        if inb(STATUS) & STATUS_INPUT_FULL == 0 {
            return;
        }
        core::hint::spin_loop();
    }
}

fn interrupt() {
    let mut bytes = [0u8; 8];
    let mut n = 0;
    if inb(STATUS) & STATUS_OUTPUT_FULL != 0 {
        let code = inb(DATA);
        n = KEYBOARD.lock().decode(code, &mut bytes);
    }
    if let (true, Some(sink)) = (n > 0, SINK.get()) {
        sink(&bytes[..n]);
    }
}

/// Sets the controller up (keyboard interrupt on, translation to set 1 on) and sends the
/// decoded key presses to `sink`.
pub fn init(sink: fn(&[u8])) {
    SINK.call_once(|| sink);
    if PRESENT.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::arch::without_interrupts(|| {
        // Drain anything pending, then read, fix and write the configuration byte.
        for _ in 0..16 {
            if inb(STATUS) & STATUS_OUTPUT_FULL == 0 {
                break;
            }
            inb(DATA);
        }
        wait_input_empty();
        outb(COMMAND, 0x20);
        let mut config = 0x45;
        for _ in 0..100_000 {
            if inb(STATUS) & STATUS_OUTPUT_FULL != 0 {
                config = inb(DATA);
                break;
            }
            core::hint::spin_loop();
        }
        // Bit 0: port 1 interrupt; bit 4: port 1 clock disabled; bit 6: translation.
        config = (config | 0x01 | 0x40) & !0x10;
        wait_input_empty();
        outb(COMMAND, 0x60);
        wait_input_empty();
        outb(DATA, config);
        wait_input_empty();
        outb(COMMAND, 0xae);
    });
    crate::arch::register_irq(KEYBOARD_IRQ, interrupt);
}
