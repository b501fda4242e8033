//! Property test against a reference model: random spawns, picks (with accounting and
//! re-enqueue), removes, steals, duplicate enqueues and clock advances. The model is a single
//! list in enqueue order with the pick rule stated directly ("realtime first; else the oldest
//! ordinary thread if it waited longer than the bound and the previous ordinary pick was not
//! an override; else Hot, Normal, Cold, Idle; FIFO").
//! Every pick and steal must match the model, the invariants must hold after every step, and
//! every enqueued id must leave exactly once (picked, removed or stolen).

use exo_sched::{EnqueueError, Priority, Queue, RunQueue, SchedConfig, ThreadId, ThreadSched};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Spawn(Priority),
    Advance(u64),
    Pick { run: u64, requeue: bool },
    Remove(usize),
    Steal,
    Enqueue(usize),
}

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(vec![
        Priority::Idle,
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Realtime,
    ])
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => priority().prop_map(Op::Spawn),
        2 => (0u64..30_000).prop_map(Op::Advance),
        5 => (0u64..30_000, any::<bool>()).prop_map(|(run, requeue)| Op::Pick { run, requeue }),
        1 => any::<usize>().prop_map(Op::Remove),
        1 => Just(Op::Steal),
        1 => any::<usize>().prop_map(Op::Enqueue),
    ]
}

/// Small times so that migrations and the starvation rule happen often.
fn config(starvation_ns: u64) -> SchedConfig {
    SchedConfig {
        quantum_ns: 10_000,
        hot_quantum_ns: 2_000,
        hot_threshold_ns: 1_000,
        cold_threshold_ns: 10_000,
        starvation_ns,
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: ThreadId,
    queue: Queue,
    enqueued_at: u64,
}

struct Model {
    list: Vec<Entry>, // enqueue order
    starvation_ns: u64,
    last_overrode: bool,
}

impl Model {
    fn pos(&self, id: ThreadId) -> Option<usize> {
        self.list.iter().position(|e| e.id == id)
    }

    fn first_in(&self, queue: Queue) -> Option<usize> {
        self.list.iter().position(|e| e.queue == queue)
    }

    /// (position, starved flag) of the next pick.
    fn pick(&self, now: u64) -> Option<(usize, bool)> {
        if let Some(i) = self.first_in(Queue::Realtime) {
            return Some((i, false));
        }
        let by_class = Queue::ORDINARY.into_iter().find_map(|q| self.first_in(q));
        if let Some(i) = self.list.iter().position(|e| e.queue.is_ordinary()) {
            if !self.last_overrode && now - self.list[i].enqueued_at > self.starvation_ns {
                return Some((i, by_class != Some(i)));
            }
        }
        by_class
            .or_else(|| self.first_in(Queue::Idle))
            .map(|i| (i, false))
    }

    fn steal(&self) -> Option<usize> {
        [Queue::Cold, Queue::Normal, Queue::Hot]
            .into_iter()
            .find_map(|q| self.list.iter().rposition(|e| e.queue == q))
    }
}

struct Sim {
    rq: RunQueue,
    model: Model,
    threads: Vec<ThreadSched>,
    entered: Vec<u32>,
    left: Vec<u32>,
    now: u64,
}

impl Sim {
    fn enqueue(&mut self, id: ThreadId) -> Result<(), TestCaseError> {
        let ts = self.threads[id as usize];
        let res = self.rq.enqueue(id, &ts, self.now);
        if self.model.pos(id).is_some() {
            prop_assert_eq!(res, Err(EnqueueError::AlreadyQueued));
        } else {
            prop_assert_eq!(res, Ok(()));
            self.model.list.push(Entry {
                id,
                queue: ts.queue(),
                enqueued_at: self.now,
            });
            self.entered[id as usize] += 1;
        }
        Ok(())
    }

    fn leave(&mut self, pos: usize) -> ThreadId {
        let e = self.model.list.remove(pos);
        self.left[e.id as usize] += 1;
        e.id
    }

    fn pick(&mut self) -> Result<Option<ThreadId>, TestCaseError> {
        let got = self.rq.pick(self.now);
        match self.model.pick(self.now) {
            None => {
                prop_assert_eq!(got, None);
                Ok(None)
            }
            Some((pos, starved)) => {
                let want = self.model.list[pos];
                let got = got.ok_or_else(|| TestCaseError::fail("pick returned None"))?;
                prop_assert_eq!(got.thread, want.id);
                prop_assert_eq!(got.queue, want.queue);
                prop_assert_eq!(got.waited_ns, self.now - want.enqueued_at);
                prop_assert_eq!(got.starved, starved);
                if want.queue.is_ordinary() {
                    self.model.last_overrode = starved;
                }
                Ok(Some(self.leave(pos)))
            }
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let known =
            |k: usize| (!self.threads.is_empty()).then(|| (k % self.threads.len()) as ThreadId);
        match *op {
            Op::Spawn(p) => {
                let id = self.threads.len() as ThreadId;
                self.threads.push(ThreadSched::new(p, self.rq.config()));
                self.entered.push(0);
                self.left.push(0);
                self.enqueue(id)?;
            }
            Op::Advance(dt) => self.now += dt,
            Op::Pick { run, requeue } => {
                if let Some(id) = self.pick()? {
                    let mut ts = self.threads[id as usize];
                    self.rq.account(&mut ts, run);
                    self.threads[id as usize] = ts;
                    self.now += run;
                    if requeue {
                        self.enqueue(id)?;
                    }
                }
            }
            Op::Remove(k) => {
                if let Some(id) = known(k) {
                    let pos = self.model.pos(id);
                    prop_assert_eq!(self.rq.remove(id), pos.is_some());
                    if let Some(pos) = pos {
                        self.leave(pos);
                    }
                }
                prop_assert!(!self.rq.remove(ThreadId::MAX));
            }
            Op::Steal => {
                let want = self.model.steal();
                let got = self.rq.steal();
                prop_assert_eq!(got, want.map(|p| self.model.list[p].id));
                if let Some(pos) = want {
                    self.leave(pos);
                }
            }
            Op::Enqueue(k) => {
                if let Some(id) = known(k) {
                    self.enqueue(id)?;
                }
            }
        }
        prop_assert_eq!(self.rq.check_invariants(), Ok(()));
        prop_assert_eq!(self.rq.len(), self.model.list.len());
        for q in Queue::ALL {
            prop_assert_eq!(
                self.rq.queue_len(q),
                self.model.list.iter().filter(|e| e.queue == q).count()
            );
        }
        for id in 0..self.threads.len() as ThreadId {
            prop_assert_eq!(
                self.rq.queue_of(id),
                self.model.pos(id).map(|p| self.model.list[p].queue)
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn run_queue_matches_the_model(
        starvation_ns in prop_oneof![Just(0u64), 1u64..100_000, Just(u64::MAX)],
        ops in prop::collection::vec(op(), 0..200),
    ) {
        let mut sim = Sim {
            rq: RunQueue::<ThreadId>::new(config(starvation_ns)).unwrap(),
            model: Model { list: Vec::new(), starvation_ns, last_overrode: false },
            threads: Vec::new(),
            entered: Vec::new(),
            left: Vec::new(),
            now: 0,
        };
        for op in &ops {
            sim.step(op)?;
        }
        // Drain: everything still queued comes out, in model order.
        sim.now += 1;
        while sim.pick()?.is_some() {}
        prop_assert!(sim.rq.is_empty());
        prop_assert_eq!(&sim.entered, &sim.left, "each enqueue leaves exactly once");
        let s = sim.rq.stats();
        let entered: u32 = sim.entered.iter().sum();
        prop_assert_eq!(s.enqueues, u64::from(entered));
        prop_assert_eq!(s.picks + s.removes + s.steals, u64::from(entered));
    }
}
