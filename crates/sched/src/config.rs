//! Tunables of the scheduling policy ([`SchedConfig`]) and their validation.

/// One millisecond in nanoseconds.
pub const MS: u64 = 1_000_000;

/// Scheduling tunables; every time is in nanoseconds. [`SchedConfig::DEFAULT`] holds the
/// design values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedConfig {
    /// Time slice of `Normal`, `Cold` and `Idle`-class threads (default 10 ms).
    pub quantum_ns: u64,
    /// Time slice of `Hot` threads (default 2 ms). Hot threads are expected to block within
    /// 1 ms; the shorter slice bounds how long a thread that has just turned CPU-bound keeps
    /// the CPU ahead of the Normal and Cold queues, while its EMA catches up.
    pub hot_quantum_ns: u64,
    /// EMA below this → `Hot` (default 1 ms).
    pub hot_threshold_ns: u64,
    /// EMA above this → `Cold` (default 10 ms).
    pub cold_threshold_ns: u64,
    /// An ordinary thread that has waited longer than this is picked before the class order
    /// applies (default 100 ms); see the crate documentation for the exact rule.
    pub starvation_ns: u64,
}

impl SchedConfig {
    /// The design values: 10 ms quantum, 2 ms Hot quantum, 1 ms / 10 ms thresholds, 100 ms
    /// starvation bound.
    pub const DEFAULT: SchedConfig = SchedConfig {
        quantum_ns: 10 * MS,
        hot_quantum_ns: 2 * MS,
        hot_threshold_ns: MS,
        cold_threshold_ns: 10 * MS,
        starvation_ns: 100 * MS,
    };

    /// Checks the configuration: both quanta must be non-zero and
    /// `hot_threshold_ns <= cold_threshold_ns`. `starvation_ns` may be anything (0 means an
    /// ordinary thread counts as starved as soon as any time has passed, which degrades the
    /// ordinary queues to one FIFO by enqueue time).
    pub const fn validate(&self) -> Result<(), ConfigError> {
        if self.quantum_ns == 0 || self.hot_quantum_ns == 0 {
            Err(ConfigError::ZeroQuantum)
        } else if self.hot_threshold_ns > self.cold_threshold_ns {
            Err(ConfigError::ThresholdsOutOfOrder)
        } else {
            Ok(())
        }
    }
}

impl Default for SchedConfig {
    fn default() -> Self {
        SchedConfig::DEFAULT
    }
}

/// Why a [`SchedConfig`] was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `quantum_ns` or `hot_quantum_ns` is zero.
    ZeroQuantum,
    /// `hot_threshold_ns > cold_threshold_ns`.
    ThresholdsOutOfOrder,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConfigError::ZeroQuantum => "scheduler quantum is zero",
            ConfigError::ThresholdsOutOfOrder => "hot threshold is above cold threshold",
        })
    }
}
