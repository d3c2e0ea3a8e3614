//! The MPI world of one run, with collectives that account their time.
//!
//! Every collective goes through [`World`] so that the time an executor spends communicating is
//! reported as `comm_sec`. Time spent in LightGBM's network callbacks is
//! counted by [`crate::lgbm_net`] and added in [`World::comm_sec`].

use std::cell::Cell;
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Where each rank's block starts in a concatenation of blocks of lengths `lens`.
fn displacements(lens: &[i32]) -> Vec<i32> {
    lens.iter()
        .scan(0, |acc, l| {
            let d = *acc;
            *acc += l;
            Some(d)
        })
        .collect()
}

/// The MPI world: rank, size and timed collectives. Dropping it finalises MPI.
pub struct World {
    comm: SimpleCommunicator,
    rank: u32,
    size: u32,
    comm_sec: Cell<f64>,
    /// Bytes of the buffers this executor contributed to reductions and gathers.
    comm_bytes: Cell<u64>,
    // Declared last so MPI is finalised after the communicator is gone.
    _universe: Universe,
}

/// MPI could not be initialised (it was already, or the MPI library refused).
#[derive(Debug, thiserror::Error)]
#[error("MPI could not be initialised (already initialised in this process?)")]
pub struct MpiInitError;

impl World {
    /// Initialises MPI. Run without `mpirun` this is a world of size 1 (MPI singleton).
    ///
    /// # Errors
    /// [`MpiInitError`] if MPI was already initialised in this process.
    pub fn init() -> Result<Self, MpiInitError> {
        // Funneled: task-parallel workloads run trials on helper threads, but only the main
        // thread calls MPI.
        let (universe, _level) =
            mpi::initialize_with_threading(mpi::Threading::Funneled).ok_or(MpiInitError)?;
        let comm = universe.world();
        let rank = comm.rank() as u32;
        let size = comm.size() as u32;
        Ok(World {
            comm,
            rank,
            size,
            comm_sec: Cell::new(0.0),
            comm_bytes: Cell::new(0),
            _universe: universe,
        })
    }

    /// This executor's rank, 0-based.
    pub fn rank(&self) -> u32 {
        self.rank
    }

    /// Number of executors.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// This executor's rank among the executors on its host (`OMPI_COMM_WORLD_LOCAL_RANK`;
    /// its rank when mpirun did not say).
    pub fn local_rank(&self) -> u32 {
        env_u32("OMPI_COMM_WORLD_LOCAL_RANK").unwrap_or(self.rank)
    }

    /// Executors on this executor's host (`OMPI_COMM_WORLD_LOCAL_SIZE`; all of them when
    /// mpirun did not say).
    pub fn local_size(&self) -> u32 {
        env_u32("OMPI_COMM_WORLD_LOCAL_SIZE").unwrap_or(self.size)
    }

    /// Whether this is rank 0 (the rank that writes the outcome).
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Host name as MPI reports it.
    pub fn host(&self) -> String {
        mpi::environment::processor_name().unwrap_or_else(|_| "unknown".into())
    }

    /// Seconds spent in collectives so far: [`World`]'s own plus LightGBM's network callbacks.
    pub fn comm_sec(&self) -> f64 {
        self.comm_sec.get() + crate::lgbm_net::comm_sec()
    }

    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.comm_sec
            .set(self.comm_sec.get() + t.elapsed().as_secs_f64());
        out
    }

    /// Blocks until every executor reached it.
    pub fn barrier(&self) {
        self.timed(|| self.comm.barrier());
    }

    /// Element-wise sum over executors; every executor gets the result.
    pub fn sum_u64(&self, values: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; values.len()];
        self.timed(|| {
            self.comm
                .all_reduce_into(values, &mut out[..], SystemOperation::sum())
        });
        out
    }

    /// Element-wise sum over executors into `values` itself for any MPI-equivalent number type
    /// (`f32` gradients, `f64` error sums), every executor getting the same result; adds the
    /// buffer's size to [`World::comm_bytes`]. With one executor it returns at once and counts
    /// nothing.
    pub fn sum_in_place<T: Equivalence + Copy + Default>(&self, values: &mut [T]) {
        if self.size == 1 {
            return;
        }
        let mut out = vec![T::default(); values.len()];
        self.timed(|| {
            self.comm
                .all_reduce_into(&*values, &mut out[..], SystemOperation::sum())
        });
        values.copy_from_slice(&out);
        self.comm_bytes
            .set(self.comm_bytes.get() + std::mem::size_of_val(values) as u64);
    }

    /// Replaces `values` on every executor by rank 0's (same length everywhere); adds the
    /// buffer's size to [`World::comm_bytes`]. With one executor it returns at once.
    pub fn broadcast<T: Equivalence>(&self, values: &mut [T]) {
        if self.size == 1 {
            return;
        }
        let root = self.comm.process_at_rank(0);
        self.timed(|| root.broadcast_into(values));
        self.comm_bytes
            .set(self.comm_bytes.get() + std::mem::size_of_val(values) as u64);
    }

    /// Every executor's `values` concatenated in rank order, on every executor (lengths may
    /// differ); adds this executor's share to [`World::comm_bytes`].
    /// `T` is any MPI-equivalent plain type (`f32`, `u64`, …).
    pub fn all_gather<T: Equivalence + Copy + Default>(&self, values: &[T]) -> Vec<T> {
        if self.size == 1 {
            return values.to_vec();
        }
        let len = values.len() as i32;
        let mut lens = vec![0i32; self.size as usize];
        self.timed(|| self.comm.all_gather_into(&len, &mut lens[..]));
        let displs = displacements(&lens);
        let mut out = vec![T::default(); lens.iter().sum::<i32>() as usize];
        {
            let mut part = PartitionMut::new(&mut out[..], &lens[..], &displs[..]);
            self.timed(|| self.comm.all_gather_varcount_into(values, &mut part));
        }
        self.comm_bytes
            .set(self.comm_bytes.get() + std::mem::size_of_val(values) as u64);
        out
    }

    /// Bytes of the buffers this executor has put into [`World::sum_in_place`], [`World::broadcast`] and
    /// [`World::all_gather`] so far (the payload, not what the MPI library's algorithm
    /// moved on the wire).
    pub fn comm_bytes(&self) -> u64 {
        self.comm_bytes.get()
    }

    /// Maximum over executors; every executor gets the result.
    pub fn max_f64(&self, value: f64) -> f64 {
        let mut out = 0f64;
        self.timed(|| {
            self.comm
                .all_reduce_into(&value, &mut out, SystemOperation::max())
        });
        out
    }

    /// Gathers one serialisable value from every executor at rank 0 (as JSON bytes, so any
    /// report type travels). Rank 0 gets `Some(values in rank order)`, others `None`.
    ///
    /// # Panics
    /// If a gathered value does not deserialise (a bug: all ranks run the same binary).
    pub fn gather_json<T: Serialize + DeserializeOwned>(&self, value: &T) -> Option<Vec<T>> {
        let bytes = serde_json::to_vec(value).expect("value serialises");
        let root = self.comm.process_at_rank(0);
        let len = bytes.len() as i32;
        if self.is_root() {
            let mut lens = vec![0i32; self.size as usize];
            self.timed(|| root.gather_into_root(&len, &mut lens[..]));
            let displs = displacements(&lens);
            let total: i32 = lens.iter().sum();
            let mut buf = vec![0u8; total as usize];
            {
                let mut part = PartitionMut::new(&mut buf[..], &lens[..], &displs[..]);
                self.timed(|| root.gather_varcount_into_root(&bytes[..], &mut part));
            }
            Some(
                lens.iter()
                    .zip(&displs)
                    .map(|(l, d)| {
                        serde_json::from_slice(&buf[*d as usize..(*d + *l) as usize])
                            .expect("gathered value deserialises")
                    })
                    .collect(),
            )
        } else {
            self.timed(|| root.gather_into(&len));
            self.timed(|| root.gather_varcount_into(&bytes[..]));
            None
        }
    }

    /// Sends one serialisable message (JSON bytes) to executor `dest` (blocking standard send;
    /// small messages return at once). Counted in `comm_sec`.
    pub fn send_json<T: Serialize>(&self, dest: u32, value: &T) {
        let bytes = serde_json::to_vec(value).expect("value serialises");
        self.timed(|| self.comm.process_at_rank(dest as i32).send(&bytes[..]));
    }

    /// Receives the next message from any executor if one has arrived (`MPI_Iprobe`, then a
    /// matched receive): `Some((source rank, value))`, else `None` without blocking.
    ///
    /// # Panics
    /// If the message does not deserialise as `T` (a bug: all ranks run the same binary).
    pub fn try_recv_json<T: DeserializeOwned>(&self) -> Option<(u32, T)> {
        let probed = self.timed(|| self.comm.any_process().immediate_matched_probe())?;
        let (bytes, status) = self.timed(|| probed.matched_receive_vec::<u8>());
        let value = serde_json::from_slice(&bytes).expect("message deserialises");
        Some((status.source_rank() as u32, value))
    }

    /// Aborts every executor of the run (MPI_Abort) with `code`.
    pub fn abort(&self, code: i32) -> ! {
        self.comm.abort(code)
    }
}

/// Environment variable `name` as a number, if set and valid.
fn env_u32(name: &str) -> Option<u32> {
    std::env::var(name).ok()?.parse().ok()
}
