//! LightGBM's two collectives as wired onto MPI ([`harness_runtime::lgbm_net`]), over a real
//! `mpirun -np 3` with uneven and zero-length blocks: every rank's result and the bytes each
//! rank counts as sent.
//!
//! The test binary is its own MPI program: [`collectives_at_three_ranks`] runs
//! `mpirun -np 3 <this binary> rank_entry_point`; under mpirun, [`rank_entry_point`] runs the
//! collectives and each rank writes what it got as JSON.

mod common;

use std::os::raw::{c_char, c_int};

use harness_runtime::lgbm_net::{self, CommSize, ReduceFunction};
use harness_runtime::World;

/// Bytes per block of the reduce-scatter (i32 elements): uneven, and one empty.
const RS_LENS: [CommSize; 3] = [8, 0, 12];
/// Bytes each rank contributes to the all-gather.
const AG_LENS: [CommSize; 3] = [4, 0, 8];

/// LightGBM-style reducer: element-wise i32 sum of `src` into `dst`.
unsafe extern "C" fn sum_i32(
    src: *const c_char,
    dst: *mut c_char,
    type_size: c_int,
    len: CommSize,
) {
    assert_eq!(type_size, 4);
    for k in 0..(len / 4) as usize {
        let s = (src as *const i32).add(k).read_unaligned();
        let d = (dst as *mut i32).add(k);
        d.write_unaligned(d.read_unaligned() + s);
    }
}

/// Element `k` of block `i` of rank `r`'s reduce-scatter input.
fn rs_value(r: i32, i: i32, k: i32) -> i32 {
    r * 100 + i * 10 + k
}

fn starts(lens: &[CommSize]) -> Vec<CommSize> {
    lens.iter()
        .scan(0, |acc, l| {
            let s = *acc;
            *acc += l;
            Some(s)
        })
        .collect()
}

fn ints(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Not a test of its own: the program each MPI rank runs (a no-op without `HARNESS_NET_OUT`).
#[test]
fn rank_entry_point() {
    let Some(out) = std::env::var_os("HARNESS_NET_OUT") else {
        return;
    };
    let world = World::init().expect("MPI");
    let r = world.rank() as i32;

    // Reduce-scatter.
    let rs_starts = starts(&RS_LENS);
    let mut input: Vec<u8> = Vec::new();
    for (i, len) in RS_LENS.iter().enumerate() {
        for k in 0..len / 4 {
            input.extend(rs_value(r, i as i32, k).to_le_bytes());
        }
    }
    let mut rs_out = vec![0u8; RS_LENS[r as usize] as usize];
    let reducer: ReduceFunction = sum_i32;
    // SAFETY: buffers match the lengths given; the reducer sums i32 elements.
    unsafe {
        lgbm_net::reduce_scatter(
            input.as_mut_ptr() as *mut c_char,
            input.len() as CommSize,
            4,
            rs_starts.as_ptr(),
            RS_LENS.as_ptr(),
            3,
            rs_out.as_mut_ptr() as *mut c_char,
            rs_out.len() as CommSize,
            &reducer,
        );
    }
    let after_rs = lgbm_net::sent_bytes();

    // All-gather: rank i contributes AG_LENS[i] bytes of value 1000 + i.
    let ag_starts = starts(&AG_LENS);
    let mut mine: Vec<u8> = (0..AG_LENS[r as usize] / 4)
        .flat_map(|_| (1000 + r).to_le_bytes())
        .collect();
    let total: CommSize = AG_LENS.iter().sum();
    let mut ag_out = vec![0u8; total as usize];
    // SAFETY: as above.
    unsafe {
        lgbm_net::allgather(
            mine.as_mut_ptr() as *mut c_char,
            mine.len() as CommSize,
            ag_starts.as_ptr(),
            AG_LENS.as_ptr(),
            3,
            ag_out.as_mut_ptr() as *mut c_char,
            total,
        );
    }
    let json = serde_json::json!({
        "reduce_scatter": ints(&rs_out),
        "allgather": ints(&ag_out),
        "sent_after_reduce_scatter": after_rs,
        "sent": lgbm_net::sent_bytes(),
    });
    let path = std::path::PathBuf::from(out).join(format!("rank{r}.json"));
    std::fs::write(path, serde_json::to_vec(&json).unwrap()).unwrap();
}

#[test]
fn collectives_at_three_ranks() {
    let dir = tempfile::tempdir().unwrap();
    common::mpirun_self(3, "HARNESS_NET_OUT", dir.path());
    for r in 0..3i32 {
        let v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("rank{r}.json"))).unwrap(),
        )
        .unwrap();
        // Rank r holds block r summed over the three ranks.
        let expected: Vec<i32> = (0..RS_LENS[r as usize] / 4)
            .map(|k| (0..3).map(|src| rs_value(src, r, k)).sum())
            .collect();
        assert_eq!(v["reduce_scatter"], serde_json::json!(expected), "rank {r}");
        // Every rank holds every contribution, in rank order: [1000, 1002, 1002].
        assert_eq!(
            v["allgather"],
            serde_json::json!([1000, 1002, 1002]),
            "rank {r}"
        );
        // Bytes sent: every reduce-scatter block but its own, then its all-gather block to
        // each of the two others.
        let rs_sent: i32 = RS_LENS.iter().sum::<i32>() - RS_LENS[r as usize];
        assert_eq!(v["sent_after_reduce_scatter"], rs_sent, "rank {r}");
        assert_eq!(v["sent"], rs_sent + 2 * AG_LENS[r as usize], "rank {r}");
    }
}
