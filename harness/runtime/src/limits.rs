//! Resource limits of an executor: applied through cgroups, then measured.
//!
//! Published scaling studies have been wrong because clusters silently did not enforce their
//! limits, so an executor here (1) moves itself into its own cgroup — v1 or v2, whichever the
//! host has — with a CPU set of `cores` CPUs, a CFS quota of `cores` CPUs and a memory limit,
//! and then (2) measures what it really got: the affinity mask, the effective quota and memory
//! limit over its cgroup ancestry, and (in [`crate::kernel`]) a CPU check on `cores` threads. Where a limit
//! cannot be applied the run still happens and the report says `enforced: false` with a note.
//!
//! Layout: `<launcher's cgroup>/harness/<study>/<run_id>/rank<r>` in every controller. The
//! driver, which shares the launcher's cgroup, reads each rank's OOM counters and peak memory
//! after the run and removes the directories ([`inspect_and_remove`]).
//!
//! On `--hostfile` nodes the cgroup name is absolute (`/harness/<study>/<run_id>`): it lives at
//! the root of the node's hierarchy as mounted there (cgroup v2 forbids controllers below a
//! cgroup that holds processes, such as the ssh session's scope). Writing there needs root:
//! an executor that is not root asks `sudo -n` to run this binary's `cgroup-apply` for it
//! ([`apply_as_root`]), and after the run the driver has each node remove the run's cgroups
//! through `harness node-cgroup` over ssh.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which cgroup hierarchy the host offers (serialised as [`CgroupVersion::as_str`] says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    /// Legacy per-controller hierarchies (`/sys/fs/cgroup/<controller>`).
    V1,
    /// The unified hierarchy with `cgroup.controllers` at its root.
    V2,
    /// Neither is usable.
    None,
}

impl CgroupVersion {
    /// `v1`, `v2` or `none`, as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "v1",
            CgroupVersion::V2 => "v2",
            CgroupVersion::None => "none",
        }
    }
}

const CONTROLLERS: [&str; 3] = ["cpuset", "cpu", "memory"];
/// v1 reports "no limit" as a page-rounded i64::MAX.
const V1_UNLIMITED: u64 = 0x7FFF_FFFF_FFFF_F000;
const CFS_PERIOD_US: u64 = 100_000;

/// Detects the cgroup version from the mounts: v2 when a `cgroup2` mount carries the cpu and
/// memory controllers, else v1 when the `memory` controller is mounted as v1.
pub fn detect() -> CgroupVersion {
    Mounts::read().version()
}

/// Cgroup mounts of this process and its own cgroup paths.
struct Mounts {
    /// v1: (controller list of the hierarchy, mount point, hierarchy root of the mount).
    v1: Vec<(Vec<String>, PathBuf, String)>,
    v2: Option<PathBuf>,
    v2_root: String,
    /// /proc/self/cgroup: (controllers, path).
    own: Vec<(Vec<String>, String)>,
}

impl Mounts {
    /// The hierarchy these mounts offer (see [`detect`]).
    fn version(&self) -> CgroupVersion {
        if let Some(root) = &self.v2 {
            let controllers =
                fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
            if controllers.split_whitespace().any(|c| c == "memory") {
                return CgroupVersion::V2;
            }
        }
        if self.v1_dir("memory").is_some() {
            CgroupVersion::V1
        } else {
            CgroupVersion::None
        }
    }

    fn read() -> Self {
        let mut v1 = Vec::new();
        let mut v2 = None;
        let mut v2_root = "/".to_string();
        for line in fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
        {
            // id parent major:minor root mount-point options ... - fstype source super-options
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(dash) = fields.iter().position(|f| *f == "-") else {
                continue;
            };
            if fields.len() < dash + 4 || dash < 5 {
                continue;
            }
            let (root, mount_point, fstype, sopts) =
                (fields[3], fields[4], fields[dash + 1], fields[dash + 3]);
            match fstype {
                "cgroup" => {
                    let ctrls = sopts
                        .split(',')
                        .filter(|o| CONTROLLERS.contains(o))
                        .map(String::from)
                        .collect::<Vec<_>>();
                    if !ctrls.is_empty() {
                        v1.push((ctrls, PathBuf::from(mount_point), root.to_string()));
                    }
                }
                "cgroup2" if v2.is_none() || mount_point == "/sys/fs/cgroup" => {
                    v2 = Some(PathBuf::from(mount_point));
                    v2_root = root.to_string();
                }
                _ => {}
            }
        }
        let own = fs::read_to_string("/proc/self/cgroup")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut parts = l.splitn(3, ':');
                let _id = parts.next()?;
                let ctrls = parts.next()?;
                let path = parts.next()?;
                Some((
                    ctrls
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(String::from)
                        .collect(),
                    path.to_string(),
                ))
            })
            .collect();
        Mounts {
            v1,
            v2,
            v2_root,
            own,
        }
    }

    /// This process's directory in the v1 hierarchy of `controller`.
    fn v1_dir(&self, controller: &str) -> Option<PathBuf> {
        let (_, mount, root) = self
            .v1
            .iter()
            .find(|(c, _, _)| c.iter().any(|x| x == controller))?;
        let (_, path) = self
            .own
            .iter()
            .find(|(c, _)| c.iter().any(|x| x == controller))?;
        Some(join_rel(mount, strip_root(path, root)))
    }

    /// Where the run cgroup `name` hangs in the v1 hierarchy of `controller`: the root of the
    /// hierarchy as mounted here for an absolute name (`/harness/…`), else this process's
    /// own directory.
    fn v1_base(&self, controller: &str, name: &str) -> Option<PathBuf> {
        if name.starts_with('/') {
            self.v1
                .iter()
                .find(|(c, _, _)| c.iter().any(|x| x == controller))
                .map(|(_, mount, _)| mount.clone())
        } else {
            self.v1_dir(controller)
        }
    }

    /// [`Mounts::v1_base`] for the v2 hierarchy.
    fn v2_base(&self, name: &str) -> Option<PathBuf> {
        if name.starts_with('/') {
            self.v2.clone()
        } else {
            self.v2_dir()
        }
    }

    /// This process's directory in the v2 hierarchy.
    fn v2_dir(&self) -> Option<PathBuf> {
        let mount = self.v2.as_ref()?;
        let (_, path) = self.own.iter().find(|(c, _)| c.is_empty())?;
        Some(join_rel(mount, strip_root(path, &self.v2_root)))
    }
}

fn strip_root<'a>(path: &'a str, root: &str) -> &'a str {
    if root != "/" {
        path.strip_prefix(root).unwrap_or(path)
    } else {
        path
    }
}

fn join_rel(base: &Path, rel: &str) -> PathBuf {
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        base.to_path_buf()
    } else {
        base.join(rel)
    }
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    fs::write(path, value).map_err(|e| format!("write {value:?} to {}: {e}", path.display()))
}

fn mkdir_all(path: &Path) -> Result<(), String> {
    fs::create_dir_all(path).map_err(|e| format!("create {}: {e}", path.display()))
}

/// The `cpu.stat` of this process's own CPU cgroup (v2 unified, else v1 `cpu` controller):
/// where CFS throttling is counted. `None` when no cgroup hierarchy is mounted.
pub fn own_cpu_stat() -> Option<PathBuf> {
    let mounts = Mounts::read();
    let dir = match mounts.version() {
        CgroupVersion::V2 => mounts.v2_dir(),
        _ => mounts.v1_dir("cpu"),
    }?;
    Some(dir.join("cpu.stat"))
}

/// The CPUs this process may run on now (its affinity mask), sorted.
pub fn affinity() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for pid 0 (this thread).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|c| libc::CPU_ISSET(*c, &set))
            .collect()
    }
}

/// Formats CPUs as a cpuset list: `[0,1,2,5]` → `0-2,5`.
pub fn cpu_list(cpus: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

/// Parses a cpuset list: `0-2,5` → `[0, 1, 2, 5]`; parts that do not parse are skipped.
pub fn parse_cpu_list(text: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.parse::<usize>().ok()),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    cpus
}

/// What an executor asks for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LimitRequest {
    /// Cgroup name below the launcher's cgroup, e.g. `harness/<study>/<run_id>`, or, starting
    /// with `/`, below the root of the hierarchy (`--hostfile` nodes).
    pub cgroup: String,
    pub rank: u32,
    /// Rank among the executors of this host, and how many the host has (CPU choice,
    /// [`crate::topology::choose`]).
    pub local_rank: u32,
    pub local_size: u32,
    pub cores: u32,
    pub memory_bytes: u64,
}

/// Whether a failed swap-limit write matters: only when the host has swap to use
/// (`SwapTotal` in `/proc/meminfo` above 0). Returns the problem as text.
fn swap_limit(written: std::io::Result<()>) -> Option<String> {
    let e = written.err()?;
    let swap_kib = fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("SwapTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())?;
    (swap_kib > 0).then(|| {
        format!(
            "the swap limit could not be set ({e}) and the host has {} of swap: the executor \
             may swap past its memory limit",
            harness_core::format_bytes(swap_kib * 1024)
        )
    })
}

/// Whether this process runs as root (it may write any cgroup).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// [`apply`] for this process when it is not root: `sudo -n <this binary> cgroup-apply <pid>
/// <request as JSON>` (the helper applies the request to this process and prints the result
/// as JSON), as the Terraform nodes' user may. Root applies directly.
///
/// # Errors
/// Why neither worked: `sudo` missing or asking for a password, or the helper's error.
pub fn apply_as_root(req: &LimitRequest) -> Result<(CgroupVersion, Option<String>), String> {
    let pid = std::process::id();
    if is_root() {
        return apply(req, pid);
    }
    let json = serde_json::to_string(req).map_err(|e| e.to_string())?;
    let out = sudo_self()?
        .args(["cgroup-apply", &pid.to_string(), &json])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            format!("not root, and sudo cannot be run ({e}): run executors as root or give their user passwordless sudo")
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(if err.contains("password") {
            format!("not root, and `sudo -n` asks for a password ({err}): give the node's user passwordless sudo, as terraform/'s nodes have")
        } else {
            format!("sudo harness cgroup-apply: {err}")
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "sudo harness cgroup-apply printed {:?}: {e}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `sudo -n <this binary>`, to which the caller adds a subcommand: how a process that is not
/// root runs the harness's cgroup commands as root.
///
/// # Errors
/// This binary's path cannot be found.
pub fn sudo_self() -> Result<std::process::Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut c = std::process::Command::new("sudo");
    c.arg("-n").arg(exe);
    Ok(c)
}

/// Applies the request to process `pid`: creates `<cgroup>/rank<r>` in each controller, writes
/// the limits and moves the process (all its threads) into it. The CPUs are chosen
/// ([`crate::topology::choose`]) among those this process may run on. Returns the hierarchy
/// used and, when the swap limit could not be set on a host with swap, that problem (the
/// limits are then not what was asked: memory can spill to swap).
///
/// # Errors
/// A text naming the file that could not be written (no permission, no controller); the caller
/// records it and goes on without limits.
pub fn apply(req: &LimitRequest, pid: u32) -> Result<(CgroupVersion, Option<String>), String> {
    let mut swap = None;
    let available = affinity();
    let topo = crate::topology::read(Path::new(crate::topology::SYSFS_CPUS), &available);
    let cpus = crate::topology::choose(&topo, req.local_rank, req.local_size, req.cores);
    let cpus_text = cpu_list(&cpus);
    let mounts = Mounts::read();
    let leaf = format!("{}/rank{}", req.cgroup.trim_matches('/'), req.rank);
    match mounts.version() {
        CgroupVersion::V1 => {
            let pid = pid.to_string();
            let mut dirs = Vec::new();
            for ctrl in CONTROLLERS {
                let base = mounts
                    .v1_base(ctrl, &req.cgroup)
                    .ok_or_else(|| format!("cgroup v1 controller {ctrl} is not mounted"))?;
                let dir = base.join(&leaf);
                if ctrl == "cpuset" {
                    // New cpuset levels start empty: each inherits its parent's CPUs and mems.
                    let mut level = base.clone();
                    for part in Path::new(&leaf).components() {
                        let parent = level.clone();
                        level = level.join(part);
                        mkdir_all(&level)?;
                        for f in ["cpuset.cpus", "cpuset.mems"] {
                            let cur = fs::read_to_string(level.join(f)).unwrap_or_default();
                            if cur.trim().is_empty() {
                                let p = fs::read_to_string(parent.join(f)).map_err(|e| {
                                    format!("read {}: {e}", parent.join(f).display())
                                })?;
                                write(&level.join(f), p.trim())?;
                            }
                        }
                    }
                    write(&dir.join("cpuset.cpus"), &cpus_text)?;
                } else {
                    mkdir_all(&dir)?;
                }
                match ctrl {
                    "cpu" => {
                        write(&dir.join("cpu.cfs_period_us"), &CFS_PERIOD_US.to_string())?;
                        write(
                            &dir.join("cpu.cfs_quota_us"),
                            &(CFS_PERIOD_US * u64::from(req.cores)).to_string(),
                        )?;
                    }
                    "memory" => {
                        write(
                            &dir.join("memory.limit_in_bytes"),
                            &req.memory_bytes.to_string(),
                        )?;
                        swap = swap_limit(fs::write(
                            dir.join("memory.memsw.limit_in_bytes"),
                            req.memory_bytes.to_string(),
                        ));
                    }
                    _ => {}
                }
                dirs.push(dir);
            }
            for dir in dirs {
                write(&dir.join("cgroup.procs"), &pid)?;
            }
            Ok((CgroupVersion::V1, swap))
        }
        CgroupVersion::V2 => {
            let base = mounts
                .v2_base(&req.cgroup)
                .ok_or("cgroup v2 path of this process not found")?;
            let mut level = base.clone();
            for part in Path::new(&leaf).components() {
                // Controllers must be enabled in the parent before a child can use them.
                let _ = fs::write(level.join("cgroup.subtree_control"), "+cpuset +cpu +memory");
                level = level.join(part);
                mkdir_all(&level)?;
            }
            write(&level.join("cpuset.cpus"), &cpus_text)?;
            write(
                &level.join("cpu.max"),
                &format!("{} {CFS_PERIOD_US}", CFS_PERIOD_US * u64::from(req.cores)),
            )?;
            write(&level.join("memory.max"), &req.memory_bytes.to_string())?;
            swap = swap_limit(fs::write(level.join("memory.swap.max"), "0"));
            write(&level.join("cgroup.procs"), &pid.to_string())?;
            Ok((CgroupVersion::V2, swap))
        }
        CgroupVersion::None => {
            Err("no usable cgroup hierarchy (neither v1 nor v2 memory controller)".into())
        }
    }
}

/// Limits as measured from inside the executor.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub cores: u32,
    pub cpuset: String,
    /// Effective CFS quota in CPUs (smallest over the cgroup ancestry); `None` when unlimited.
    pub cpu_quota: Option<f64>,
    /// Effective memory limit in bytes (smallest over the ancestry); `None` when unlimited.
    pub memory_limit_bytes: Option<u64>,
}

/// Reads a number from a cgroup file, `None` for "max" or unreadable.
fn read_u64(path: &Path) -> Option<u64> {
    let s = fs::read_to_string(path).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Walks from `dir` up to `mount` (inclusive) and returns the smallest value `f` yields.
fn min_over_ancestry<T: PartialOrd + Copy>(
    dir: &Path,
    mount: &Path,
    f: impl Fn(&Path) -> Option<T>,
) -> Option<T> {
    let mut best: Option<T> = None;
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if let Some(v) = f(d) {
            best = Some(match best {
                Some(b) if b < v => b,
                _ => v,
            });
        }
        if d == mount {
            break;
        }
        cur = d.parent();
    }
    best
}

/// Measures the limits this process lives under now.
pub fn measure() -> Measured {
    let cpus = affinity();
    let mounts = Mounts::read();
    let (cpu_quota, memory_limit_bytes) = match mounts.version() {
        CgroupVersion::V1 => {
            let mount_of = |ctrl: &str| {
                mounts
                    .v1
                    .iter()
                    .find(|(c, _, _)| c.iter().any(|x| x == ctrl))
                    .map(|(_, m, _)| m.clone())
            };
            let quota = mounts
                .v1_dir("cpu")
                .zip(mount_of("cpu"))
                .and_then(|(d, m)| {
                    min_over_ancestry(&d, &m, |p| {
                        let q: i64 = fs::read_to_string(p.join("cpu.cfs_quota_us"))
                            .ok()?
                            .trim()
                            .parse()
                            .ok()?;
                        let period = read_u64(&p.join("cpu.cfs_period_us"))?;
                        (q > 0).then(|| q as f64 / period as f64)
                    })
                });
            let mem = mounts
                .v1_dir("memory")
                .zip(mount_of("memory"))
                .and_then(|(d, m)| {
                    min_over_ancestry(&d, &m, |p| {
                        read_u64(&p.join("memory.limit_in_bytes")).filter(|v| *v < V1_UNLIMITED)
                    })
                });
            (quota, mem)
        }
        CgroupVersion::V2 => match (mounts.v2_dir(), mounts.v2.clone()) {
            (Some(d), Some(m)) => {
                let quota = min_over_ancestry(&d, &m, |p| {
                    let s = fs::read_to_string(p.join("cpu.max")).ok()?;
                    let mut it = s.split_whitespace();
                    let q: f64 = it.next()?.parse().ok()?;
                    let period: f64 = it.next()?.parse().ok()?;
                    Some(q / period)
                });
                let mem = min_over_ancestry(&d, &m, |p| read_u64(&p.join("memory.max")));
                (quota, mem)
            }
            _ => (None, None),
        },
        CgroupVersion::None => (None, None),
    };
    Measured {
        cores: cpus.len() as u32,
        cpuset: cpu_list(&cpus),
        cpu_quota,
        memory_limit_bytes,
    }
}

/// Whether measured limits match the request: exactly `cores` CPUs in the mask, a quota of
/// `cores` CPUs, and a memory limit within one 4 KiB page of the request (the kernel rounds).
/// Returns the mismatches as text (empty when everything matches).
pub fn check(measured: &Measured, cores: u32, memory_bytes: u64) -> Vec<String> {
    let mut problems = Vec::new();
    if measured.cores != cores {
        problems.push(format!(
            "affinity has {} CPUs ({}), requested {cores}",
            measured.cores, measured.cpuset
        ));
    }
    match measured.cpu_quota {
        Some(q) if (q - f64::from(cores)).abs() < 0.01 => {}
        Some(q) => problems.push(format!("CPU quota is {q:.2} CPUs, requested {cores}")),
        None => problems.push("no CPU quota".into()),
    }
    match measured.memory_limit_bytes {
        Some(m) if m.abs_diff(memory_bytes) < 4096 => {}
        Some(m) => problems.push(format!(
            "memory limit is {m} bytes, requested {memory_bytes}"
        )),
        None => problems.push("no memory limit".into()),
    }
    problems
}

/// Peak resident set size of this process, bytes (`getrusage` `ru_maxrss`).
pub fn peak_rss_bytes() -> u64 {
    crate::kernel::rusage(libc::RUSAGE_SELF).map_or(0, |ru| ru.ru_maxrss as u64 * 1024)
}

/// Memory accounting of one rank's cgroup after a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RankMemory {
    pub rank: u32,
    /// OOM kills the kernel recorded in this rank's cgroup.
    pub oom_kills: u64,
    /// Peak memory usage of the cgroup, bytes (when the kernel reports it).
    pub peak_bytes: Option<u64>,
    /// The cgroup's memory limit, bytes.
    pub limit_bytes: Option<u64>,
    /// Why the OOM counter could not be read (then `oom_kills` is 0 but proves nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// Memory accounting of this process's own memory cgroup — on a compose node, the container's:
/// OOM kills so far, peak usage (of the cgroup's lifetime) and limit. `rank` is 0.
pub fn own_memory() -> RankMemory {
    let mounts = Mounts::read();
    let mut m = RankMemory {
        rank: 0,
        oom_kills: 0,
        peak_bytes: None,
        limit_bytes: None,
        unreadable: None,
    };
    match mounts.version() {
        CgroupVersion::V1 => {
            if let Some(d) = mounts.v1_dir("memory") {
                (m.oom_kills, m.unreadable) = read_oom_kills(&d.join("memory.oom_control"));
                m.peak_bytes = read_u64(&d.join("memory.max_usage_in_bytes"));
                m.limit_bytes =
                    read_u64(&d.join("memory.limit_in_bytes")).filter(|v| *v < V1_UNLIMITED);
            }
        }
        CgroupVersion::V2 => {
            if let Some(d) = mounts.v2_dir() {
                (m.oom_kills, m.unreadable) = read_oom_kills(&d.join("memory.events"));
                m.peak_bytes = read_u64(&d.join("memory.peak"));
                m.limit_bytes = read_u64(&d.join("memory.max"));
            }
        }
        CgroupVersion::None => {}
    }
    m
}

/// The `oom_kill` counter in `path`, or 0 with the reason it could not be read (a file that
/// cannot be read, or that has no `oom_kill` line).
fn read_oom_kills(path: &Path) -> (u64, Option<String>) {
    match fs::read_to_string(path) {
        Err(e) => (0, Some(format!("cannot read {}: {e}", path.display()))),
        Ok(t) if !t.lines().any(|l| l.starts_with("oom_kill ")) => (
            0,
            Some(format!("{} has no oom_kill counter", path.display())),
        ),
        Ok(t) => (oom_kills(&t), None),
    }
}

fn oom_kills(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Directories of the run's rank cgroups in the memory hierarchy (v1) or the unified one (v2).
fn rank_dirs(cgroup: &str) -> Vec<PathBuf> {
    let mounts = Mounts::read();
    let base = match mounts.version() {
        CgroupVersion::V1 => mounts.v1_base("memory", cgroup),
        CgroupVersion::V2 => mounts.v2_base(cgroup),
        CgroupVersion::None => None,
    };
    let Some(dir) = base.map(|b| b.join(cgroup.trim_matches('/'))) else {
        return Vec::new();
    };
    fs::read_dir(dir)
        .map(|es| {
            es.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("rank"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Driver side: SIGKILLs every process still inside the run's cgroups (executors that outlived
/// a killed `mpirun`) and waits up to `wait` for them to go. Returns how many were signalled.
pub fn kill_remaining(cgroup: &str, wait: std::time::Duration) -> usize {
    let pids = || -> Vec<i32> {
        rank_dirs(cgroup)
            .iter()
            .flat_map(|d| {
                fs::read_to_string(d.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect()
    };
    let first = pids();
    for pid in &first {
        // SAFETY: signals a process of this run's cgroup.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    let t = Instant::now();
    while !pids().is_empty() && t.elapsed() < wait {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    first.len()
}

/// Driver side, after `mpirun` returned: reads every `rank<r>` cgroup under `cgroup` (OOM kills,
/// peak usage, limit) and removes the run's directories in every controller. Missing
/// directories (limits never applied) give an empty list.
pub fn inspect_and_remove(cgroup: &str) -> Vec<RankMemory> {
    let mounts = Mounts::read();
    let rel = cgroup.trim_matches('/');
    let mut out = Vec::new();
    let (mem_dir, all_dirs): (Option<PathBuf>, Vec<PathBuf>) = match mounts.version() {
        CgroupVersion::V1 => (
            mounts.v1_base("memory", cgroup).map(|d| d.join(rel)),
            CONTROLLERS
                .iter()
                .filter_map(|c| mounts.v1_base(c, cgroup).map(|d| d.join(rel)))
                .collect(),
        ),
        CgroupVersion::V2 => {
            let d = mounts.v2_base(cgroup).map(|d| d.join(rel));
            (d.clone(), d.into_iter().collect())
        }
        CgroupVersion::None => (None, Vec::new()),
    };
    let v2 = mounts.version() == CgroupVersion::V2;
    if let Some(dir) = mem_dir {
        if let Ok(entries) = fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(rank) = name.strip_prefix("rank").and_then(|r| r.parse().ok()) else {
                    continue;
                };
                let p = e.path();
                let (events_file, peak, limit) = if v2 {
                    (
                        p.join("memory.events"),
                        read_u64(&p.join("memory.peak")),
                        read_u64(&p.join("memory.max")),
                    )
                } else {
                    (
                        p.join("memory.oom_control"),
                        read_u64(&p.join("memory.max_usage_in_bytes")),
                        read_u64(&p.join("memory.limit_in_bytes")).filter(|v| *v < V1_UNLIMITED),
                    )
                };
                let (kills, unreadable) = read_oom_kills(&events_file);
                out.push(RankMemory {
                    rank,
                    oom_kills: kills,
                    peak_bytes: peak,
                    limit_bytes: limit,
                    unreadable,
                });
            }
        }
    }
    out.sort_by_key(|r| r.rank);
    for dir in all_dirs {
        if let Ok(entries) = fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    let _ = fs::remove_dir(e.path());
                }
            }
        }
        let _ = fs::remove_dir(&dir);
        // Remove the study level too when it became empty; keep `harness/` itself.
        if let Some(parent) = dir.parent() {
            let _ = fs::remove_dir(parent);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_list_compresses_ranges() {
        assert_eq!(cpu_list(&[0, 1, 2, 5]), "0-2,5");
        assert_eq!(cpu_list(&[3]), "3");
        assert_eq!(cpu_list(&[]), "");
        assert_eq!(cpu_list(&[0, 2, 4, 5, 6]), "0,2,4-6");
        for cpus in [vec![0, 1, 2, 5], vec![3], vec![], vec![0, 2, 4, 5, 6]] {
            assert_eq!(parse_cpu_list(&cpu_list(&cpus)), cpus);
        }
        assert_eq!(parse_cpu_list("4-5, 1,x"), vec![1, 4, 5]);
    }

    /// `cgroup-apply` prints the version through serde, records read it as `as_str`: the same
    /// words.
    #[test]
    fn versions_serialise_as_records_name_them() {
        for v in [CgroupVersion::V1, CgroupVersion::V2, CgroupVersion::None] {
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                format!("\"{}\"", v.as_str())
            );
        }
    }

    #[test]
    fn check_reports_each_mismatch() {
        let m = Measured {
            cores: 1,
            cpuset: "0".into(),
            cpu_quota: Some(1.0),
            memory_limit_bytes: Some(1 << 30),
        };
        assert!(check(&m, 1, 1 << 30).is_empty());
        let p = check(&m, 2, 2 << 30);
        assert_eq!(p.len(), 3, "{p:?}");
        let unlimited = Measured {
            cpu_quota: None,
            memory_limit_bytes: None,
            ..m
        };
        assert_eq!(check(&unlimited, 1, 1 << 30).len(), 2);
    }

    #[test]
    fn oom_kill_counter_is_parsed() {
        assert_eq!(
            oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            2
        );
        assert_eq!(oom_kills("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n"), 1);
        assert_eq!(oom_kills(""), 0);
        let dir = tempfile::tempdir().unwrap();
        let missing = read_oom_kills(&dir.path().join("memory.events"));
        assert_eq!(missing.0, 0);
        assert!(missing.1.unwrap().contains("cannot read"));
        std::fs::write(dir.path().join("memory.events"), "low 0\nhigh 0\n").unwrap();
        let no_counter = read_oom_kills(&dir.path().join("memory.events"));
        assert!(no_counter.1.unwrap().contains("no oom_kill counter"));
        std::fs::write(dir.path().join("memory.events"), "oom 1\noom_kill 1\n").unwrap();
        assert_eq!(read_oom_kills(&dir.path().join("memory.events")), (1, None));
    }
}
