//! `fusion_echo_rs [N]`: the Rust example of Fusion Rings (docs/ipc.md), a user program built
//! on `exo-fusion` with its `user` feature. It creates a duplex ring, forks; the child maps end
//! B and echoes every message back, the parent maps end A and sends N messages (default
//! 10,000) of varying sizes, many of them several slots long, each carrying its sequence
//! number, and checks every echo. Both sides use the doorbell protocol: an empty receiver
//! waits with `WAIT_DATA`, a full sender with `WAIT_SPACE` (the child; the parent, with
//! nothing to send, waits for echoes), and each wakes its peer when `needs_wake` says somebody
//! waits.
//!
//! Prints `fusion_echo_rs: N messages ok` and exits 0; on any failure a line with the reason on
//! stderr and exit 1 (usage: 2). `no_std`, with its own runtime (`rt.rs`); built by xtask for
//! x86_64-unknown-none into `/bin/fusion_echo_rs` (tested by `user/tests/t_fusionrust.c`).

#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod rt;

use core::fmt;
use exo_abi::fusion::{FusionParams, KIND_DUPLEX, RIGHTS_ALL, WAIT_DATA, WAIT_SPACE, WAKE_DATA, WAKE_SPACE};
use exo_fusion::ring::{Consumer, Msg, Producer, RecvError, SendError};
use exo_fusion::sys;
use exo_fusion::view::{RingView, Side};
use rt::outln;

/// The program's name, for messages (the panic handler uses it too).
pub const NAME: &str = "fusion_echo_rs";

const DEFAULT_N: u64 = 10_000;
/// Slots per lane: 64 slots of 64 bytes, so a lane holds at most 4,088 payload bytes and the
/// parent fills it often (the waits and wake-ups are exercised, not only the fast path).
const SLOTS: u32 = 64;
/// Largest message sent: 27 slots.
const MAX_LEN: usize = 1700;
/// The kind of every message (echoed back unchanged).
const KIND_ECHO: u8 = 0x5e;
/// A single wait longer than this is a failure (a lost wake-up would hang forever otherwise).
const WAIT_NS: u64 = 10_000_000_000;
const ETIMEDOUT: i32 = 110;
const EPIPE: i32 = 32;

/// Why the run failed.
enum Fail {
    /// A system call failed with this errno.
    Sys(&'static str, i32),
    /// The ring's memory or counters are impossible (the peer is corrupt).
    Corrupt(&'static str),
    /// A wait saw no progress for `WAIT_NS`.
    Timeout(&'static str),
    /// A wait answered `EPIPE`: the peer closed its end (exited) or the ring was shut down.
    PeerGone,
    /// Echo `seq` differs from what was sent.
    Mismatch { seq: u64, what: &'static str, got: u64, want: u64 },
    /// The child's wait status.
    Child(i32),
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fail::Sys(call, e) => write!(f, "{call} failed: errno {e}"),
            Fail::Corrupt(what) => write!(f, "corrupt ring: {what}"),
            Fail::Timeout(what) => write!(f, "no progress for {} s while {what}", WAIT_NS / 1_000_000_000),
            Fail::PeerGone => write!(f, "the peer closed its end (fusion_wait: EPIPE)"),
            Fail::Mismatch { seq, what, got, want } => {
                write!(f, "echo {seq}: bad {what}: got {got}, want {want}")
            }
            Fail::Child(st) if st & 0x7f == 0 => write!(f, "the echo child exited with {}", (st >> 8) & 0xff),
            Fail::Child(st) => write!(f, "the echo child was killed by signal {}", st & 0x7f),
        }
    }
}

/// The length of message `seq`: 8 to `MAX_LEN` bytes; half of them fit one slot (56 bytes),
/// the others take 2 to 27 slots.
fn msg_len(seq: u64) -> usize {
    let v = (seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize;
    match seq % 8 {
        0..=3 => 8 + v % 49,
        4..=6 => 57 + v % 500,
        _ => 557 + v % (MAX_LEN - 557 + 1),
    }
}

/// Byte `i` of message `seq`: its sequence number (little-endian), then a pattern of both.
fn msg_byte(seq: u64, i: usize) -> u8 {
    if i < 8 {
        seq.to_le_bytes()[i]
    } else {
        (seq as u8).wrapping_mul(31) ^ (i as u8).wrapping_mul(7) ^ ((i >> 8) as u8)
    }
}

/// Maps end `fd` as `side` and returns its view of the ring.
fn map_end(fd: i32, side: Side) -> Result<RingView<'static>, Fail> {
    // SAFETY: `fd` is an end of a ring this process created (with all rights); the mapping is
    // never unmapped (it lives until the process exits), and only this end's producer and
    // consumer use it, which its rights (`SEND | RECV`) cover.
    let (words, layout) = unsafe { sys::map_ring(fd) }.map_err(|e| Fail::Sys("fusion_map", e))?;
    let view = RingView::new(words, layout, side).ok_or(Fail::Corrupt("mapping shorter than its layout"))?;
    if !view.is_valid() {
        return Err(Fail::Corrupt("kernel page: bad magic or geometry"));
    }
    Ok(view)
}

/// `fusion_wait(ops, expected)` for at most `WAIT_NS`; `EINTR` counts as a wake-up.
fn wait(fd: i32, ops: u32, expected: u64, what: &'static str) -> Result<(), Fail> {
    match sys::wait(fd, ops, expected, WAIT_NS) {
        Ok(()) | Err(rt::EINTR) => Ok(()),
        Err(ETIMEDOUT) => Err(Fail::Timeout(what)),
        Err(EPIPE) => Err(Fail::PeerGone),
        Err(e) => Err(Fail::Sys("fusion_wait", e)),
    }
}

/// `fusion_wake(ops)`.
fn wake(fd: i32, ops: u32) -> Result<(), Fail> {
    sys::wake(fd, ops).map(|_| ()).map_err(|e| Fail::Sys("fusion_wake", e))
}

fn send_error(e: SendError) -> Fail {
    match e {
        SendError::Corrupt => Fail::Corrupt("the consumer's tail"),
        SendError::TooBig => Fail::Corrupt("message larger than the lane"),
        SendError::Full => Fail::Corrupt("full"),
    }
}

fn recv_error(e: RecvError) -> Fail {
    match e {
        RecvError::BufferTooSmall(_) => Fail::Corrupt("message longer than any sent"),
        _ => Fail::Corrupt("the producer's head or a header"),
    }
}

/// The child: end B. Receives `n` messages and sends each back unchanged.
fn echo(fd: i32, n: u64) -> Result<(), Fail> {
    let view = map_end(fd, Side::B)?;
    let mut rx: Consumer<'_> = view.consumer().ok_or(Fail::Corrupt("A->B counters"))?;
    let mut tx: Producer<'_> = view.producer().ok_or(Fail::Corrupt("B->A counters"))?;
    rx.set_clock(sys::rdtsc32);
    let mut buf = [0u8; 4096];
    for _ in 0..n {
        // Receive: read the token, try again, then wait while POST still equals it.
        let m: Msg = loop {
            let token = rx.wait_token();
            match rx.try_recv(&mut buf) {
                Ok(m) => break m,
                Err(RecvError::Empty) => wait(fd, WAIT_DATA, token, "the child waits for data")?,
                Err(e) => return Err(recv_error(e)),
            }
        };
        if rx.needs_wake() {
            wake(fd, WAKE_SPACE)?;
        }
        // Send back: when full, the same with TAKEN and WAIT_SPACE.
        loop {
            let token = tx.space_token();
            match tx.try_send(m.kind, m.flags, &buf[..m.len], sys::rdtsc32()) {
                Ok(()) => break,
                Err(SendError::Full) => wait(fd, WAIT_SPACE, token, "the child waits for space")?,
                Err(e) => return Err(send_error(e)),
            }
        }
        if tx.needs_wake() {
            wake(fd, WAKE_DATA)?;
        }
    }
    Ok(())
}

/// Checks echo `seq`.
fn check(seq: u64, m: &Msg, data: &[u8]) -> Result<(), Fail> {
    let bad = |what, got: u64, want: u64| Err(Fail::Mismatch { seq, what, got, want });
    if m.kind != KIND_ECHO {
        return bad("kind", m.kind.into(), KIND_ECHO.into());
    }
    let want = msg_len(seq);
    if m.len != want {
        return bad("length", m.len as u64, want as u64);
    }
    let got_seq = u64::from_le_bytes(data[..8].try_into().unwrap_or([0; 8]));
    if got_seq != seq {
        return bad("sequence number", got_seq, seq);
    }
    if let Some(i) = (8..want).find(|&i| data[i] != msg_byte(seq, i)) {
        return bad("payload byte", data[i].into(), msg_byte(seq, i).into());
    }
    Ok(())
}

/// The parent: end A. Sends `n` messages (as many as fit, published as one batch), receives
/// and checks the echoes; with nothing to send or receive it waits for echoes.
fn drive(fd: i32, n: u64) -> Result<(), Fail> {
    let view = map_end(fd, Side::A)?;
    let mut tx: Producer<'_> = view.producer().ok_or(Fail::Corrupt("A->B counters"))?;
    let mut rx: Consumer<'_> = view.consumer().ok_or(Fail::Corrupt("B->A counters"))?;
    rx.set_clock(sys::rdtsc32);
    let mut out = [0u8; MAX_LEN];
    let mut buf = [0u8; MAX_LEN];
    let (mut sent, mut echoed) = (0u64, 0u64);
    while echoed < n {
        let (sent_before, echoed_before) = (sent, echoed);
        while sent < n {
            let len = msg_len(sent);
            for (i, b) in out[..len].iter_mut().enumerate() {
                *b = msg_byte(sent, i);
            }
            match tx.write(0, KIND_ECHO, 0, &out[..len], sys::rdtsc32()) {
                Ok(()) => sent += 1,
                Err(SendError::Full) => break,
                Err(e) => return Err(send_error(e)),
            }
        }
        if sent != sent_before {
            tx.publish();
            if tx.needs_wake() {
                wake(fd, WAKE_DATA)?;
            }
        }
        let token = rx.wait_token();
        loop {
            match rx.try_recv(&mut buf) {
                Ok(m) => {
                    check(echoed, &m, &buf[..m.len])?;
                    echoed += 1;
                }
                Err(RecvError::Empty) => break,
                Err(e) => return Err(recv_error(e)),
            }
        }
        if echoed != echoed_before {
            if rx.needs_wake() {
                wake(fd, WAKE_SPACE)?;
            }
        } else if sent == sent_before {
            // Nothing moved: every message sent is still out (or the ring is full). `token`
            // was read before the ring was found empty, so an echo published since makes the
            // wait return at once.
            wait(fd, WAIT_DATA, token, "the parent waits for echoes")?;
        }
    }
    Ok(())
}

/// Parses N: decimal, 1 to 10^9.
fn parse_n(arg: Option<&[u8]>) -> Option<u64> {
    let Some(a) = arg else { return Some(DEFAULT_N) };
    if a.is_empty() || a.len() > 10 || !a.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = a.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
    (1..=1_000_000_000).contains(&n).then_some(n)
}

/// Runs the example; the exit code.
fn run() -> i32 {
    let Some(n) = parse_n(rt::arg(1)) else {
        outln!(2, "usage: {NAME} [N] (N messages, 1 to 1000000000, default {DEFAULT_N})");
        return 2;
    };
    let params = FusionParams {
        slots: SLOTS,
        lanes_ab: 1,
        lanes_ba: 1,
        kind: KIND_DUPLEX,
        rights_a: RIGHTS_ALL,
        rights_b: RIGHTS_ALL,
        ..FusionParams::default()
    };
    let [a, b] = match sys::create(&params) {
        Ok(fds) => fds,
        Err(sys::ENOSYS) => {
            outln!(2, "{NAME}: not running on Exo-OS (fusion_create: ENOSYS)");
            return 1;
        }
        Err(e) => {
            outln!(2, "{NAME}: fusion_create failed: errno {e}");
            return 1;
        }
    };
    let result = match rt::fork() {
        Err(e) => Err(Fail::Sys("fork", e)),
        Ok(rt::Forked::Child) => {
            let _ = rt::close(a);
            match echo(b, n) {
                Ok(()) => return 0,
                Err(f) => {
                    outln!(2, "{NAME}: child: {f}");
                    return 1;
                }
            }
        }
        Ok(rt::Forked::Parent(child)) => {
            // Only the child holds end B now: its exit makes every wait here return EPIPE.
            let _ = rt::close(b);
            let r = drive(a, n);
            // On failure, closing end A makes the child's waits fail at once.
            let _ = rt::close(a);
            match (r, rt::wait(child)) {
                (Err(f), _) => Err(f),
                (Ok(()), Err(e)) => Err(Fail::Sys("wait4", e)),
                (Ok(()), Ok(0)) => Ok(()),
                (Ok(()), Ok(st)) => Err(Fail::Child(st)),
            }
        }
    };
    match result {
        Ok(()) => {
            outln!(1, "{NAME}: {n} messages ok");
            0
        }
        Err(f) => {
            outln!(2, "{NAME}: {f}");
            1
        }
    }
}

/// The host build's entry point (on Exo-OS, `rt`'s `_start` calls [`run`]).
#[cfg(not(target_os = "none"))]
fn main() {
    rt::exit(run())
}
