//! System V IPC (`msgget`, `semget`, `shmget` families) and POSIX message queues (`mq_*`): the
//! flags, commands, limits and records with Linux's x86-64 layouts (the `*64` kernel variants,
//! which x86-64 uses for every call). Sizes and offsets are pinned by the tests below, checked
//! against the host's glibc headers.

use bytemuck::{Pod, Zeroable};

/// `key_t` that always creates a new object.
pub const IPC_PRIVATE: i32 = 0;
/// get flags.
pub const IPC_CREAT: u32 = 0o1000;
pub const IPC_EXCL: u32 = 0o2000;
pub const IPC_NOWAIT: u32 = 0o4000;
/// ctl commands common to the three families.
pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const IPC_INFO: i32 = 3;

/// msgrcv flags.
pub const MSG_NOERROR: u32 = 0o10000;
pub const MSG_EXCEPT: u32 = 0o20000;
pub const MSG_COPY: u32 = 0o40000;
/// msgctl commands.
pub const MSG_STAT: i32 = 11;
pub const MSG_INFO: i32 = 12;
pub const MSG_STAT_ANY: i32 = 13;

/// semop flag: the operation is undone when the process exits.
pub const SEM_UNDO: i16 = 0o10000;
/// semctl commands.
pub const GETPID: i32 = 11;
pub const GETVAL: i32 = 12;
pub const GETALL: i32 = 13;
pub const GETNCNT: i32 = 14;
pub const GETZCNT: i32 = 15;
pub const SETVAL: i32 = 16;
pub const SETALL: i32 = 17;
pub const SEM_STAT: i32 = 18;
pub const SEM_INFO: i32 = 19;
pub const SEM_STAT_ANY: i32 = 20;

/// shmat flags.
pub const SHM_RDONLY: u32 = 0o10000;
pub const SHM_RND: u32 = 0o20000;
pub const SHM_REMAP: u32 = 0o40000;
pub const SHM_EXEC: u32 = 0o100000;
/// shmctl commands.
pub const SHM_LOCK: i32 = 11;
pub const SHM_UNLOCK: i32 = 12;
pub const SHM_STAT: i32 = 13;
pub const SHM_INFO: i32 = 14;
pub const SHM_STAT_ANY: i32 = 15;
/// shm_perm.mode bits the kernel sets.
pub const SHM_DEST: u32 = 0o1000;
pub const SHM_LOCKED: u32 = 0o2000;
/// SHMLBA on x86-64: the page size.
pub const SHMLBA: u64 = 4096;

/// Linux's default limits (/proc/sys/kernel/{msgmax,msgmnb,msgmni,sem,shm*}).
pub const MSGMAX: usize = 8192;
pub const MSGMNB: usize = 16384;
pub const MSGMNI: usize = 32000;
pub const SEMMSL: usize = 32000;
pub const SEMMNS: usize = 1_024_000_000;
pub const SEMOPM: usize = 500;
pub const SEMMNI: usize = 32000;
pub const SEMVMX: i32 = 32767;
pub const SEMAEM: i32 = SEMVMX;
pub const SHMMIN: u64 = 1;
pub const SHMMNI: usize = 4096;

/// POSIX message queues: /proc/sys/fs/mqueue defaults and hard limits.
pub const MQ_PRIO_MAX: u32 = 32768;
pub const MQ_MSG_DEFAULT: i64 = 10;
pub const MQ_MSGSIZE_DEFAULT: i64 = 8192;
pub const MQ_MSG_MAX: i64 = 10;
pub const MQ_MSGSIZE_MAX: i64 = 8192;
pub const MQ_HARD_MSGMAX: i64 = 65536;
pub const MQ_HARD_MSGSIZEMAX: i64 = 16 * 1024 * 1024;
pub const MQ_QUEUES_MAX: usize = 256;
/// RLIMIT_MSGQUEUE's default (bytes per user).
pub const MQ_BYTES_MAX: u64 = 819_200;
/// mq_notify's `sigev_notify` values.
pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;

/// `struct ipc64_perm` (48 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct IpcPerm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u32,
    pub seq: u16,
    pub pad2: u16,
    pub pad3: u32,
    pub unused1: u64,
    pub unused2: u64,
}

/// `struct msqid64_ds` (120 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MsqidDs {
    pub perm: IpcPerm,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub cbytes: u64,
    pub qnum: u64,
    pub qbytes: u64,
    pub lspid: i32,
    pub lrpid: i32,
    pub unused4: u64,
    pub unused5: u64,
}

/// `struct semid64_ds` (104 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SemidDs {
    pub perm: IpcPerm,
    pub otime: i64,
    pub unused1: u64,
    pub ctime: i64,
    pub unused2: u64,
    pub nsems: u64,
    pub unused3: u64,
    pub unused4: u64,
}

/// `struct shmid64_ds` (112 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct ShmidDs {
    pub perm: IpcPerm,
    pub segsz: u64,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
    pub unused4: u64,
    pub unused5: u64,
}

/// `struct sembuf` (6 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SemBuf {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

/// `struct seminfo` (IPC_INFO / SEM_INFO).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SemInfo {
    pub semmap: i32,
    pub semmni: i32,
    pub semmns: i32,
    pub semmnu: i32,
    pub semmsl: i32,
    pub semopm: i32,
    pub semume: i32,
    pub semusz: i32,
    pub semvmx: i32,
    pub semaem: i32,
}

/// `struct msginfo` (IPC_INFO / MSG_INFO).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MsgInfo {
    pub msgpool: i32,
    pub msgmap: i32,
    pub msgmax: i32,
    pub msgmnb: i32,
    pub msgmni: i32,
    pub msgssz: i32,
    pub msgtql: i32,
    pub msgseg: u16,
    pub pad: u16,
}

/// `struct shminfo64` (IPC_INFO).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct ShmInfo64 {
    pub shmmax: u64,
    pub shmmin: u64,
    pub shmmni: u64,
    pub shmseg: u64,
    pub shmall: u64,
    pub unused: [u64; 4],
}

/// `struct shm_info` (SHM_INFO).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct ShmInfo {
    pub used_ids: i32,
    pub pad: i32,
    pub shm_tot: u64,
    pub shm_rss: u64,
    pub shm_swp: u64,
    pub swap_attempts: u64,
    pub swap_successes: u64,
}

/// `struct mq_attr` (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MqAttr {
    pub flags: i64,
    pub maxmsg: i64,
    pub msgsize: i64,
    pub curmsgs: i64,
    pub reserved: [i64; 4],
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_linux() {
        assert_eq!(size_of::<IpcPerm>(), 48);
        assert_eq!(offset_of!(IpcPerm, mode), 20);
        assert_eq!(offset_of!(IpcPerm, seq), 24);
        assert_eq!(size_of::<MsqidDs>(), 120);
        assert_eq!(offset_of!(MsqidDs, cbytes), 72);
        assert_eq!(offset_of!(MsqidDs, lspid), 96);
        assert_eq!(size_of::<SemidDs>(), 104);
        assert_eq!(offset_of!(SemidDs, ctime), 64);
        assert_eq!(offset_of!(SemidDs, nsems), 80);
        assert_eq!(size_of::<ShmidDs>(), 112);
        assert_eq!(offset_of!(ShmidDs, cpid), 80);
        assert_eq!(offset_of!(ShmidDs, nattch), 88);
        assert_eq!(size_of::<SemBuf>(), 6);
        assert_eq!(size_of::<SemInfo>(), 40);
        assert_eq!(size_of::<MsgInfo>(), 32);
        assert_eq!(size_of::<ShmInfo64>(), 72);
        assert_eq!(size_of::<ShmInfo>(), 48);
        assert_eq!(offset_of!(ShmInfo, shm_tot), 8);
        assert_eq!(size_of::<MqAttr>(), 64);
    }
}
