//! Executor side of the scaling harness, and the seam workloads plug into.
//!
//! An executor is one MPI rank started by `mpirun … harness exec job.json`. This crate gives it
//! everything it needs: the MPI [`World`] with collectives that account their time as
//! `comm_sec`; LightGBM's distributed network wired onto MPI ([`lgbm_net`]); the task farm
//! that hands independent tasks to free slots on every executor ([`farm`]); resource limits
//! applied through cgroups and then *measured* ([`limits`]); data access with file fractions
//! and byte-balanced shards ([`data`]); batch scoring of saved models ([`scoring`]); and
//! [`exec::execute`], which runs one job and has rank 0 write the outcome.
//!
//! The [`Workload`] trait ([`workload`]) is the one seam between the harness and a workload
//! crate: besides running on executors, a workload tells the driver how to check its
//! parameters and data, what data and study to use by default, what to log to a tracker
//! ([`tracking`]) and how to load its models ([`model`]).
//!
//! Invariant: executors communicate only through MPI. No sockets, no RPC.

pub mod clock;
pub mod data;
pub mod engine;
pub mod exec;
pub mod farm;
pub mod kernel;
pub mod lgbm_net;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod s3;
pub mod scoring;
pub mod testing;
pub mod tools;
pub mod topology;
pub mod tracking;
pub mod workload;
pub mod world;

pub use exec::execute;
pub use workload::{ExecutorContext, Workload, WorkloadError, WorkloadOutput};
pub use world::World;

/// Version of LightGBM linked into this build: the sources bundled by `lightgbm3-sys` 1.0.11
/// (`lightgbm/VERSION.txt`). LightGBM's C API has no version call, so it is kept here and
/// written into every record's provenance.
pub const LIGHTGBM_VERSION: &str = "4.7.0";
