//! `exo-sched`: the scheduling *policy* of Exo-OS — which runnable thread a CPU runs next, for
//! how long, and which thread an idle CPU may take from a busy one. It has no clock, does no
//! context switching and touches no hardware: every time is an explicit `now` / `ran_ns` in
//! nanoseconds, and threads are handles of the caller's choosing ([`Runnable`]: the kernel's
//! reference-counted threads, bare [`ThreadId`]s in tests) that the policy never looks into
//! beyond their id.
//!
//! # Pieces
//!
//! - [`ThreadSched`]: per-thread state (priority, queue, burst EMA, runtime counters). The
//!   kernel keeps one in each thread control block and passes it by reference.
//! - [`RunQueue`]: one per CPU (behind the kernel's spin lock). It stores the handles with
//!   their enqueue time in five FIFO ring buffers, one per [`Queue`]: `Realtime`, `Hot`,
//!   `Normal`, `Cold`, `Idle`. Enqueue, pick and steal are O(1) with no search and no shifting
//!   (they are on every context switch); `remove`, `contains`, `queue_of` and `set_priority`
//!   scan the queues. A double enqueue is the caller's bug, refused in debug builds (an O(n)
//!   scan). [`RunQueue::with_capacity`] pre-reserves room so that the scheduler path does not
//!   allocate below that many queued threads; allocation failures are reported
//!   ([`EnqueueError::OutOfMemory`]), never fatal.
//! - The policy never panics on bad input: unknown ids are ignored (`remove` returns
//!   `false`), double enqueues and invalid configurations are errors, a clock that goes
//!   backwards counts as zero wait, and counters saturate.
//! - [`pick_cpu_for`]: least-loaded CPU for placing a thread.
//!
//! # Classes and queues
//!
//! A thread's [`Priority`] is `Realtime`, `Idle`, or ordinary (`High`, `Normal`, `Low`).
//! Realtime threads always wait in `Realtime`, Idle-class threads in `Idle`. An ordinary
//! thread starts in `Hot` (`High`), `Normal` (`Normal`) or `Cold` (`Low`); from then on its
//! queue is decided by the exponential moving average (EMA) of its runs:
//!
//! - **Hot**: `ema < hot_threshold_ns` (1 ms): interactive, I/O-bound threads;
//! - **Normal**: `hot_threshold_ns <= ema <= cold_threshold_ns` (1–10 ms);
//! - **Cold**: `ema > cold_threshold_ns` (10 ms): CPU-bound threads.
//!
//! The initial EMA is seeded inside the starting band ([`ThreadSched::seed_ema`]): `High` →
//! `hot / 2`, `Normal` → `(hot + cold) / 2`, `Low` → `2 * cold`.
//!
//! # EMA and reclassification
//!
//! At every switch-out the kernel calls [`RunQueue::account`] with `ran_ns`, the length of
//! the run that just ended. With alpha = 1/4 in integer arithmetic ([`ema_update`]):
//!
//! ```text
//! ema' = ema + (run - ema) / 4      // i.e. 1/4 * run + 3/4 * ema
//! ```
//!
//! computed as `ema + (run - ema) / 4` if `run >= ema`, else `ema - (ema - run) / 4`, so it
//! never overflows and always lies between `ema` and `run`. After `k` equal runs of `r`,
//! `ema_k ≈ r + (ema_0 - r) * (3/4)^k`. The ordinary thread is then reclassified
//! ([`classify`]); a change of queue counts as one migration (per thread and in
//! [`SchedStats::migrations`], split into promotions towards Hot and demotions towards Cold).
//! With the defaults, a `Normal` thread running 20 ms slices is Cold after 2 slices; one
//! running 100 µs slices is Hot after 7. There is no hysteresis.
//!
//! # Pick rule
//!
//! [`RunQueue::pick_next`]`(now)` removes and returns, in this order:
//!
//! 1. the front of `Realtime`, if any (FIFO; realtime threads are not subject to the
//!    starvation rule and can starve everything else, so the kernel must reserve the class);
//! 2. **starvation rule**, unless the previous pick was a starvation override: among the
//!    fronts of `Hot`, `Normal` and `Cold`, those that have waited strictly longer than
//!    `starvation_ns` (`now - enqueue time > starvation_ns`, 100 ms by default) are
//!    *overdue*; if there are any, the one enqueued earliest (ties: first enqueued) is taken;
//! 3. otherwise the front of the first non-empty queue among `Hot`, `Normal`, `Cold`
//!    (class order);
//! 4. otherwise the front of `Idle`;
//! 5. otherwise `None`: the CPU runs its idle thread (which need not be queued at all).
//!
//! A pick made by rule 2 that differs from what rule 3 would take is an *override*
//! ([`Pick::starved`], [`SchedStats::starvation_picks`]); at the next pick from an ordinary
//! queue after an override, rule 2 is skipped, so overrides and class-order picks at least
//! alternate (realtime picks in between do not count).
//!
//! Each queue is FIFO in enqueue order. Provided `now` never decreases on a run queue, the
//! front of each ordinary queue is its oldest thread, so rule 2 reads: *whenever the oldest
//! queued ordinary thread has waited longer than `starvation_ns`, it is picked, unless the
//! previous pick was an override*. It protects Cold threads from a stream of Hot/Normal
//! arrivals and Normal threads from Hot ones. The alternation keeps the Hot queue responsive
//! under overload: when many CPU-bound threads are all overdue, every other pick still
//! follows the class order, so the front of the Hot queue is taken within two picks (with a
//! plain aging rule, an overloaded CPU would degrade to one FIFO and an interactive thread
//! would wait behind every CPU-bound one).
//!
//! **Bound.** Let an ordinary thread `T` be enqueued at `t0`, let `a` be the number of
//! ordinary threads enqueued before it and still queued at the first pick after
//! `t0 + starvation_ns`, and let `R` be the longest run on that CPU (at most the larger
//! quantum plus the tick period if the kernel honours [`RunQueue::should_preempt`] at each
//! tick). If no realtime thread runs or is queued meanwhile, `T` is picked no later than
//! `t0 + starvation_ns + 2 * (a + 1) * R`: the first pick after `t0 + starvation_ns` comes
//! within `R`; from then on at least every other pick applies rule 2, which takes the oldest
//! queued ordinary thread — `T` or one of those `a`, since threads enqueued after `T` cannot
//! be older. In the common case of one CPU-bound Cold thread and a stream of Hot threads
//! (at most one queued at a time), the Cold thread waits at most
//! `starvation_ns + 2 * hot_quantum_ns`, i.e. 104 ms with the defaults: the pick before its
//! own is never an override. The tests check both bounds on random workloads.
//!
//! # Time slices and preemption
//!
//! [`RunQueue::quantum_ns`]: `hot_quantum_ns` (2 ms) for Hot threads, `quantum_ns` (10 ms)
//! for Normal, Cold and Idle-class threads, none for realtime threads (FIFO: they run until
//! they block or yield). [`RunQueue::should_preempt`]`(current, ran_ns)` is true when a
//! realtime thread is queued and `current` is not realtime, when `current` is Idle-class and
//! an ordinary thread is queued, or when `current`'s quantum has expired and a thread of its
//! own class (ordinary, resp. Idle) is queued; never for a realtime `current`.
//!
//! # Work stealing and placement
//!
//! [`RunQueue::steal`] gives an idle CPU the back of `Cold`, else the back of `Normal`, else
//! the back of `Hot`: the back is the thread that would wait longest here, and CPU-bound
//! threads best amortise the cache refill a migration costs, while Hot threads run briefly
//! and soon anyway. Realtime threads are never stolen (the kernel places them explicitly)
//! and neither are Idle-class threads (per-CPU housekeeping). A stolen thread's wait starts
//! again on the thief, which is idle and therefore runs it at once.
//! [`pick_cpu_for`] places a thread on the least loaded CPU, lowest index on ties.
//!
//! # Kernel usage
//!
//! ```
//! use exo_sched::{pick_cpu_for, Priority, RunQueue, SchedConfig, ThreadSched, MS};
//!
//! let config = SchedConfig::DEFAULT;
//! let mut rq = RunQueue::new(config).unwrap();
//! let mut shell = ThreadSched::new(Priority::High, &config); // in thread 1's control block
//! let mut build = ThreadSched::new(Priority::Low, &config); // thread 2
//! rq.enqueue(1, &shell, 0).unwrap();
//! rq.enqueue(2, &build, 0).unwrap();
//!
//! // Switch in: Hot before Cold.
//! assert_eq!(rq.pick_next(0), Some(1));
//! // Timer tick at 1 ms: quantum (2 ms for Hot) not expired.
//! assert!(!rq.should_preempt(&shell, MS));
//! // The shell blocks after 1.5 ms: account it, do not re-enqueue it.
//! rq.account(&mut shell, 1_500_000);
//! assert_eq!(rq.pick_next(1_500_000), Some(2));
//! // The build runs its full 10 ms quantum; the shell woke up meanwhile.
//! rq.enqueue(1, &shell, 5 * MS).unwrap();
//! assert!(rq.should_preempt(&build, 10 * MS));
//! rq.account(&mut build, 10 * MS);
//! rq.enqueue(2, &build, 11_500_000).unwrap();
//! assert_eq!(rq.pick_next(11_500_000), Some(1));
//!
//! // Placement of a new thread: the least loaded CPU.
//! assert_eq!(pick_cpu_for(&[rq.load(), 0, 3]), Some(1));
//! assert!(rq.check_invariants().is_ok());
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod affinity;
mod balance;
mod class;
mod config;
pub mod cputime;
mod pick;
mod runqueue;
mod stats;
mod thread;

pub use balance::pick_cpu_for;
pub use class::{classify, ema_update, Priority, Queue};
pub use config::{ConfigError, SchedConfig, MS};
pub use pick::Pick;
pub use runqueue::{EnqueueError, RunQueue, Runnable};
pub use stats::SchedStats;
pub use thread::ThreadSched;

/// A thread, as the kernel names it (its thread handle). The policy never interprets it.
pub type ThreadId = u32;
