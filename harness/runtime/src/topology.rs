//! The CPU topology of an executor's node, read from sysfs, and the choice of each executor's
//! CPUs so that executors get whole physical cores when the node has enough of them.
//!
//! Linux numbers logical CPUs; with SMT (hyper-threading) two or more logical CPUs are
//! threads of one physical core and share its execution units and caches. Each CPU's place is
//! read from `/sys/devices/system/cpu/cpu<N>/topology/physical_package_id` (the socket) and
//! `core_id` (the core within the socket); CPUs with the same pair are SMT siblings (the
//! kernel's `Documentation/admin-guide/cputopology.rst`).
//!
//! The choice ([`choose`]), for `executors` executors of `cores` CPUs each on one node:
//! 1. when `executors × cores` physical cores are available, each executor gets one thread of
//!    each of `cores` cores of its own, and no two executors share a core (the siblings stay
//!    idle);
//! 2. otherwise, when there are enough logical CPUs, executors get consecutive CPUs in core
//!    order, so an executor's CPUs are siblings of each other before they are anyone else's;
//! 3. otherwise (oversubscription) the choice wraps around, and executors share CPUs.

use std::collections::BTreeMap;
use std::path::Path;

use harness_core::record::CpuPlace;

/// Where the kernel describes the CPUs.
pub const SYSFS_CPUS: &str = "/sys/devices/system/cpu";

/// The place of each of `cpus` read under `root` (normally [`SYSFS_CPUS`]). A CPU whose
/// topology files are missing or unreadable counts as its own core of package 0 (core id =
/// its number + 1 000 000, so it never matches a real core).
pub fn read(root: &Path, cpus: &[usize]) -> Vec<CpuPlace> {
    let num = |cpu: usize, file: &str| -> Option<u32> {
        std::fs::read_to_string(root.join(format!("cpu{cpu}/topology/{file}")))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    cpus.iter()
        .map(
            |&cpu| match (num(cpu, "physical_package_id"), num(cpu, "core_id")) {
                (Some(package), Some(core)) => CpuPlace { cpu, package, core },
                _ => CpuPlace {
                    cpu,
                    package: 0,
                    core: 1_000_000 + cpu as u32,
                },
            },
        )
        .collect()
}

/// The node's physical cores, in (package, core) order, each with its logical CPUs in
/// ascending order.
pub fn physical_cores(topo: &[CpuPlace]) -> Vec<Vec<usize>> {
    let mut cores: BTreeMap<(u32, u32), Vec<usize>> = BTreeMap::new();
    for p in topo {
        cores.entry((p.package, p.core)).or_default().push(p.cpu);
    }
    cores
        .into_values()
        .map(|mut cpus| {
            cpus.sort_unstable();
            cpus
        })
        .collect()
}

/// The CPUs executor `local_rank` of `executors` on this node gets, `cores` each, out of the
/// available CPUs `topo` (see the module doc for the rule). Never more CPUs than exist;
/// sorted ascending. Empty when `topo` is.
pub fn choose(topo: &[CpuPlace], local_rank: u32, executors: u32, cores: u32) -> Vec<usize> {
    let physical = physical_cores(topo);
    if physical.is_empty() {
        return Vec::new();
    }
    let (rank, cores) = (local_rank as usize, cores as usize);
    let executors = (executors as usize).max(rank + 1);
    let mut cpus: Vec<usize> = if executors * cores <= physical.len() {
        physical[rank * cores..(rank + 1) * cores]
            .iter()
            .map(|siblings| siblings[0])
            .collect()
    } else {
        let flat: Vec<usize> = physical.into_iter().flatten().collect();
        let want = cores.min(flat.len());
        (0..want)
            .map(|i| flat[(rank * cores + i) % flat.len()])
            .collect()
    };
    cpus.sort_unstable();
    cpus.dedup();
    cpus
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated 2-socket node with 2 cores per socket and 2 threads per core, numbered the
    /// way Linux numbers most Intel servers: CPUs 0–3 are the first thread of each core, 4–7
    /// their siblings (cpu N and N + 4 share a core).
    fn two_socket_smt() -> Vec<CpuPlace> {
        (0..8)
            .map(|cpu| CpuPlace {
                cpu,
                package: (cpu % 4 / 2) as u32,
                core: (cpu % 2) as u32,
            })
            .collect()
    }

    /// Writes `topo` as sysfs files under a temporary root.
    fn sysfs(topo: &[CpuPlace]) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("harness-topo-{}", std::process::id()));
        for p in topo {
            let dir = root.join(format!("cpu{}/topology", p.cpu));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("physical_package_id"), format!("{}\n", p.package)).unwrap();
            std::fs::write(dir.join("core_id"), format!("{}\n", p.core)).unwrap();
        }
        root
    }

    #[test]
    fn reads_sysfs_and_groups_siblings() {
        let topo = two_socket_smt();
        let root = sysfs(&topo);
        let read_back = read(&root, &(0..8).collect::<Vec<_>>());
        assert_eq!(read_back, topo);
        assert_eq!(
            physical_cores(&read_back),
            vec![vec![0, 4], vec![1, 5], vec![2, 6], vec![3, 7]]
        );
        // A CPU without topology files is a core of its own.
        let lone = read(&root, &[9]);
        assert_eq!(physical_cores(&lone), vec![vec![9]]);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn executors_get_whole_cores_when_there_are_enough() {
        let topo = two_socket_smt();
        // 4 executors × 1 core: one thread of each physical core, never two siblings.
        let chosen: Vec<Vec<usize>> = (0..4).map(|r| choose(&topo, r, 4, 1)).collect();
        assert_eq!(chosen, vec![vec![0], vec![1], vec![2], vec![3]]);
        // 2 executors × 2 cores: two whole cores each, one per socket-local pair.
        assert_eq!(choose(&topo, 0, 2, 2), vec![0, 1]);
        assert_eq!(choose(&topo, 1, 2, 2), vec![2, 3]);
        // Consecutive logical numbering would have given rank 0 CPUs 0 and 1 — here the same
        // — but with siblings numbered adjacently (0/1 share a core) it must not:
        let adjacent: Vec<CpuPlace> = (0..8)
            .map(|cpu| CpuPlace {
                cpu,
                package: (cpu / 4) as u32,
                core: (cpu % 4 / 2) as u32,
            })
            .collect();
        assert_eq!(choose(&adjacent, 0, 2, 2), vec![0, 2]);
        assert_eq!(choose(&adjacent, 1, 2, 2), vec![4, 6]);
        for r in 0..4 {
            let mine = choose(&adjacent, r, 4, 1);
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0] % 2, 0, "rank {r}: a first thread, its sibling idle");
        }
    }

    #[test]
    fn without_enough_cores_siblings_go_to_one_executor_then_wrap() {
        let topo = two_socket_smt();
        // 4 executors × 2 cores = 8 > 4 physical cores: each gets both threads of one core.
        let chosen: Vec<Vec<usize>> = (0..4).map(|r| choose(&topo, r, 4, 2)).collect();
        assert_eq!(chosen, vec![vec![0, 4], vec![1, 5], vec![2, 6], vec![3, 7]]);
        // 5 executors × 2 cores > 8 logical CPUs: the fifth wraps onto the first core.
        assert_eq!(choose(&topo, 4, 5, 2), vec![0, 4]);
        // Never more CPUs than exist, and nothing from nothing.
        assert_eq!(choose(&topo, 0, 1, 16).len(), 8);
        assert!(choose(&[], 0, 1, 1).is_empty());
        // A node without SMT (this kind of machine): consecutive CPUs, as before.
        let flat: Vec<CpuPlace> = (0..2)
            .map(|cpu| CpuPlace {
                cpu,
                package: 0,
                core: cpu as u32,
            })
            .collect();
        assert_eq!(
            (choose(&flat, 0, 2, 1), choose(&flat, 1, 2, 1)),
            (vec![0], vec![1])
        );
        assert_eq!(choose(&flat, 2, 3, 1), vec![0], "oversubscribed wraps");
    }
}
