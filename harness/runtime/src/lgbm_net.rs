//! LightGBM's distributed network wired onto MPI.
//!
//! LightGBM's data-parallel tree learner (`tree_learner=data`) needs two collectives: a
//! reduce-scatter with a LightGBM-supplied reducer and an all-gather with variable block sizes.
//! `LGBM_NetworkInitWithFunctions` lets a host program supply both; here they are implemented
//! with rsmpi (`MPI_Alltoallv` + the reducer, and `MPI_Allgatherv`).
//!
//! Signatures follow `include/LightGBM/meta.h` (LightGBM 4.x):
//! `ReduceFunction(const char* src, char* dst, int type_size, comm_size_t len)` is a plain C
//! function pointer, passed to the reduce-scatter *by reference*; `comm_size_t` is `int32_t`.
//! The reducer is not always a sum (split-info synchronisation uses a max-by-gain reducer), so
//! the reduction must call it rather than use `MPI_SUM`.
//!
//! LightGBM's network state is thread-local: initialise it, build the `Dataset` and train on
//! the same thread, and free it when done ([`LightGbmNetwork`] does this on drop). Setting
//! `num_machines` in the parameters alone does not distribute anything.

use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::world::World;

/// LightGBM's `comm_size_t`.
pub type CommSize = i32;
/// LightGBM's `ReduceFunction(src, dst, type_size, len)`: reduces `len` bytes of `src` into
/// `dst`, element size `type_size`.
pub type ReduceFunction = unsafe extern "C" fn(*const c_char, *mut c_char, c_int, CommSize);

static COMM_NANOS: AtomicU64 = AtomicU64::new(0);
static SENT_BYTES: AtomicU64 = AtomicU64::new(0);

/// Seconds spent inside LightGBM's network callbacks by this process.
pub fn comm_sec() -> f64 {
    COMM_NANOS.load(Ordering::Relaxed) as f64 * 1e-9
}

/// Bytes this process sent to other executors through LightGBM's network callbacks: in a
/// reduce-scatter every block but its own, in an all-gather its block once per other rank.
/// Zero when it never trained distributed — the proof that LightGBM used the network.
pub fn sent_bytes() -> u64 {
    SENT_BYTES.load(Ordering::Relaxed)
}

/// Bytes a rank sends in a reduce-scatter: every block of its input except block `rank`.
fn reduce_scatter_sent(lens: &[CommSize], rank: usize) -> u64 {
    lens.iter()
        .enumerate()
        .filter(|(i, _)| *i != rank)
        .map(|(_, l)| *l as u64)
        .sum()
}

/// Bytes a rank sends in an all-gather of `n` ranks: its block to each of the others.
fn allgather_sent(lens: &[CommSize], rank: usize) -> u64 {
    lens[rank] as u64 * (lens.len() as u64).saturating_sub(1)
}

fn account(start: Instant) {
    COMM_NANOS.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// Reduce-scatter: block `i` of every rank's input is reduced (with LightGBM's reducer, in rank
/// order) into `output` of rank `i`. Blocks may be uneven or empty. Public so a test can drive
/// it over a real `mpirun`; LightGBM calls it through [`LightGbmNetwork::init`].
///
/// # Safety
/// Called by LightGBM with valid buffers: `input` of `input_size` bytes, `block_start` and
/// `block_len` of `num_block` entries, `output` of at least `block_len[rank]` bytes.
pub unsafe extern "C" fn reduce_scatter(
    input: *mut c_char,
    input_size: CommSize,
    type_size: c_int,
    block_start: *const CommSize,
    block_len: *const CommSize,
    num_block: c_int,
    output: *mut c_char,
    _output_size: CommSize,
    reducer: *const ReduceFunction,
) {
    let start = Instant::now();
    let world = SimpleCommunicator::world();
    let n = num_block as usize;
    let rank = world.rank() as usize;
    let starts = std::slice::from_raw_parts(block_start, n);
    let lens = std::slice::from_raw_parts(block_len, n);
    let input = std::slice::from_raw_parts(input as *const u8, input_size as usize);
    let mine = lens[rank];
    let recv_counts = vec![mine; n];
    let recv_displs: Vec<CommSize> = (0..n as CommSize).map(|i| i * mine).collect();
    // At least one byte: an empty Vec's pointer is 0x1, which Open MPI reads as MPI_IN_PLACE
    // and rejects (MPI_ERR_ARG) when this rank's block is empty.
    let mut recv = vec![0u8; (mine as usize * n).max(1)];
    {
        let send = Partition::new(input, lens, starts);
        let mut part = PartitionMut::new(&mut recv[..], &recv_counts[..], &recv_displs[..]);
        world.all_to_all_varcount_into(&send, &mut part);
    }
    SENT_BYTES.fetch_add(reduce_scatter_sent(lens, rank), Ordering::Relaxed);
    let out = std::slice::from_raw_parts_mut(output as *mut u8, mine as usize);
    out.copy_from_slice(&recv[..mine as usize]);
    let reduce = *reducer;
    for i in 1..n {
        let src = recv[i * mine as usize..].as_ptr() as *const c_char;
        reduce(src, output, type_size, mine);
    }
    account(start);
}

/// All-gather with variable blocks: rank `i` contributes `block_len[i]` bytes placed at
/// `block_start[i]` of every rank's `output`. Blocks may be uneven or empty; public like
/// [`reduce_scatter`].
///
/// # Safety
/// Called by LightGBM with valid buffers: `input` of `input_size` bytes, `block_start` and
/// `block_len` of `num_block` entries, `output` of `output_size` bytes.
pub unsafe extern "C" fn allgather(
    input: *mut c_char,
    input_size: CommSize,
    block_start: *const CommSize,
    block_len: *const CommSize,
    num_block: c_int,
    output: *mut c_char,
    output_size: CommSize,
) {
    let start = Instant::now();
    let world = SimpleCommunicator::world();
    let n = num_block as usize;
    let starts = std::slice::from_raw_parts(block_start, n);
    let lens = std::slice::from_raw_parts(block_len, n);
    // An empty contribution still needs a real buffer (see the reduce-scatter's).
    let empty = [0u8; 1];
    let input = if input_size > 0 && !input.is_null() {
        std::slice::from_raw_parts(input as *const u8, input_size as usize)
    } else {
        &empty[..0]
    };
    let out = std::slice::from_raw_parts_mut(output as *mut u8, output_size as usize);
    let mut part = PartitionMut::new(out, lens, starts);
    world.all_gather_varcount_into(input, &mut part);
    SENT_BYTES.fetch_add(
        allgather_sent(lens, world.rank() as usize),
        Ordering::Relaxed,
    );
    account(start);
}

/// LightGBM's network, initialised over MPI for this thread; freed on drop.
///
/// With one executor nothing is initialised (LightGBM trains serially).
pub struct LightGbmNetwork {
    active: bool,
    // LightGBM's network state is thread-local: keep this value on the thread that created it.
    _not_send: std::marker::PhantomData<*const ()>,
}

/// LightGBM refused to initialise its network.
#[derive(Debug, thiserror::Error)]
#[error("LGBM_NetworkInitWithFunctions failed: {0}")]
pub struct NetworkError(pub String);

impl LightGbmNetwork {
    /// Initialises LightGBM's network over `world` on the calling thread. Call before any
    /// `Dataset` is built; build the dataset and train on this same thread.
    ///
    /// # Errors
    /// [`NetworkError`] with LightGBM's last error message.
    pub fn init(world: &World) -> Result<Self, NetworkError> {
        if world.size() <= 1 {
            return Ok(LightGbmNetwork {
                active: false,
                _not_send: std::marker::PhantomData,
            });
        }
        let rs: unsafe extern "C" fn(
            *mut c_char,
            CommSize,
            c_int,
            *const CommSize,
            *const CommSize,
            c_int,
            *mut c_char,
            CommSize,
            *const ReduceFunction,
        ) = reduce_scatter;
        let ag: unsafe extern "C" fn(
            *mut c_char,
            CommSize,
            *const CommSize,
            *const CommSize,
            c_int,
            *mut c_char,
            CommSize,
        ) = allgather;
        // SAFETY: the function pointers match LightGBM's ReduceScatterFunction and
        // AllgatherFunction typedefs (meta.h); LightGBM stores them in thread-local state.
        let rc = unsafe {
            lightgbm3_sys::LGBM_NetworkInitWithFunctions(
                world.size() as c_int,
                world.rank() as c_int,
                rs as *mut c_void,
                ag as *mut c_void,
            )
        };
        if rc != 0 {
            return Err(NetworkError(last_error()));
        }
        Ok(LightGbmNetwork {
            active: true,
            _not_send: std::marker::PhantomData,
        })
    }

    /// Whether LightGBM trains distributed (more than one executor).
    pub fn is_distributed(&self) -> bool {
        self.active
    }
}

impl Drop for LightGbmNetwork {
    fn drop(&mut self) {
        if self.active {
            // SAFETY: frees the thread-local network initialised in `init` on this thread.
            unsafe {
                lightgbm3_sys::LGBM_NetworkFree();
            }
        }
    }
}

fn last_error() -> String {
    // SAFETY: LGBM_GetLastError returns a pointer to a static, NUL-terminated buffer.
    unsafe {
        std::ffi::CStr::from_ptr(lightgbm3_sys::LGBM_GetLastError())
            .to_string_lossy()
            .into_owned()
    }
}
