//! Terminal settings: the kernel's `struct termios` (what `TCGETS`/`TCSETS` copy), `termios2`,
//! `struct winsize`, the `c_cc` indices, every flag bit, and Linux's settings for a fresh tty
//! ([`Termios::default_console`]).

use bytemuck::{Pod, Zeroable};

/// Number of control characters in the kernel's `struct termios`.
pub const NCCS: usize = 19;

/// `c_cc` indices.
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSWTC: usize = 7;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VDISCARD: usize = 13;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

/// `c_iflag` bits.
pub const IGNBRK: u32 = 0o1;
pub const BRKINT: u32 = 0o2;
pub const IGNPAR: u32 = 0o4;
pub const PARMRK: u32 = 0o10;
pub const INPCK: u32 = 0o20;
pub const ISTRIP: u32 = 0o40;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IUCLC: u32 = 0o1000;
pub const IXON: u32 = 0o2000;
pub const IXANY: u32 = 0o4000;
pub const IXOFF: u32 = 0o10000;
pub const IMAXBEL: u32 = 0o20000;
pub const IUTF8: u32 = 0o40000;

/// `c_oflag` bits.
pub const OPOST: u32 = 0o1;
pub const OLCUC: u32 = 0o2;
pub const ONLCR: u32 = 0o4;
pub const OCRNL: u32 = 0o10;
pub const ONOCR: u32 = 0o20;
pub const ONLRET: u32 = 0o40;
pub const OFILL: u32 = 0o100;
pub const OFDEL: u32 = 0o200;
pub const NLDLY: u32 = 0o400;
pub const NL0: u32 = 0o0;
pub const NL1: u32 = 0o400;
pub const CRDLY: u32 = 0o3000;
pub const CR0: u32 = 0o0;
pub const CR1: u32 = 0o1000;
pub const CR2: u32 = 0o2000;
pub const CR3: u32 = 0o3000;
pub const TABDLY: u32 = 0o14000;
pub const TAB0: u32 = 0o0;
pub const TAB1: u32 = 0o4000;
pub const TAB2: u32 = 0o10000;
pub const TAB3: u32 = 0o14000;
pub const XTABS: u32 = 0o14000;
pub const BSDLY: u32 = 0o20000;
pub const BS0: u32 = 0o0;
pub const BS1: u32 = 0o20000;
pub const VTDLY: u32 = 0o40000;
pub const VT0: u32 = 0o0;
pub const VT1: u32 = 0o40000;
pub const FFDLY: u32 = 0o100000;
pub const FF0: u32 = 0o0;
pub const FF1: u32 = 0o100000;

/// `c_cflag` bits and baud rates.
pub const CBAUD: u32 = 0o10017;
pub const B0: u32 = 0o0;
pub const B50: u32 = 0o1;
pub const B75: u32 = 0o2;
pub const B110: u32 = 0o3;
pub const B134: u32 = 0o4;
pub const B150: u32 = 0o5;
pub const B200: u32 = 0o6;
pub const B300: u32 = 0o7;
pub const B600: u32 = 0o10;
pub const B1200: u32 = 0o11;
pub const B1800: u32 = 0o12;
pub const B2400: u32 = 0o13;
pub const B4800: u32 = 0o14;
pub const B9600: u32 = 0o15;
pub const B19200: u32 = 0o16;
pub const B38400: u32 = 0o17;
pub const CSIZE: u32 = 0o60;
pub const CS5: u32 = 0o0;
pub const CS6: u32 = 0o20;
pub const CS7: u32 = 0o40;
pub const CS8: u32 = 0o60;
pub const CSTOPB: u32 = 0o100;
pub const CREAD: u32 = 0o200;
pub const PARENB: u32 = 0o400;
pub const PARODD: u32 = 0o1000;
pub const HUPCL: u32 = 0o2000;
pub const CLOCAL: u32 = 0o4000;
pub const CBAUDEX: u32 = 0o10000;
/// `termios2`: the speed is in `c_ispeed`/`c_ospeed`.
pub const BOTHER: u32 = 0o10000;
pub const B57600: u32 = 0o10001;
pub const B115200: u32 = 0o10002;
pub const B230400: u32 = 0o10003;
pub const B460800: u32 = 0o10004;
pub const B500000: u32 = 0o10005;
pub const B576000: u32 = 0o10006;
pub const B921600: u32 = 0o10007;
pub const B1000000: u32 = 0o10010;
pub const B1152000: u32 = 0o10011;
pub const B1500000: u32 = 0o10012;
pub const B2000000: u32 = 0o10013;
pub const B2500000: u32 = 0o10014;
pub const B3000000: u32 = 0o10015;
pub const B3500000: u32 = 0o10016;
pub const B4000000: u32 = 0o10017;
/// Input baud rate (when different from the output one), shifted by `IBSHIFT`.
pub const CIBAUD: u32 = 0o2003600000;
pub const IBSHIFT: u32 = 16;
pub const CMSPAR: u32 = 0o10000000000;
pub const CRTSCTS: u32 = 0o20000000000;

/// `c_lflag` bits.
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const XCASE: u32 = 0o4;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const TOSTOP: u32 = 0o400;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOPRT: u32 = 0o2000;
pub const ECHOKE: u32 = 0o4000;
pub const FLUSHO: u32 = 0o10000;
pub const PENDIN: u32 = 0o40000;
pub const IEXTEN: u32 = 0o100000;
pub const EXTPROC: u32 = 0o200000;

/// `TCFLSH` arguments.
pub const TCIFLUSH: u32 = 0;
pub const TCOFLUSH: u32 = 1;
pub const TCIOFLUSH: u32 = 2;
/// `TCXONC` arguments.
pub const TCOOFF: u32 = 0;
pub const TCOON: u32 = 1;
pub const TCIOFF: u32 = 2;
pub const TCION: u32 = 3;
/// `tcsetattr` actions (libc maps them to TCSETS, TCSETSW, TCSETSF).
pub const TCSANOW: u32 = 0;
pub const TCSADRAIN: u32 = 1;
pub const TCSAFLUSH: u32 = 2;

/// The default line discipline.
pub const N_TTY: u8 = 0;

/// The kernel's `struct termios` (36 bytes) as `TCGETS`/`TCSETS` copy it. Not glibc's, which
/// has 32 control characters and speed fields.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; NCCS],
}

/// `struct termios2` (44 bytes) for `TCGETS2`/`TCSETS2`: [`Termios`] plus explicit speeds.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Termios2 {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; NCCS],
    pub c_ispeed: u32,
    pub c_ospeed: u32,
}

/// Linux's initial control characters: ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, VSWTC 0, ^Q ^S ^Z,
/// VEOL 0, ^R ^O ^W ^V, VEOL2 0 (the last two slots are unused).
const INIT_C_CC: [u8; NCCS] = [
    0x03, 0x1c, 0x7f, 0x15, 0x04, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0,
];

impl Termios {
    /// The settings of a freshly opened Linux tty: cooked mode with echo and signals, CR→NL
    /// on input, NL→CRNL on output, 38400 baud 8N1.
    pub const fn default_console() -> Termios {
        Termios {
            c_iflag: ICRNL | IXON,
            c_oflag: OPOST | ONLCR,
            c_cflag: B38400 | CS8 | CREAD | HUPCL,
            c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            c_line: N_TTY,
            c_cc: INIT_C_CC,
        }
    }
}

/// `struct winsize` (8 bytes) for `TIOCGWINSZ`/`TIOCSWINSZ`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts() {
        assert_eq!(size_of::<Termios>(), 36);
        assert_eq!(offset_of!(Termios, c_lflag), 12);
        assert_eq!(offset_of!(Termios, c_line), 16);
        assert_eq!(offset_of!(Termios, c_cc), 17);
        assert_eq!(size_of::<Termios2>(), 44);
        assert_eq!(offset_of!(Termios2, c_ispeed), 36);
        assert_eq!(size_of::<Winsize>(), 8);
        assert_eq!(offset_of!(Winsize, ws_col), 2);
        assert_eq!(offset_of!(Winsize, ws_ypixel), 6);
    }

    #[test]
    fn default_console_matches_linux() {
        let t = Termios::default_console();
        // `stty -g` on a fresh Linux pty prints 500:5:bf:8a3b; a console adds HUPCL (0x400).
        assert_eq!(
            (t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag),
            (0x500, 0x5, 0x4bf, 0x8a3b)
        );
        assert_eq!(t.c_cc[VINTR], 3);
        assert_eq!(t.c_cc[VQUIT], 0x1c);
        assert_eq!(t.c_cc[VERASE], 0x7f);
        assert_eq!(t.c_cc[VKILL], 0x15);
        assert_eq!(t.c_cc[VEOF], 4);
        assert_eq!((t.c_cc[VTIME], t.c_cc[VMIN]), (0, 1));
        assert_eq!(
            (t.c_cc[VSTART], t.c_cc[VSTOP], t.c_cc[VSUSP]),
            (0x11, 0x13, 0x1a)
        );
        assert_eq!((t.c_cc[VREPRINT], t.c_cc[VDISCARD]), (0x12, 0x0f));
        assert_eq!(
            (t.c_cc[VWERASE], t.c_cc[VLNEXT], t.c_cc[VEOL2]),
            (0x17, 0x16, 0)
        );
    }

    #[test]
    fn flags_match_linux() {
        assert_eq!(
            (ICRNL, IXON, IUTF8, BRKINT, ISTRIP),
            (0x100, 0x400, 0x4000, 0x2, 0x20)
        );
        assert_eq!((OPOST, ONLCR), (1, 4));
        assert_eq!(
            (CS8, CREAD, HUPCL, CLOCAL, B38400),
            (0x30, 0x80, 0x400, 0x800, 0xf)
        );
        assert_eq!(
            (ISIG, ICANON, ECHO, ECHOE, ECHOK, ECHONL),
            (1, 2, 8, 0x10, 0x20, 0x40)
        );
        assert_eq!(
            (NOFLSH, TOSTOP, ECHOCTL, ECHOKE, IEXTEN),
            (0x80, 0x100, 0x200, 0x800, 0x8000)
        );
        assert_eq!((CBAUD, B115200, CRTSCTS), (0x100f, 0x1002, 0x8000_0000));
    }
}
