//! `command`: any program as a workload. The harness runs it at every point of the grid under
//! the same machinery as its native workloads — cgroup limits applied and measured, contention
//! read from the kernel, records, retries, timeouts, resume, `--hostfile` nodes, report — and
//! reads its result from one JSON line.
//!
//! **Launch**: `launch = "per-executor"` (default) starts one process per executor, by that
//! executor inside its own cgroup, so the executor's CPUs, CPU quota and memory limit hold for
//! the job's whole process tree; `launch = "once"` starts one process given every executor's
//! CPUs and memory together (E × C CPUs, E × M bytes, one cgroup), for engines with a scheduler
//! of their own (Spark `local[N]`, Dask, Ray); the record keeps the point's executor count. The executors have already made the MPI world,
//! so the job gets the environment a distributed job expects (see [`environment`]):
//! `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`
//! (PyTorch's `env://` rendezvous works unchanged; rank 0's executor picks a free port),
//! `OMP_NUM_THREADS` = cores, and `HARNESS_*` variables for the point and the data.
//!
//! **Result**: the job prints one JSON object as its last stdout line, or writes it to the file
//! named by `HARNESS_RESULT` (the file wins): `training_time_sec` and any metrics ([`result`]).
//! Rank 0's result is the run's. Without `training_time_sec` the run's training time is the
//! job's wall time (spawn → exit, barrier-aligned over executors) and the record says so
//! (`times.training_time_source = "process-wall"`, else `"job"`).
//!
//! **What the harness adds** (in `metrics.extra`): `job_startup_sec` (driver's launch → the
//! job's process started, slowest executor), `job_wall_sec` (spawn → exit, slowest executor),
//! `job_cpu_sec` (CPU time of the job's process trees, all executors), `job_peak_bytes` (the
//! largest executor cgroup's peak memory: the job's tree plus the executor itself, a few MB; the
//! largest process's peak RSS where the executor has no cgroup of its own, e.g. `--no-limits`).
//!
//! **Data**: none by default (`--data none`); a directory or `s3://` prefix with `train/` (and
//! optionally `val/`, `test/`) gives the training files at the point's fraction (first
//! `max(1, ⌊n × fraction⌋)` by name) shared among executors by bytes, as for the native
//! workloads; a directory without `train/` gives all its files as the training files.
//!
//! **Failures**: a program that cannot be found stops the study before any run; a non-zero
//! exit or a missing or malformed result line fails the run, quoting the end of its stderr or
//! what it printed and where parsing stopped; a timeout or the memory limit kills the whole
//! process tree (its cgroup) and is recorded as `timeout` or `oom`.
//!
//! This is the one workload whose executor starts a process, and the one whose executors'
//! programs talk over sockets (the job's own rendezvous); the executors themselves still talk
//! only through MPI.

pub mod child;
pub mod result;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness_core::shard::{assign_by_bytes, select_fraction, FileEntry};
use harness_core::StudySpec;
use harness_runtime::workload::{DefaultData, Launch, Machine};
use harness_runtime::{ExecutorContext, Workload, WorkloadError, WorkloadOutput, World};
use serde_json::Value;

/// Name of the workload on the command line and in records.
pub const NAME: &str = "command";

/// The data location meaning "no data".
pub const NO_DATA: &str = "none";

/// Prefixes of variables not passed to the job: the executors' own MPI job (a job that is an
/// MPI program itself would otherwise take itself for one of its ranks).
pub const STRIPPED_ENV: &[&str] = &["OMPI_", "PMIX_", "PRTE_", "OPAL_"];

/// `--help`-style example of how a job is given, used in error messages.
const HOW: &str = "give the command after `--` (harness run command -- python3 job.py) or as \
                   `command = [\"python3\", \"job.py\"]` in a study file";

/// The `command` workload.
pub struct CommandWorkload;

/// The workload's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Program and arguments (`params.command.argv`).
    pub argv: Vec<String>,
    /// `launch`: `"per-executor"` (default) or `"once"`.
    pub launch: Launch,
}

impl Params {
    /// Reads `command = {argv = [...]}` and `launch` from a point's parameters; every other
    /// parameter is the job's own (it gets them all in `HARNESS_PARAMS`).
    ///
    /// # Errors
    /// No command, an empty or non-text argv, an unknown `launch`.
    pub fn from_point(params: &BTreeMap<String, Value>) -> Result<Self, WorkloadError> {
        let argv = match params.get("command") {
            None => return Err(format!("no command to run: {HOW}").into()),
            Some(Value::Object(t)) => match t.get("argv") {
                Some(Value::Array(a)) if !a.is_empty() => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| {
                        format!(
                            "command.argv must be a list of text, got {}",
                            Value::Array(a.clone())
                        )
                    })?,
                _ => return Err(format!("command.argv must be a non-empty list: {HOW}").into()),
            },
            Some(other) => {
                return Err(format!("parameter `command` is {other}, not a command: {HOW}").into())
            }
        };
        if argv[0].is_empty() {
            return Err(format!("the command's program is empty: {HOW}").into());
        }
        let launch = match params.get("launch").map(|v| v.as_str()) {
            None | Some(Some("per-executor")) => Launch::PerExecutor,
            Some(Some("once")) => Launch::Once,
            Some(_) => {
                return Err(format!(
                    "launch = {} is not a launch mode: use \"per-executor\" (one process per \
                     executor) or \"once\" (one process with every executor's cores and memory)",
                    params["launch"]
                )
                .into())
            }
        };
        Ok(Params { argv, launch })
    }
}

/// Where `program` would be started from: itself when it holds a `/` (relative to the current
/// directory), else the first executable of that name on `PATH`.
///
/// # Errors
/// Not found, or not an executable file, naming where it was looked for.
pub fn resolve_program(program: &str) -> Result<PathBuf, WorkloadError> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return if executable(&p) {
            Ok(p)
        } else if p.exists() {
            Err(format!("command `{program}` is not an executable file (chmod +x it, or run it through its interpreter, e.g. python3 {program})").into())
        } else {
            Err(format!(
                "command `{program}` does not exist (relative to {})",
                std::env::current_dir().map_or_else(|_| "?".into(), |d| d.display().to_string())
            )
            .into())
        };
    }
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
        .ok_or_else(|| {
            format!(
                "command `{program}` is not found on PATH ({path}): install it or give its path"
            )
            .into()
        })
}

/// The files a job is given, as absolute paths or `s3://` URLs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFiles {
    /// The point's fraction of the training files (every executor's shard together).
    pub train: Vec<FileEntry>,
    /// This executor's byte-balanced shard of `train`.
    pub shard: Vec<FileEntry>,
    /// Validation and test files (whole splits), where the data has them.
    pub val: Vec<FileEntry>,
    pub test: Vec<FileEntry>,
}

impl JobFiles {
    /// Lists the files of `data` for executor `rank` of `executors` at `fraction` (see the
    /// module doc); nothing for [`NO_DATA`].
    ///
    /// # Errors
    /// An unreadable directory or S3 listing, or no training file.
    pub fn list(
        data: &str,
        fraction: f64,
        rank: u32,
        executors: u32,
    ) -> Result<Self, WorkloadError> {
        if data == NO_DATA {
            return Ok(JobFiles::default());
        }
        let root = data.trim_end_matches('/');
        let split = |name: &str| -> Result<Vec<FileEntry>, WorkloadError> {
            if data.starts_with("s3://") {
                return Ok(harness_runtime::data::list_split(data, name)?);
            }
            let dir = Path::new(root).join(name);
            if !dir.is_dir() {
                return Ok(Vec::new());
            }
            walk(&dir, name)
        };
        let mut train = split("train")?;
        let (val, test) = if train.is_empty() && !data.starts_with("s3://") {
            train = walk(Path::new(root), "")?;
            (Vec::new(), Vec::new())
        } else {
            (
                split("val").unwrap_or_default(),
                split("test").unwrap_or_default(),
            )
        };
        if train.is_empty() {
            return Err(format!("{data} holds no files: give a directory of input files (or with train/ val/ test/), or --data none").into());
        }
        let absolute = |files: Vec<FileEntry>| -> Vec<FileEntry> {
            files
                .into_iter()
                .map(|f| FileEntry {
                    path: format!("{root}/{}", f.path),
                    bytes: f.bytes,
                })
                .collect()
        };
        let train = absolute(select_fraction(train, fraction));
        let shard = assign_by_bytes(&train, executors as usize).swap_remove(rank as usize);
        Ok(JobFiles {
            train,
            shard,
            val: absolute(val),
            test: absolute(test),
        })
    }
}

/// Regular files below `dir`, recursively, with paths relative to `dir`'s parent data root
/// (`prefix/…`), sorted by path; hidden files (a name starting with `.`) are left out.
fn walk(dir: &Path, prefix: &str) -> Result<Vec<FileEntry>, WorkloadError> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), prefix.to_string())];
    while let Some((d, rel)) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("cannot list {}: {e}", d.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("cannot list {}: {e}", d.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::metadata(e.path())
                .map_err(|err| format!("cannot read {}: {err}", e.path().display()))?;
            if meta.is_dir() {
                stack.push((e.path(), path));
            } else if meta.is_file() {
                out.push(FileEntry {
                    path,
                    bytes: meta.len(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Where this executor stands in the run, for [`environment`].
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub rank: u32,
    pub world_size: u32,
    pub local_rank: u32,
    pub local_world_size: u32,
    /// Rank 0's address as the other executors reach it, and a port free there.
    pub master_addr: String,
    pub master_port: u16,
}

/// The variables the job gets (besides the executor's own environment, less
/// [`STRIPPED_ENV`]). Lists of files hold one path per line (Python: `.splitlines()`).
///
/// - PyTorch's `env://`: `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`,
///   `MASTER_ADDR`, `MASTER_PORT` (with `launch = "once"`: rank 0 of 1); `OMP_NUM_THREADS` =
///   the process's cores.
/// - The launch: `HARNESS_LAUNCH` (`per-executor` or `once`), `HARNESS_PROCESS_CORES` and
///   `HARNESS_PROCESS_MEMORY_BYTES` (what this process has: an executor's, or all of them
///   together when launched once — e.g. Spark's `local[N]`).
/// - The point: `HARNESS_EXECUTORS`, `HARNESS_CORES`, `HARNESS_MEMORY_BYTES` (per executor),
///   `HARNESS_FRACTION`, `HARNESS_REPETITION`, `HARNESS_SEED` (the `seed` parameter when the
///   study gives one, else the repetition), `HARNESS_PARAMS` (all parameters as a JSON
///   object), `HARNESS_STUDY`, `HARNESS_RUN_ID`.
/// - The data: `HARNESS_DATA` (the location, `none` without data), `HARNESS_FILES` (the
///   fraction's training files), `HARNESS_SHARD_FILES` (this executor's share of them, by
///   bytes), `HARNESS_VAL_FILES`, `HARNESS_TEST_FILES`.
/// - Output: `HARNESS_RESULT` (a file the job may write its result to), `HARNESS_ARTIFACTS`
///   (a directory for models and logs, kept with the run; write it from rank 0).
pub fn environment(
    job: &harness_core::JobSpec,
    at: &Placement,
    files: &JobFiles,
    result_path: &str,
) -> Vec<(String, String)> {
    let p = &job.point;
    let list = |f: &[FileEntry]| {
        f.iter()
            .map(|e| e.path.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let seed = p
        .params
        .get("seed")
        .and_then(Value::as_u64)
        .unwrap_or(u64::from(job.repetition));
    let mut env: Vec<(&str, String)> = vec![
        ("RANK", at.rank.to_string()),
        ("WORLD_SIZE", at.world_size.to_string()),
        ("LOCAL_RANK", at.local_rank.to_string()),
        ("LOCAL_WORLD_SIZE", at.local_world_size.to_string()),
        ("MASTER_ADDR", at.master_addr.clone()),
        ("MASTER_PORT", at.master_port.to_string()),
        ("OMP_NUM_THREADS", job.process_cores().to_string()),
        (
            "HARNESS_LAUNCH",
            if job.once { "once" } else { "per-executor" }.to_string(),
        ),
        ("HARNESS_EXECUTORS", p.executors.to_string()),
        ("HARNESS_CORES", p.cores.to_string()),
        ("HARNESS_MEMORY_BYTES", p.memory_bytes.to_string()),
        ("HARNESS_PROCESS_CORES", job.process_cores().to_string()),
        (
            "HARNESS_PROCESS_MEMORY_BYTES",
            job.process_memory_bytes().to_string(),
        ),
        ("HARNESS_FRACTION", p.fraction.to_string()),
        ("HARNESS_REPETITION", job.repetition.to_string()),
        ("HARNESS_SEED", seed.to_string()),
        (
            "HARNESS_PARAMS",
            serde_json::to_string(&p.params).expect("parameters serialise"),
        ),
        ("HARNESS_STUDY", job.study.clone()),
        ("HARNESS_RUN_ID", job.run_id.clone()),
        ("HARNESS_DATA", job.data.clone()),
        ("HARNESS_FILES", list(&files.train)),
        ("HARNESS_SHARD_FILES", list(&files.shard)),
        ("HARNESS_VAL_FILES", list(&files.val)),
        ("HARNESS_TEST_FILES", list(&files.test)),
        ("HARNESS_RESULT", result_path.to_string()),
    ];
    if let Some(a) = &job.artifacts_dir {
        env.push(("HARNESS_ARTIFACTS", a.clone()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Rank 0's address as every executor reaches it (`127.0.0.1` when all executors share its
/// host, else its host name) and a TCP port that was free there a moment ago (bound to port 0
/// on all interfaces, then released for the job to take), sent to every executor.
///
/// # Errors
/// No port could be bound on rank 0.
fn rendezvous(world: &World) -> Result<(String, u16), WorkloadError> {
    let hosts = world.gather_json(&world.host());
    let mut buf = [0u8; 256];
    if let Some(hosts) = hosts {
        let addr = if hosts.iter().all(|h| *h == hosts[0]) {
            "127.0.0.1".to_string()
        } else {
            hosts[0].clone()
        };
        let port = std::net::TcpListener::bind("0.0.0.0:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("rank 0 cannot find a free TCP port for MASTER_PORT: {e}"))?
            .port();
        let text = format!("{addr} {port}");
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
    }
    world.broadcast(&mut buf[..]);
    let text = String::from_utf8_lossy(&buf);
    let text = text.trim_end_matches('\0');
    let (addr, port) = text.rsplit_once(' ').unwrap_or((text, "0"));
    Ok((addr.to_string(), port.parse().unwrap_or(0)))
}

impl Workload for CommandWorkload {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        "any program, one process per executor in its cgroup, with RANK/WORLD_SIZE/MASTER_ADDR and HARNESS_* variables; result from its last JSON line"
    }

    fn takes_program(&self) -> bool {
        true
    }

    /// `launch = "once"`: one process with every executor's cores and memory.
    fn launch(&self, point: &harness_core::record::Point) -> Launch {
        Params::from_point(&point.params).map_or(Launch::PerExecutor, |p| p.launch)
    }

    fn prepare_params(
        &self,
        params: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, WorkloadError> {
        let p = Params::from_point(params)?;
        resolve_program(&p.argv[0])?;
        Ok(params.clone())
    }

    fn check_data(&self, location: &str) -> Result<(), WorkloadError> {
        JobFiles::list(location, 1.0, 0, 1).map(|_| ())
    }

    fn default_data(&self) -> DefaultData {
        DefaultData::Builtin(NO_DATA)
    }

    /// 1 executor, then 2 when the machine has 2 logical CPUs, 1 core and 1g each, no data,
    /// 1 repetition; the command comes from the user.
    fn default_study(&self, machine: &Machine) -> StudySpec {
        StudySpec {
            name: "command-local".into(),
            workload: NAME.into(),
            executors: [1, 2]
                .into_iter()
                .filter(|e| *e <= machine.logical_cpus.max(1))
                .collect(),
            cores: vec![1],
            memory: vec!["1g".into()],
            fractions: vec![1.0],
            repetitions: 1,
            timeout_sec: 3600,
            data: None,
            params: BTreeMap::new(),
        }
    }

    fn progress_metrics(&self) -> &'static [(&'static str, &'static str)] {
        &[("job_wall_sec", "s job wall")]
    }

    fn run(&self, ctx: &mut ExecutorContext<'_>) -> Result<WorkloadOutput, WorkloadError> {
        let params = Params::from_point(&ctx.job.point.params)?;
        let world = ctx.world;
        let job = ctx.job;
        let files =
            ctx.load(|| JobFiles::list(&job.data, job.point.fraction, world.rank(), world.size()))?;
        ctx.reading(&files.shard);
        let (master_addr, master_port) = rendezvous(world)?;
        let at = Placement {
            rank: world.rank(),
            world_size: world.size(),
            local_rank: world.local_rank(),
            local_world_size: world.local_size(),
            master_addr,
            master_port,
        };
        let result_path = format!("{}.{}.result.json", job.error_prefix, world.rank());
        let _ = std::fs::remove_file(&result_path);
        let env = environment(job, &at, &files, &result_path);
        let startup = harness_runtime::clock::since_launch(
            job.launch_monotonic_ns,
            job.driver_boot_id.as_deref(),
            job.launch_unix,
            job.clock_offset_sec,
        )
        .0;
        let host = world.host();
        let finished = ctx.train(|| child::run(&params.argv, &env, STRIPPED_ENV, &host))?;
        let peak = own_cgroup_peak(job).unwrap_or(finished.max_process_rss_bytes);

        // Rank 0's result is the run's; read it before the collectives so a bad one fails the
        // run (the other ranks are then aborted).
        let reported = if world.is_root() {
            Some(read_result(&finished, &result_path)?)
        } else {
            None
        };
        let job_wall_sec = world.max_f64(finished.wall_sec);
        let job_startup_sec = world.max_f64(startup);
        let job_peak_bytes = world.max_f64(peak as f64);
        let mut cpu = [finished.cpu_sec];
        world.sum_in_place(&mut cpu);
        let mut out = WorkloadOutput {
            files: files.shard.clone(),
            ..WorkloadOutput::default()
        };
        if let Some(r) = reported {
            if !r.ignored.is_empty() {
                println!(
                    "harness: the result's keys {} are not numbers; not recorded",
                    r.ignored.join(", ")
                );
            }
            out.metrics = r.metrics;
            let x = &mut out.metrics.extra;
            x.insert("job_wall_sec".into(), job_wall_sec);
            x.insert("job_startup_sec".into(), job_startup_sec);
            x.insert("job_cpu_sec".into(), cpu[0]);
            x.insert("job_peak_bytes".into(), job_peak_bytes);
            out.training_time_sec = r.training_time_sec;
            out.training_time_source = Some(if r.training_time_sec.is_some() {
                "job"
            } else {
                "process-wall"
            });
        }
        Ok(out)
    }
}

/// Peak memory of this executor's own cgroup (the job's tree and the executor), bytes — only
/// when the executor is in the run's cgroup (`job.cgroup`): without limits it would be some
/// larger group's.
fn own_cgroup_peak(job: &harness_core::JobSpec) -> Option<u64> {
    let name = job.cgroup.as_deref()?.trim_start_matches('/');
    let ours = harness_runtime::limits::own_cpu_stat()?;
    if !ours.to_string_lossy().contains(name) {
        return None;
    }
    harness_runtime::limits::own_memory().peak_bytes
}

/// The job's result: the `HARNESS_RESULT` file when the job wrote it, else its last stdout
/// line.
fn read_result(
    finished: &child::Finished,
    result_path: &str,
) -> Result<result::JobResult, WorkloadError> {
    if let Ok(text) = std::fs::read_to_string(result_path) {
        return Ok(result::parse(
            &text,
            &format!("HARNESS_RESULT file {result_path}"),
        )?);
    }
    let line = finished
        .last_stdout_line
        .as_deref()
        .ok_or(result::ResultError::Nothing)?;
    Ok(result::parse(line, "its last stdout line")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_command_is_read_and_checked() {
        let p = Params::from_point(&params(
            json!({"command": {"argv": ["sh", "-c", "true"]}, "lr": 0.1}),
        ))
        .unwrap();
        assert_eq!(p.argv, vec!["sh", "-c", "true"]);
        assert_eq!(p.launch, Launch::PerExecutor);
        let once = params(json!({"command": {"argv": ["sh"]}, "launch": "once"}));
        assert_eq!(Params::from_point(&once).unwrap().launch, Launch::Once);
        for (bad, says) in [
            (json!({}), "no command to run"),
            (json!({"command": "python3 job.py"}), "not a command"),
            (json!({"command": {"argv": []}}), "non-empty list"),
            (json!({"command": {"argv": [1]}}), "list of text"),
            (
                json!({"command": {"argv": ["sh"]}, "launch": "twice"}),
                "not a launch mode",
            ),
        ] {
            let e = Params::from_point(&params(bad)).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert!(resolve_program("sh").unwrap().is_absolute());
        let e = resolve_program("no-such-program-xyz")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not found on PATH"), "{e}");
        let e = resolve_program("./no/such/job.py").unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        let script = tmp.path().join("job.py");
        std::fs::write(&script, "print(1)").unwrap();
        let e = resolve_program(script.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an executable file"), "{e}");
    }

    #[test]
    fn files_are_the_fraction_shared_by_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("train")).unwrap();
        std::fs::create_dir_all(root.join("test")).unwrap();
        for (name, bytes) in [("a", 400), ("b", 100), ("c", 300), ("d", 200), ("e", 50)] {
            std::fs::write(root.join("train").join(name), vec![0u8; bytes]).unwrap();
        }
        std::fs::write(root.join("train/.hidden"), "x").unwrap();
        std::fs::write(root.join("test/t"), "x").unwrap();
        let data = root.display().to_string();
        // Fraction 0.8 of 5 files: a b c d; by bytes: a(400) → 0, c(300) → 1, d(200) → 1,
        // b(100) → 0.
        let r0 = JobFiles::list(&data, 0.8, 0, 2).unwrap();
        let r1 = JobFiles::list(&data, 0.8, 1, 2).unwrap();
        let names = |f: &[FileEntry]| -> Vec<String> {
            f.iter()
                .map(|e| e.path.rsplit('/').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&r0.train), ["a", "b", "c", "d"]);
        assert_eq!(names(&r0.shard), ["a", "b"]);
        assert_eq!(names(&r1.shard), ["c", "d"]);
        assert_eq!(r0.test[0].path, format!("{data}/test/t"));
        assert!(r0.val.is_empty());
        // Without train/: every file below the directory.
        let flat = JobFiles::list(&format!("{data}/train"), 1.0, 0, 1).unwrap();
        assert_eq!(names(&flat.train), ["a", "b", "c", "d", "e"]);
        assert_eq!(
            JobFiles::list(NO_DATA, 0.5, 0, 2).unwrap(),
            JobFiles::default()
        );
        let empty = tempfile::tempdir().unwrap();
        let e = JobFiles::list(empty.path().to_str().unwrap(), 1.0, 0, 1).unwrap_err();
        assert!(e.to_string().contains("holds no files"), "{e}");
    }
}
