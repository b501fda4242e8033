//! Fuzz target `abi_structs`: user-supplied bytes read as the ABI structures the kernel takes
//! from user memory (`rt_sigframe` on `rt_sigreturn`, `sigaction`, `clone_args`, `open_how`,
//! `timespec`, `termios`) and as the numbers the ABI helpers decode (signal numbers, the
//! `FUTEX_WAKE_OP` word, device numbers, ioctl requests, directory records). Nothing may
//! panic or overflow; a structure round-trips to the same bytes; a valid `timespec`
//! round-trips through nanoseconds; `major_minor(makedev(a, b))` gives `(a, b)`; a directory
//! record fits its buffer, is 8-aligned and holds the name and its NUL.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use bytemuck::{bytes_of, pod_read_unaligned, Pod};
use exo_abi::clone::CloneArgs;
use exo_abi::fcntl::OpenHow;
use exo_abi::futex::WakeOp;
use exo_abi::signal::{self, RtSigFrame, SigAction};
use exo_abi::termios::Termios;
use exo_abi::types::dirent::{
    write_dirent, write_dirent64, DIRENT64_NAME_OFFSET, DIRENT_NAME_OFFSET,
};
use exo_abi::{ioctl, mode, SigSet, Timespec};

/// `T` from the first bytes of `data` (zero-padded), checked to round-trip.
fn read<T: Pod>(data: &[u8]) -> T {
    let mut buf = vec![0u8; core::mem::size_of::<T>()];
    let n = buf.len().min(data.len());
    buf[..n].copy_from_slice(&data[..n]);
    let v: T = pod_read_unaligned(&buf);
    assert_eq!(bytes_of(&v), buf.as_slice());
    v
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    read::<u32>(data.get(at..).unwrap_or(&[]))
}

pub fn check(data: &[u8]) {
    let frame: RtSigFrame = read(data);
    let mask = SigSet(frame.uc.uc_sigmask);
    let _: SigAction = read(data);
    let _: CloneArgs = read(data);
    let _: OpenHow = read(data);
    let _: Termios = read(data);
    for i in 0..data.len().min(64) / 4 {
        let sig = u32_at(data, 4 * i);
        let _ = (
            signal::name(sig),
            signal::default_action(sig),
            mask.contains(sig),
        );
        let mut s = mask;
        s.add(sig);
        assert!(sig == 0 || sig > 64 || s.contains(sig));
        s.remove(sig);
        assert!(!s.contains(sig));
        assert_eq!(SigSet::of(sig).contains(sig), (1..=64).contains(&sig));
        let op = WakeOp::decode(sig);
        let _ = (
            op.apply(sig.rotate_left(7)),
            op.compare(sig.rotate_right(3)),
        );
        let _ = (
            ioctl::ioc_size(sig),
            ioctl::ioc_dir(sig),
            mode::dirent_type(sig),
        );
        let other = u32_at(data, 4 * i + 4);
        assert_eq!(mode::major_minor(mode::makedev(sig, other)), (sig, other));
    }
    let ts: Timespec = read(data);
    if let Some(ns) = ts.to_ns() {
        let back = Timespec::from_ns(ns);
        assert_eq!((back.tv_sec, back.tv_nsec), (ts.tv_sec, ts.tv_nsec));
    }
    // A directory record for a name from the input, into a buffer sized by the input.
    let size = usize::from(data.first().copied().unwrap_or(0)) * 3;
    let name = data.get(1..).unwrap_or(&[]);
    let name = &name[..name.len().min(300)];
    let mut out = vec![0xaau8; size];
    if let Some(len) = write_dirent64(&mut out, 1, 2, 8, name) {
        assert!(len <= size && len % 8 == 0);
        assert_eq!(usize::from(u16::from_le_bytes([out[16], out[17]])), len);
        assert_eq!(
            &out[DIRENT64_NAME_OFFSET..DIRENT64_NAME_OFFSET + name.len()],
            name
        );
        assert_eq!(out[DIRENT64_NAME_OFFSET + name.len()], 0);
        assert!(
            out[len..].iter().all(|&b| b == 0xaa),
            "wrote past the record"
        );
    }
    let mut out = vec![0xaau8; size];
    if let Some(len) = write_dirent(&mut out, 1, 2, 8, name) {
        assert!(len <= size && len % 8 == 0);
        assert_eq!(
            &out[DIRENT_NAME_OFFSET..DIRENT_NAME_OFFSET + name.len()],
            name
        );
        assert_eq!(out[len - 1], 8);
        assert!(
            out[len..].iter().all(|&b| b == 0xaa),
            "wrote past the record"
        );
    }
}
