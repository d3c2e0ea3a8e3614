//! Executor side of the scaling harness.
//!
//! An executor is one MPI rank started by `mpirun … harness exec job.json`. This crate gives it
//! everything it needs: the MPI [`World`] with collectives that account their time as
//! `comm_sec`; LightGBM's distributed network wired onto MPI ([`lgbm_net`]); resource limits
//! applied through cgroups and then *measured* ([`limits`]); data access with file fractions
//! and byte-balanced shards ([`data`]); the [`Workload`] trait; and [`exec::execute`], which
//! runs one job and has rank 0 write the outcome.
//!
//! Invariant: executors communicate only through MPI. No sockets, no RPC.

pub mod data;
pub mod exec;
pub mod lgbm_net;
pub mod limits;
pub mod metrics;
pub mod s3;
pub mod workload;
pub mod world;

pub use exec::execute;
pub use workload::{ExecutorContext, Workload, WorkloadError, WorkloadOutput};
pub use world::World;

/// Version of LightGBM linked into this build: the sources bundled by `lightgbm3-sys` 1.0.11
/// (`lightgbm/VERSION.txt`). LightGBM's C API has no version call, so it is kept here and
/// written into every record's provenance.
pub const LIGHTGBM_VERSION: &str = "4.7.0";
