//! `ioctl` request numbers: the terminal and generic file requests Linux x86-64 uses, and the
//! `_IOC` encoding of newer requests ([`ioc`], [`io`], [`ior`], [`iow`], [`iowr`]).

/// `_IOC` direction: no data.
pub const IOC_NONE: u32 = 0;
/// `_IOC` direction: user space writes (the kernel reads the argument).
pub const IOC_WRITE: u32 = 1;
/// `_IOC` direction: user space reads (the kernel writes the argument).
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`: nr in bits 0..8, type 8..16, size 16..30, dir 30..32.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << 30) | (((size as u32) & 0x3fff) << 16) | ((ty as u32) << 8) | nr as u32
}

pub const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// The argument size encoded in a `_IOC` request.
pub const fn ioc_size(request: u32) -> usize {
    ((request >> 16) & 0x3fff) as usize
}

/// The direction encoded in a `_IOC` request.
pub const fn ioc_dir(request: u32) -> u32 {
    request >> 30
}

pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TCGETA: u32 = 0x5405;
pub const TCSETA: u32 = 0x5406;
pub const TCSETAW: u32 = 0x5407;
pub const TCSETAF: u32 = 0x5408;
pub const TCSBRK: u32 = 0x5409;
pub const TCXONC: u32 = 0x540A;
pub const TCFLSH: u32 = 0x540B;
pub const TIOCEXCL: u32 = 0x540C;
pub const TIOCNXCL: u32 = 0x540D;
pub const TIOCSCTTY: u32 = 0x540E;
pub const TIOCGPGRP: u32 = 0x540F;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCOUTQ: u32 = 0x5411;
pub const TIOCSTI: u32 = 0x5412;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const TIOCMGET: u32 = 0x5415;
pub const TIOCMBIS: u32 = 0x5416;
pub const TIOCMBIC: u32 = 0x5417;
pub const TIOCMSET: u32 = 0x5418;
pub const TIOCGSOFTCAR: u32 = 0x5419;
pub const TIOCSSOFTCAR: u32 = 0x541A;
pub const FIONREAD: u32 = 0x541B;
pub const TIOCINQ: u32 = FIONREAD;
pub const TIOCLINUX: u32 = 0x541C;
pub const TIOCCONS: u32 = 0x541D;
pub const TIOCGSERIAL: u32 = 0x541E;
pub const TIOCSSERIAL: u32 = 0x541F;
pub const TIOCPKT: u32 = 0x5420;
pub const FIONBIO: u32 = 0x5421;
pub const TIOCNOTTY: u32 = 0x5422;
pub const TIOCSETD: u32 = 0x5423;
pub const TIOCGETD: u32 = 0x5424;
pub const TCSBRKP: u32 = 0x5425;
pub const TIOCSBRK: u32 = 0x5427;
pub const TIOCCBRK: u32 = 0x5428;
pub const TIOCGSID: u32 = 0x5429;
/// `_IOR('T', 0x2A, struct termios2)`.
pub const TCGETS2: u32 = ior(b'T', 0x2A, 44);
pub const TCSETS2: u32 = iow(b'T', 0x2B, 44);
pub const TCSETSW2: u32 = iow(b'T', 0x2C, 44);
pub const TCSETSF2: u32 = iow(b'T', 0x2D, 44);
pub const TIOCGRS485: u32 = 0x542E;
pub const TIOCSRS485: u32 = 0x542F;
/// `_IOR('T', 0x30, unsigned int)`: the pty number of a master.
pub const TIOCGPTN: u32 = ior(b'T', 0x30, 4);
/// `_IOW('T', 0x31, int)`: lock/unlock a pty slave.
pub const TIOCSPTLCK: u32 = iow(b'T', 0x31, 4);
pub const TIOCGDEV: u32 = ior(b'T', 0x32, 4);
pub const TCGETX: u32 = 0x5432;
pub const TCSETX: u32 = 0x5433;
pub const TCSETXF: u32 = 0x5434;
pub const TCSETXW: u32 = 0x5435;
pub const TIOCSIG: u32 = iow(b'T', 0x36, 4);
pub const TIOCVHANGUP: u32 = 0x5437;
pub const TIOCGPKT: u32 = ior(b'T', 0x38, 4);
pub const TIOCGPTLCK: u32 = ior(b'T', 0x39, 4);
pub const TIOCGEXCL: u32 = ior(b'T', 0x40, 4);
/// `_IO('T', 0x41)`: open the slave of a pty master.
pub const TIOCGPTPEER: u32 = io(b'T', 0x41);
pub const FIONCLEX: u32 = 0x5450;
pub const FIOCLEX: u32 = 0x5451;
pub const FIOASYNC: u32 = 0x5452;
pub const TIOCSERCONFIG: u32 = 0x5453;
pub const TIOCSERGWILD: u32 = 0x5454;
pub const TIOCSERSWILD: u32 = 0x5455;
pub const TIOCGLCKTRMIOS: u32 = 0x5456;
pub const TIOCSLCKTRMIOS: u32 = 0x5457;
pub const TIOCSERGSTRUCT: u32 = 0x5458;
pub const TIOCSERGETLSR: u32 = 0x5459;
pub const TIOCSERGETMULTI: u32 = 0x545A;
pub const TIOCSERSETMULTI: u32 = 0x545B;
pub const TIOCMIWAIT: u32 = 0x545C;
pub const TIOCGICOUNT: u32 = 0x545D;
pub const FIOQSIZE: u32 = 0x5460;

/// `TIOCPKT` packet-mode status bits.
pub const TIOCPKT_DATA: u8 = 0;
pub const TIOCPKT_FLUSHREAD: u8 = 1;
pub const TIOCPKT_FLUSHWRITE: u8 = 2;
pub const TIOCPKT_STOP: u8 = 4;
pub const TIOCPKT_START: u8 = 8;
pub const TIOCPKT_NOSTOP: u8 = 16;
pub const TIOCPKT_DOSTOP: u8 = 32;
pub const TIOCPKT_IOCTL: u8 = 64;

/// Modem lines (`TIOCMGET`, ...).
pub const TIOCM_LE: u32 = 0x001;
pub const TIOCM_DTR: u32 = 0x002;
pub const TIOCM_RTS: u32 = 0x004;
pub const TIOCM_ST: u32 = 0x008;
pub const TIOCM_SR: u32 = 0x010;
pub const TIOCM_CTS: u32 = 0x020;
pub const TIOCM_CAR: u32 = 0x040;
pub const TIOCM_RNG: u32 = 0x080;
pub const TIOCM_DSR: u32 = 0x100;

/// Socket-layer owner requests, also accepted on other files.
pub const FIOSETOWN: u32 = 0x8901;
pub const SIOCSPGRP: u32 = 0x8902;
pub const FIOGETOWN: u32 = 0x8903;
pub const SIOCGPGRP: u32 = 0x8904;

/// Generic file requests (`_IO(0x00, n)`).
pub const FIBMAP: u32 = io(0x00, 1);
pub const FIGETBSZ: u32 = io(0x00, 2);
/// `_IOR(0x12, 114, size_t)`: block device size in bytes.
pub const BLKGETSIZE64: u32 = ior(0x12, 114, 8);
/// Block device requests of `linux/fs.h` (`_IO(0x12, n)`): read-only flag (set/get), size in
/// 512-byte sectors (an `unsigned long`), re-read the partition table, flush the buffers,
/// logical sector size (an `int`), physical block size (`unsigned int`), soft block size.
pub const BLKROSET: u32 = io(0x12, 93);
pub const BLKROGET: u32 = io(0x12, 94);
pub const BLKRRPART: u32 = io(0x12, 95);
pub const BLKGETSIZE: u32 = io(0x12, 96);
pub const BLKFLSBUF: u32 = io(0x12, 97);
pub const BLKSSZGET: u32 = io(0x12, 104);
pub const BLKBSZGET: u32 = ior(0x12, 112, 8);
pub const BLKPBSZGET: u32 = io(0x12, 123);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_requests_match_linux() {
        assert_eq!(
            (TCGETS, TCSETS, TCSETSW, TCSETSF),
            (0x5401, 0x5402, 0x5403, 0x5404)
        );
        assert_eq!((TIOCSCTTY, TIOCGPGRP, TIOCSPGRP), (0x540E, 0x540F, 0x5410));
        assert_eq!((TIOCGWINSZ, TIOCSWINSZ, FIONREAD), (0x5413, 0x5414, 0x541B));
        assert_eq!((FIONBIO, TIOCNOTTY, TIOCGSID), (0x5421, 0x5422, 0x5429));
        assert_eq!((FIONCLEX, FIOCLEX, FIOASYNC), (0x5450, 0x5451, 0x5452));
    }

    #[test]
    fn ioc_encoding() {
        assert_eq!(TIOCGPTN, 0x8004_5430);
        assert_eq!(TIOCSPTLCK, 0x4004_5431);
        assert_eq!(TIOCGPTPEER, 0x5441);
        assert_eq!(TCGETS2, 0x802C_542A);
        assert_eq!(TCSETS2, 0x402C_542B);
        assert_eq!(BLKGETSIZE64, 0x8008_1272);
        assert_eq!((BLKROGET, BLKRRPART, BLKGETSIZE, BLKFLSBUF, BLKSSZGET, BLKPBSZGET), (0x125e, 0x125f, 0x1260, 0x1261, 0x1268, 0x127b));
        assert_eq!(BLKBSZGET, 0x8008_1270);
        assert_eq!((FIBMAP, FIGETBSZ), (1, 2));
        assert_eq!((ioc_size(TCGETS2), ioc_dir(TCGETS2)), (44, IOC_READ));
        assert_eq!(iowr(b'T', 1, 8) >> 30, 3);
    }
}
