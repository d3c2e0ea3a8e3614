//! Pure core of the scaling harness.
//!
//! Everything in this crate is deterministic and free of I/O: study specifications and their
//! expansion into points and runs, the versioned result schema (schema v1), the
//! job file the driver hands to executors, shard assignment of input files, and the statistics
//! the reports use. Nothing here spawns processes, touches the file system or reads clocks, so
//! every function is unit-testable and cannot fail on the outside world.

pub mod classify;
pub mod comparison;
pub mod fit;
pub mod job;
pub mod record;
pub mod shard;
pub mod spec;
pub mod stats;
pub mod units;

pub use comparison::ComparisonSpec;
pub use job::{ExecutorOutcome, JobSpec};
pub use record::{
    DataStats, ExecutorReport, Metrics, OomInfo, Point, Provenance, Rows, RunRecord, RunStatus,
    Times, SCHEMA_VERSION,
};
pub use spec::{RunPlan, SpecError, StudySpec};
pub use units::{format_bytes, parse_memory, MemoryParseError};
