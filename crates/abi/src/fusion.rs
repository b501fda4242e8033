//! Fusion Rings: Exo-OS's native IPC ABI (docs/ipc.md). Not Linux: these system calls live in
//! a number range Linux never uses, so a Linux program that never calls them sees no difference
//! (on Linux they answer ENOSYS, which is how a library finds out it runs elsewhere).
//!
//! A ring is one kernel object with two ends, A and B, each a file descriptor with rights.
//! Its memory (the [`Layout`]) is mapped by `fusion_map` into each end's process with the
//! protections its rights allow; messages travel through that memory with no system call. The
//! kernel is entered only to sleep on an empty or full ring and to wake the other side.
//!
//! Memory, in pages from the mapping's start ([`Layout`]):
//! - page 0, the kernel page: written only by the kernel, read-only to both ends ([`kpage`]);
//! - pages 1–4: the control pages of the two directions (A→B, B→A): each direction has a
//!   producer page (written by the sending end, [`prod`]) and a consumer page (written by the
//!   receiving end, [`cons`]);
//! - the slots of direction A→B (`lanes_ab` lanes of `slots` 64-byte slots), then B→A's.
//!
//! Indices are free-running `u64` counters (never reduced modulo anything in memory); slot `i`
//! of a lane is `i % slots`. Everything a peer writes is untrusted by the reader (docs/ipc.md).

/// First number of the Exo-OS system call range: bit 29. Linux's numbers are dense from 0
/// (about 470 today) and its x32 ABI uses bit 30; any number at or above its table size
/// answers ENOSYS on Linux.
pub const SYSCALL_BASE: u64 = 0x2000_0000;
/// How many numbers the range holds (the kernel's table for it).
pub const SYSCALL_COUNT: usize = 16;

/// `fusion_create(const struct fusion_params *params, int fds[2])`: a new ring; the two ends'
/// descriptors are stored in `fds` (A, B). 0 or -errno.
pub const NR_CREATE: u64 = SYSCALL_BASE;
/// `fusion_map(int fd, void *hint, unsigned flags)`: maps the ring's memory into the caller
/// (the whole [`Layout`]; pages the end's rights do not cover are left out); returns the
/// address. `flags` must be 0.
pub const NR_MAP: u64 = SYSCALL_BASE + 1;
/// `fusion_wait(int fd, unsigned ops, u64 expected, u64 timeout_ns)`: first the wake-ups in
/// `ops` ([`WAKE_DATA`], [`WAKE_SPACE`]), then at most one wait ([`WAIT_DATA`] or
/// [`WAIT_SPACE`]) while the watched word still equals `expected`, for at most `timeout_ns`
/// ([`FOREVER`]: no limit; 0: do not sleep). A wake followed by a wait hands the CPU straight
/// to the woken thread when it may run here. 0 (the word moved or a wake-up came),
/// ETIMEDOUT, EINTR, EPIPE (the peer is gone or the ring shut down), EAGAIN (O_NONBLOCK and
/// it would sleep), EPERM (a missing right).
pub const NR_WAIT: u64 = SYSCALL_BASE + 2;
/// `fusion_wake(int fd, unsigned ops)`: only the wake-ups of `ops`; returns how many threads
/// were woken.
pub const NR_WAKE: u64 = SYSCALL_BASE + 3;
/// `fusion_grant(int fd, const struct fusion_grant *grant)`: hands pages or a descriptor to
/// the peer end (needs [`RIGHT_GRANT`]); returns the grant's id (> 0), which the sender puts
/// in a message ([`MSG_GRANT`]).
pub const NR_GRANT: u64 = SYSCALL_BASE + 4;
/// `fusion_accept(int fd, u32 id, struct fusion_accepted *out, unsigned flags)`: takes a grant
/// the peer made to this end (needs [`RIGHT_RECV`]): maps the pages and returns their address,
/// or installs the descriptor and returns it (`flags`: O_CLOEXEC). `out` (may be NULL)
/// receives what was taken. ENOENT: no such grant (or already taken).
pub const NR_ACCEPT: u64 = SYSCALL_BASE + 5;
/// `fusion_ctl(int fd, unsigned op, u64 arg, u64 arg2)`: [`CTL_INFO`], [`CTL_DUP`],
/// [`CTL_SHUTDOWN`].
pub const NR_CTL: u64 = SYSCALL_BASE + 6;

/// The calls' names, by offset from [`SYSCALL_BASE`] (logs, strace-like tools).
pub const NAMES: [&str; 7] =
    ["fusion_create", "fusion_map", "fusion_wait", "fusion_wake", "fusion_grant", "fusion_accept", "fusion_ctl"];

/// Rights of an end ([`FusionParams::rights_a`], [`CTL_DUP`]). Checked by the kernel on every
/// call and by the protections of the end's mapping.
/// Send messages: the end's outgoing slots and producer page are mapped writable.
pub const RIGHT_SEND: u32 = 1;
/// Receive messages: the incoming slots are mapped (read-only) and the consumer page writable;
/// accept grants.
pub const RIGHT_RECV: u32 = 2;
/// Make grants: hand pages and descriptors to the peer.
pub const RIGHT_GRANT: u32 = 4;
/// Shut the ring down for both ends ([`CTL_SHUTDOWN`]).
pub const RIGHT_MANAGE: u32 = 8;
pub const RIGHTS_ALL: u32 = RIGHT_SEND | RIGHT_RECV | RIGHT_GRANT | RIGHT_MANAGE;

/// Ring kinds ([`FusionParams::kind`]).
/// Duplex: `lanes_ab` lanes A→B and `lanes_ba` lanes B→A, one reader and one writer each.
pub const KIND_DUPLEX: u8 = 0;
/// One publisher (end A) to any number of subscribers (every descriptor of end B): one lane
/// A→B, none back. The publisher never waits for subscribers; a subscriber that falls more
/// than `slots` behind loses the oldest messages and is told how many (docs/ipc.md).
pub const KIND_MULTICAST: u8 = 1;

/// Slots per lane: a power of two in this range.
pub const SLOTS_MIN: u32 = 8;
pub const SLOTS_MAX: u32 = 1 << 16;
/// Lanes per direction (a priority channel uses 5).
pub const LANES_MAX: u8 = 8;
/// Slots of all lanes of one direction together, at most (4 MiB of slots).
pub const DIRECTION_SLOTS_MAX: u64 = 1 << 16;

/// Bytes in a slot, and the inline payload of a message's first slot (after its header).
pub const SLOT_SIZE: u64 = 64;
pub const SLOT_PAYLOAD: u64 = 56;
pub const PAGE_SIZE: u64 = 4096;

/// `struct fusion_params` (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FusionParams {
    /// Slots per lane (power of two, [`SLOTS_MIN`]..=[`SLOTS_MAX`]).
    pub slots: u32,
    /// Lanes A→B (1..=[`LANES_MAX`]) and B→A (0..=[`LANES_MAX`]: 0 makes a one-way ring;
    /// multicast rings have 0).
    pub lanes_ab: u8,
    pub lanes_ba: u8,
    /// [`KIND_DUPLEX`] or [`KIND_MULTICAST`].
    pub kind: u8,
    pub reserved: u8,
    /// O_CLOEXEC and O_NONBLOCK, for both descriptors.
    pub flags: u32,
    /// Rights of end A and end B (each a subset of [`RIGHTS_ALL`]).
    pub rights_a: u32,
    pub rights_b: u32,
    pub reserved2: u32,
}

/// `struct fusion_info` ([`CTL_INFO`]; 48 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FusionInfo {
    /// The ring's id (as /proc/fusion lists it).
    pub id: u64,
    /// Bytes `fusion_map` maps ([`Layout::size`]).
    pub size: u64,
    pub slots: u32,
    /// 0 for end A, 1 for end B.
    pub side: u32,
    /// This descriptor's rights.
    pub rights: u32,
    pub kind: u32,
    pub lanes_ab: u32,
    pub lanes_ba: u32,
    /// [`kpage::STATE`]'s bits now.
    pub state: u64,
}

/// `struct fusion_grant` ([`NR_GRANT`]; 24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FusionGrant {
    /// [`GRANT_PAGES`] or [`GRANT_FD`].
    pub kind: u32,
    /// For pages: [`GRANT_MOVE`] or [`GRANT_SHARE`], optionally [`GRANT_READONLY`].
    pub flags: u32,
    /// Pages: the page-aligned start address. A descriptor: its number.
    pub addr: u64,
    /// Pages: the length (page multiple, at most [`GRANT_PAGES_MAX`] pages). A descriptor:
    /// the rights mask the receiver's copy keeps, if it is a fusion end (others ignore it).
    pub len: u64,
}

/// `struct fusion_accepted` ([`NR_ACCEPT`]; 24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FusionAccepted {
    pub kind: u32,
    pub flags: u32,
    /// Pages: the address they are mapped at. A descriptor: its number.
    pub addr: u64,
    /// Pages: the length. A descriptor: its rights (fusion ends) or 0.
    pub len: u64,
}

/// Grant kinds and flags.
pub const GRANT_PAGES: u32 = 1;
pub const GRANT_FD: u32 = 2;
/// The pages leave the sender (unmapped there, every CPU's TLB flushed) and become the
/// receiver's private memory. Private anonymous memory only.
pub const GRANT_MOVE: u32 = 1;
/// Sender and receiver map the same frames. Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS)
/// only: a private page cannot be shared without breaking copy-on-write.
pub const GRANT_SHARE: u32 = 2;
/// The receiver maps the shared pages read-only and can never make them writable.
pub const GRANT_READONLY: u32 = 4;
/// Pages in one grant, at most (64 MiB).
pub const GRANT_PAGES_MAX: u64 = 16384;
/// Grants waiting to be accepted, per direction of a ring, at most (EAGAIN beyond).
pub const GRANTS_PENDING_MAX: usize = 64;

/// `fusion_wait` / `fusion_wake` operations. A wait watches one word of the shared memory:
/// Wait while the incoming direction's [`prod::POST`] equals `expected` (nothing new).
pub const WAIT_DATA: u32 = 1;
/// Wait while the outgoing direction's [`cons::TAKEN`] equals `expected` (no space freed).
pub const WAIT_SPACE: u32 = 2;
/// Wake the peer's threads waiting for data on this end's outgoing direction (needs SEND).
pub const WAKE_DATA: u32 = 0x10;
/// Wake the peer's threads waiting for space on this end's incoming direction (needs RECV).
pub const WAKE_SPACE: u32 = 0x20;
/// `timeout_ns` meaning "no limit".
pub const FOREVER: u64 = u64::MAX;

/// `fusion_ctl` operations.
/// Fills the `struct fusion_info` at `arg`.
pub const CTL_INFO: u32 = 1;
/// A new descriptor for the same end with rights `self.rights & arg` (`arg2`: O_CLOEXEC);
/// returns it. Rights only ever shrink.
pub const CTL_DUP: u32 = 2;
/// Shuts the ring down for both ends (needs MANAGE): every wait returns EPIPE from now on;
/// `arg` is a reason code the peer reads in [`kpage::SHUTDOWN_REASON`].
pub const CTL_SHUTDOWN: u32 = 3;

/// Words (u64 index) of the kernel page. Written only by the kernel.
pub mod kpage {
    /// [`MAGIC`](super::MAGIC).
    pub const MAGIC: usize = 0;
    /// `slots | lanes_ab << 32 | lanes_ba << 40 | kind << 48`.
    pub const GEOMETRY: usize = 1;
    /// [`STATE_A_CLOSED`](super::STATE_A_CLOSED) | ... bits.
    pub const STATE: usize = 2;
    /// The reason given to [`CTL_SHUTDOWN`](super::CTL_SHUTDOWN).
    pub const SHUTDOWN_REASON: usize = 3;
    /// Threads in `fusion_wait(WAIT_DATA)` on direction A→B (end B's readers), and so on.
    pub const DATA_WAITERS_AB: usize = 8;
    pub const SPACE_WAITERS_AB: usize = 9;
    pub const DATA_WAITERS_BA: usize = 10;
    pub const SPACE_WAITERS_BA: usize = 11;
    /// Threads in poll/select/epoll_wait on end A, on end B.
    pub const POLLERS_A: usize = 12;
    pub const POLLERS_B: usize = 13;
    /// Open descriptions of end A, of end B (multicast: subscribers).
    pub const ENDS_A: usize = 14;
    pub const ENDS_B: usize = 15;
}

/// Words of a producer page (written by the sending end).
pub mod prod {
    /// Messages published in this direction, all lanes together: the word a reader's
    /// [`WAIT_DATA`](super::WAIT_DATA) watches. Stored after the lanes' heads.
    pub const POST: usize = 0;
    /// The head (next slot index to write) of lane `i` is word `HEAD + i`.
    pub const HEAD: usize = 1;
    /// Payload bytes published in this direction (statistics, credits).
    pub const BYTES: usize = 9;
}

/// Words of a consumer page (written by the receiving end).
pub mod cons {
    /// Messages consumed in this direction, all lanes together: the word a writer's
    /// [`WAIT_SPACE`](super::WAIT_SPACE) watches. Stored after the lanes' tails.
    pub const TAKEN: usize = 0;
    /// The tail (next slot index to read) of lane `i` is word `TAIL + i`.
    pub const TAIL: usize = 1;
    /// Payload bytes consumed in this direction (credits).
    pub const BYTES: usize = 9;
    /// Latency histogram: word `HIST + b` counts messages whose slot stamp was `[2^b, 2^(b+1))`
    /// TSC cycles old when read (b < 32).
    pub const HIST: usize = 16;
    pub const HIST_BUCKETS: usize = 32;
}

/// The kernel page's magic: "FUSION01" in little-endian bytes.
pub const MAGIC: u64 = u64::from_le_bytes(*b"FUSION01");
/// State bits ([`kpage::STATE`]).
pub const STATE_A_CLOSED: u64 = 1;
pub const STATE_B_CLOSED: u64 = 2;
pub const STATE_SHUTDOWN: u64 = 4;

/// A slot's first word, the header of the message starting there:
/// `len (bits 0–15) | kind (16–23) | flags (24–31) | stamp (32–63)`. `len` is the whole
/// message's length; a message longer than [`SLOT_PAYLOAD`] continues in the next slots of the
/// lane (whole 64-byte slots, wrapping at the lane's end). `stamp`: the low 32 bits of the
/// sender's TSC when it wrote the message (latency tracking).
pub const fn slot_header(len: u16, kind: u8, flags: u8, stamp: u32) -> u64 {
    len as u64 | (kind as u64) << 16 | (flags as u64) << 24 | (stamp as u64) << 32
}
pub const fn header_len(header: u64) -> u16 {
    header as u16
}
pub const fn header_kind(header: u64) -> u8 {
    (header >> 16) as u8
}
pub const fn header_flags(header: u64) -> u8 {
    (header >> 24) as u8
}
pub const fn header_stamp(header: u64) -> u32 {
    (header >> 32) as u32
}
/// Slots a message of `len` bytes occupies.
pub const fn slots_for(len: u64) -> u64 {
    if len <= SLOT_PAYLOAD {
        1
    } else {
        1 + (len - SLOT_PAYLOAD).div_ceil(SLOT_SIZE)
    }
}

/// Message kinds ([`header_kind`]); 0x80.. are the libraries' own (channels).
pub const MSG_DATA: u8 = 0;
/// A grant: payload `u32 id, u32 grant kind, u64 length` (the id for `fusion_accept`).
pub const MSG_GRANT: u8 = 1;

/// Where everything is in a ring's mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub slots: u32,
    pub lanes_ab: u8,
    pub lanes_ba: u8,
    /// Byte offsets of the slot areas of direction A→B and B→A (lane `i` of a direction
    /// starts `i * slots * 64` bytes into its area).
    pub slots_ab: u64,
    pub slots_ba: u64,
    /// Total bytes (a page multiple).
    pub size: u64,
}

/// Page indices of the control pages.
pub const PAGE_KERNEL: u64 = 0;
pub const PAGE_PROD_AB: u64 = 1;
pub const PAGE_CONS_AB: u64 = 2;
pub const PAGE_PROD_BA: u64 = 3;
pub const PAGE_CONS_BA: u64 = 4;
/// Control pages before the slots.
pub const CONTROL_PAGES: u64 = 5;

impl Layout {
    /// The layout of a ring with these parameters, or `None` if they are out of range.
    pub const fn new(slots: u32, lanes_ab: u8, lanes_ba: u8) -> Option<Layout> {
        if slots < SLOTS_MIN || slots > SLOTS_MAX || !slots.is_power_of_two() {
            return None;
        }
        if lanes_ab == 0 || lanes_ab > LANES_MAX || lanes_ba > LANES_MAX {
            return None;
        }
        if slots as u64 * lanes_ab as u64 > DIRECTION_SLOTS_MAX || slots as u64 * lanes_ba as u64 > DIRECTION_SLOTS_MAX {
            return None;
        }
        let bytes_ab = (slots as u64 * lanes_ab as u64 * SLOT_SIZE).next_multiple_of(PAGE_SIZE);
        let bytes_ba = (slots as u64 * lanes_ba as u64 * SLOT_SIZE).next_multiple_of(PAGE_SIZE);
        let slots_ab = CONTROL_PAGES * PAGE_SIZE;
        let slots_ba = slots_ab + bytes_ab;
        Some(Layout { slots, lanes_ab, lanes_ba, slots_ab, slots_ba, size: slots_ba + bytes_ba })
    }

    /// Pages of the mapping.
    pub const fn pages(&self) -> u64 {
        self.size / PAGE_SIZE
    }

    /// Byte offset of lane `lane` of direction A→B (`ab`) or B→A.
    pub const fn lane_offset(&self, ab: bool, lane: u8) -> u64 {
        let base = if ab { self.slots_ab } else { self.slots_ba };
        base + lane as u64 * self.slots as u64 * SLOT_SIZE
    }

    /// Largest message a lane carries: all its slots less the first one's header, and at most
    /// what the header's 16-bit `len` says.
    pub const fn max_message(&self) -> u64 {
        let lane = self.slots as u64 * SLOT_SIZE - (SLOT_SIZE - SLOT_PAYLOAD);
        if lane < 65535 {
            lane
        } else {
            65535
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structs_have_their_c_sizes() {
        assert_eq!(core::mem::size_of::<FusionParams>(), 24);
        assert_eq!(core::mem::size_of::<FusionInfo>(), 48);
        assert_eq!(core::mem::size_of::<FusionGrant>(), 24);
        assert_eq!(core::mem::size_of::<FusionAccepted>(), 24);
    }

    #[test]
    fn the_range_is_outside_linuxs_table_and_x32_bit() {
        assert!(NR_CREATE as usize > crate::nr::COUNT);
        assert_eq!(SYSCALL_BASE & 0x4000_0000, 0);
        assert_eq!(NAMES.len() as u64, NR_CTL - SYSCALL_BASE + 1);
    }

    #[test]
    fn layout_places_control_pages_then_slots() {
        let l = Layout::new(64, 1, 1).unwrap();
        assert_eq!(l.slots_ab, 5 * 4096);
        assert_eq!(l.slots_ba, 6 * 4096);
        assert_eq!(l.size, 7 * 4096);
        let p = Layout::new(1024, 5, 1).unwrap();
        assert_eq!(p.lane_offset(true, 4), 5 * 4096 + 4 * 1024 * 64);
        assert_eq!(p.slots_ba, 5 * 4096 + 5 * 1024 * 64);
        let m = Layout::new(16, 1, 0).unwrap();
        assert_eq!(m.size, 6 * 4096);
        assert!(Layout::new(12, 1, 1).is_none());
        assert!(Layout::new(1 << 16, 2, 1).is_none());
        assert!(Layout::new(64, 0, 1).is_none());
        assert!(Layout::new(64, 9, 1).is_none());
        assert_eq!(Layout::new(8, 1, 1).unwrap().max_message(), 8 * 64 - 8);
        assert_eq!(Layout::new(4096, 1, 1).unwrap().max_message(), 65535);
    }

    #[test]
    fn headers_round_trip() {
        let h = slot_header(300, 7, 0x81, 0xdead_beef);
        assert_eq!((header_len(h), header_kind(h), header_flags(h), header_stamp(h)), (300, 7, 0x81, 0xdead_beef));
        assert_eq!((slots_for(0), slots_for(56), slots_for(57), slots_for(120), slots_for(121)), (1, 1, 2, 2, 3));
    }
}
