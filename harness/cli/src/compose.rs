//! `harness profile compose`: the same studies on a docker-compose cluster of resource-limited
//! containers, with the data on the cluster's S3 store.
//!
//! Steps: check Docker and Compose; make the base image if no registry is reachable
//! (`docker/make-base.sh`: debootstrap + `docker import`); build `harness-node` (this very
//! binary + Open MPI + sshd, `docker/Dockerfile`) and `harness-s3` (s3s-fs, `docker/s3.Dockerfile`);
//! then per (cores, memory) group of points — so the cluster is reshaped as rarely as possible —
//! `up --scale executor=<largest executor count>` with `cpus`/`mem_limit` of the group, pin
//! each executor container to its own CPUs (`docker update --cpuset-cpus`), write an Open MPI
//! hostfile of the executors' addresses, and run the group's points from the `head` container
//! (`harness study … --hostfile … --resume`), whose `mpirun` reaches the executors over ssh.
//! A run that is not ok (an executor container killed or stopped, an OOM kill) is recorded by the
//! head; then, up to `--retries` rounds, the group's cluster is recreated and only those runs are
//! made again as their next attempt (`--retry-failed`).
//! Records land in the host's results directory (mounted as /work/results on every node); the
//! report is rendered on the host. The cluster is torn down at the end unless `--keep`.
//!
//! The Docker files are compiled into the binary, so `harness` needs no checkout to do this.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::process::run;
use harness_core::units::format_bytes;
use harness_core::StudySpec;
use harness_runtime::workload::DefaultData;
use harness_runtime::Workload;

const DOCKERFILE: &str = include_str!("../../../docker/Dockerfile");
const S3_DOCKERFILE: &str = include_str!("../../../docker/s3.Dockerfile");
const COMPOSE: &str = include_str!("../../../docker/compose.yaml");
const MAKE_BASE: &str = include_str!("../../../docker/make-base.sh");
const NODE_CGROUPS: &str = include_str!("../../../docker/compose.node-cgroups.yaml");

/// Compose project name.
pub const PROJECT: &str = "harness";
/// Bucket of the cluster's S3 store.
pub const BUCKET: &str = "data";

/// Options of a compose study besides the grid.
pub struct ComposeOptions {
    /// Host results root (mounted as /work/results).
    pub results: PathBuf,
    /// Where compose files, hostfiles and the S3 store's directory live.
    pub work: PathBuf,
    /// Leave the cluster up at the end.
    pub keep: bool,
    /// `--resume` for the study.
    pub resume: bool,
    /// `--retries`, `--timeout` passed on.
    pub retries: u32,
    /// s3s-fs binary to put in the S3 image.
    pub s3s: PathBuf,
}

/// `docker-compose` (1.x, Debian) or `docker compose` (2.x), whichever works.
fn compose_cmd() -> Result<Vec<String>> {
    for c in [vec!["docker", "compose"], vec!["docker-compose"]] {
        let ok = Command::new(c[0])
            .args(&c[1..])
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(c.into_iter().map(String::from).collect());
        }
    }
    bail!("neither `docker compose` nor `docker-compose` works: install Docker Compose (Debian: docker-compose)")
}

/// Whether a Docker daemon answers; `Err` with the reason when not.
pub fn docker_reachable() -> Result<()> {
    let out = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .context("`docker` is not installed")?;
    if !out.status.success() {
        bail!(
            "no Docker daemon reachable: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

struct Cluster {
    compose: Vec<String>,
    file: PathBuf,
    /// A second compose file layered over `file` (`compose-up --node-limits`).
    overlay: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl Cluster {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.compose[0]);
        c.args(&self.compose[1..])
            .args(["-p", PROJECT, "-f"])
            .arg(&self.file);
        if let Some(o) = &self.overlay {
            c.arg("-f").arg(o);
        }
        c.args(args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn containers(&self, service: &str) -> Result<Vec<String>> {
        let ids = run(&mut self.cmd(&["ps", "-q", service]), None, "compose ps")?;
        let mut named = Vec::new();
        for id in ids.split_whitespace() {
            let name = run(
                Command::new("docker").args(["inspect", "-f", "{{.Name}}", id]),
                None,
                "docker inspect",
            )?;
            named.push(name.trim().trim_start_matches('/').to_string());
        }
        // executor_1, executor_2, … in replica order.
        named.sort_by_key(|n| {
            n.rsplit(['_', '-'])
                .next()
                .and_then(|i| i.parse::<u32>().ok())
                .unwrap_or(0)
        });
        Ok(named)
    }

    /// Brings up a fresh cluster of `executors` executors, pins executor k to CPUs
    /// `k·cores …` (mod the host's `cpus`) and writes their addresses to `<work>/work/hosts`.
    /// Returns the head container's name.
    fn start(&self, executors: u32, cores: u32, cpus: u32, work: &Path) -> Result<String> {
        self.down();
        run(
            &mut self.cmd(&["up", "-d", "--scale", &format!("executor={executors}")]),
            None,
            "compose up",
        )?;
        let cpus = cpus.max(1);
        let mut hosts = String::new();
        for (k, name) in self.containers("executor")?.iter().enumerate() {
            let first = (k as u32 * cores) % cpus;
            let set: Vec<String> = (0..cores)
                .map(|j| ((first + j) % cpus).to_string())
                .collect();
            run(
                Command::new("docker").args(["update", "--cpuset-cpus", &set.join(","), name]),
                None,
                "docker update --cpuset-cpus",
            )?;
            hosts.push_str(&format!("{} slots=1\n", ip_of(name)?));
        }
        std::fs::write(work.join("work/hosts"), hosts)?;
        self.containers("head")?
            .into_iter()
            .next()
            .context("no head container")
    }

    fn down(&self) {
        // The head first and at once: a study still running there (its host driver was killed)
        // must not record the executors' teardown as a failed run.
        let _ = self.cmd(&["kill", "head"]).output();
        let _ = self.cmd(&["down", "-v", "-t", "2"]).output();
    }
}

/// Puts the shared libraries the binary links from its build-time native-library directories
/// (`HARNESS_NATIVE_LIBS`, set by build.rs: libtorch's, and the one holding LightGBM's
/// `lib_lightgbm.so` and XGBoost's `libxgboost.so` from PyPI's wheels) into `lib`, which the
/// node image holds at `/usr/local/lib/harness` — where the binary's `$ORIGIN/../lib/harness`
/// rpath finds them: every `.so` of those directories (~470 MB, almost all of it
/// libtorch_cpu). Hard links where the file systems allow, copies otherwise; a symbolic link is
/// shipped as the file it points to.
pub fn ship_libraries(lib: &Path) -> Result<()> {
    if lib.exists() {
        std::fs::remove_dir_all(lib).with_context(|| format!("cannot clear {}", lib.display()))?;
    }
    std::fs::create_dir_all(lib)?;
    for from in env!("HARNESS_NATIVE_LIBS")
        .split(':')
        .filter(|d| !d.is_empty())
    {
        let entries = std::fs::read_dir(from).with_context(|| {
            format!("cannot read the native libraries in {from}, which this binary was built against (run `bash .ci/install`)")
        })?;
        for e in entries {
            let path = e?.path();
            let name = path.file_name().expect("a directory entry has a name");
            if !name.to_string_lossy().contains(".so") {
                continue;
            }
            let to = lib.join(name);
            let real = std::fs::canonicalize(&path)
                .with_context(|| format!("cannot resolve {}", path.display()))?;
            if std::fs::hard_link(&real, &to).is_err() {
                std::fs::copy(&real, &to).with_context(|| {
                    format!("cannot copy {} to {}", path.display(), to.display())
                })?;
            }
        }
    }
    Ok(())
}

fn build_images(work: &Path, s3s: &Path) -> Result<()> {
    let make_base = work.join("make-base.sh");
    std::fs::write(&make_base, MAKE_BASE)?;
    eprintln!("compose: base image (debian:bookworm-slim, made with debootstrap when no registry answers)");
    run(
        Command::new("bash").arg(&make_base),
        None,
        "docker/make-base.sh",
    )?;
    let node = work.join("node-context");
    std::fs::create_dir_all(&node)?;
    let exe = std::env::current_exe().context("cannot find the harness binary")?;
    std::fs::copy(&exe, node.join("harness"))?;
    ship_libraries(&node.join("lib"))?;
    std::fs::write(node.join("Dockerfile"), DOCKERFILE)?;
    eprintln!("compose: building harness-node");
    run(
        Command::new("docker")
            .args(["build", "-q", "-t", "harness-node:latest"])
            .arg(&node),
        None,
        "docker build harness-node",
    )?;
    let s3 = work.join("s3-context");
    std::fs::create_dir_all(&s3)?;
    std::fs::copy(s3s, s3.join("s3s-fs")).with_context(|| {
        format!(
            "cannot copy the s3s-fs binary {} (install it: `bash .ci/install --tests`, or set HARNESS_S3S)",
            s3s.display()
        )
    })?;
    std::fs::write(s3.join("Dockerfile"), S3_DOCKERFILE)?;
    eprintln!("compose: building harness-s3");
    run(
        Command::new("docker")
            .args(["build", "-q", "-t", "harness-s3:latest"])
            .arg(&s3),
        None,
        "docker build harness-s3",
    )?;
    // Rebuilds leave the previous images untagged: remove those of ours only.
    let _ = Command::new("docker")
        .args([
            "image",
            "prune",
            "-f",
            "--filter",
            "label=org.scaling-harness.image",
        ])
        .output();
    Ok(())
}

fn ip_of(container: &str) -> Result<String> {
    let ip = run(
        Command::new("docker").args([
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            container,
        ]),
        None,
        "docker inspect",
    )?;
    Ok(ip.trim().to_string())
}

/// `harness compose-up`: brings up the compose cluster — `executors` executor containers of
/// `cores` CPUs and `memory` each, a head and the S3 store — as stand-ins for provisioned cloud
/// nodes, and returns what `terraform output -json` would say of them (head and executor
/// addresses, ssh user root, bucket `data`), plus `ssh_private_key_path`: the nodes' key, copied
/// out of the image into `<work>/ssh/`. `harness server --tf-outputs` then runs on them.
///
/// With `node_limits` the executor containers have no CPU quota and no memory limit, and a
/// writable cgroup file system (`docker/compose.node-cgroups.yaml` mounts this machine's
/// `/sys/fs/cgroup` read-write), like a cloud VM: only the cgroups the executors make on their
/// node can limit them. Each is still pinned to its own `cores` CPUs of this
/// machine, standing in for the CPUs of a separate machine.
///
/// # Errors
/// Docker/Compose missing or failing.
pub fn up(
    work: &Path,
    s3s: &Path,
    executors: u32,
    cores: u32,
    memory: &str,
    node_limits: bool,
) -> Result<serde_json::Value> {
    docker_reachable()?;
    let compose = compose_cmd()?;
    let bytes = harness_core::parse_memory(memory)?;
    let work = std::path::absolute(work)?;
    for d in ["s3data/data", "work", "results"] {
        std::fs::create_dir_all(work.join(d))?;
    }
    build_images(&work, s3s)?;
    let file = work.join("compose.yaml");
    std::fs::write(&file, COMPOSE)?;
    let mut env = cluster_env(&work, &work.join("results"));
    let mut overlay = None;
    if node_limits {
        env.push(("HARNESS_CPUS".into(), "0".into()));
        env.push(("HARNESS_MEMORY".into(), "0".into()));
        let o = work.join("compose.node-cgroups.yaml");
        std::fs::write(&o, NODE_CGROUPS)?;
        overlay = Some(o);
    } else {
        env.push(("HARNESS_CPUS".into(), cores.to_string()));
        env.push(("HARNESS_MEMORY".into(), bytes.to_string()));
    }
    let cluster = Cluster {
        compose,
        file,
        overlay,
        env,
    };
    let head = cluster.start(executors, cores, crate::provenance::logical_cpus(), &work)?;
    let ips = cluster
        .containers("executor")?
        .iter()
        .map(|c| ip_of(c))
        .collect::<Result<Vec<_>>>()?;
    let key_dir = work.join("ssh");
    std::fs::create_dir_all(&key_dir)?;
    let key = key_dir.join("id_ed25519");
    let _ = std::fs::remove_file(&key);
    run(
        Command::new("docker")
            .args(["cp", &format!("{head}:/root/.ssh/id_ed25519")])
            .arg(&key),
        None,
        "docker cp of the nodes' ssh key",
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
    let value = |v: serde_json::Value| serde_json::json!({ "sensitive": false, "value": v });
    Ok(serde_json::json!({
        "head_public_ip": value(ip_of(&head)?.into()),
        "executor_private_ips": value(ips.into()),
        "ssh_user": value("root".into()),
        "bucket": value(BUCKET.into()),
        "region": value("us-east-1".into()),
        "ssh_private_key_path": value(key.display().to_string().into()),
    }))
}

/// `harness compose-down`: stops and removes the cluster [`up`] started.
///
/// # Errors
/// Docker/Compose missing.
pub fn down(work: &Path) -> Result<()> {
    let compose = compose_cmd()?;
    let work = std::path::absolute(work)?;
    let cluster = Cluster {
        compose,
        file: work.join("compose.yaml"),
        overlay: None,
        env: cluster_env(&work, &work.join("results")),
    };
    cluster.down();
    Ok(())
}

/// The compose file's directories: the S3 store's, the shared /work and the results.
fn cluster_env(work: &Path, results: &Path) -> Vec<(String, String)> {
    vec![
        (
            "HARNESS_S3_DIR".to_string(),
            work.join("s3data").display().to_string(),
        ),
        (
            "HARNESS_WORK_DIR".to_string(),
            work.join("work").display().to_string(),
        ),
        (
            "HARNESS_RESULTS_DIR".to_string(),
            results.display().to_string(),
        ),
    ]
}

/// Runs `spec` on the compose cluster; `data` is `s3://…` on the cluster store, a local
/// directory that is uploaded there first, or `None` for the workload's default data. Returns the head's exit code (0 all ok, 3 some runs
/// not ok).
///
/// # Errors
/// Docker/Compose missing or failing, bad data.
pub fn run_study(
    spec: &StudySpec,
    workload: &dyn Workload,
    data: Option<&str>,
    opts: &ComposeOptions,
) -> Result<i32> {
    docker_reachable()?;
    let compose = compose_cmd()?;
    spec.validate()?;
    let work = std::path::absolute(&opts.work)?;
    let results = std::path::absolute(&opts.results)?;
    std::fs::create_dir_all(work.join("s3data").join(BUCKET))?;
    std::fs::create_dir_all(work.join("work"))?;
    std::fs::create_dir_all(&results)?;
    build_images(&work, &opts.s3s)?;
    let file = work.join("compose.yaml");
    std::fs::write(&file, COMPOSE)?;
    let base_env = cluster_env(&work, &results);
    let cpus = crate::provenance::logical_cpus();

    // Groups of points with equal (cores, memory): one cluster shape each.
    let mut groups: Vec<(u32, String)> = Vec::new();
    for c in &spec.cores {
        for m in &spec.memory {
            groups.push((*c, m.clone()));
        }
    }
    let largest = *spec.executors.iter().max().expect("validated");
    let mut code = 0;
    let mut data_url: Option<String> = data.map(String::from);
    for (i, (cores, memory)) in groups.iter().enumerate() {
        let bytes = harness_core::parse_memory(memory)?;
        let mut env = base_env.clone();
        env.push(("HARNESS_CPUS".into(), cores.to_string()));
        env.push(("HARNESS_MEMORY".into(), bytes.to_string()));
        let cluster = Cluster {
            compose: compose.clone(),
            file: file.clone(),
            overlay: None,
            env,
        };
        eprintln!(
            "compose: cluster {}/{}: {largest} executors × {cores} CPU, {} each",
            i + 1,
            groups.len(),
            format_bytes(bytes)
        );
        let mut group = spec.clone();
        group.cores = vec![*cores];
        group.memory = vec![memory.clone()];
        let mut round = 0u32;
        let c = loop {
            // A clean cluster for every shape and every retry round: nothing left from before.
            let result = cluster
                .start(largest, *cores, cpus, &work)
                .and_then(|head| {
                    let url = cluster_data(data_url.as_deref(), workload, &head, &work)?;
                    data_url = Some(url.clone());
                    let resume = i > 0 || opts.resume || round > 0;
                    run_group(&head, &group, &url, &work, resume, round > 0)
                });
            let last = round >= opts.retries
                || !matches!(result, Ok(c) if c == i32::from(crate::exit::RUNS_NOT_OK));
            if !last || !opts.keep || i + 1 < groups.len() {
                cluster.down();
            }
            let c = result?;
            if last {
                break c;
            }
            round += 1;
            eprintln!(
                "compose: some runs were not ok: retrying them on a clean cluster (round {round} of {})",
                opts.retries
            );
        };
        if c == i32::from(crate::exit::ERROR) {
            bail!("the study in the head container failed (exit 1): see above");
        }
        code = code.max(c);
    }
    Ok(code)
}

/// Makes the data reachable from the cluster and returns its location there: no data → the
/// workload's default (its built-in name, or its default data set generated into the cluster
/// store once); a local directory → uploaded to the store; `s3://…` as it is.
fn cluster_data(
    data_url: Option<&str>,
    workload: &dyn Workload,
    head: &str,
    work: &Path,
) -> Result<String> {
    let Some(data_url) = data_url else {
        return match workload.default_data() {
            DefaultData::Builtin(name) => Ok(name.to_string()),
            DefaultData::Required(hint) => bail!("no data location: {hint}"),
            DefaultData::Generated { key, describe } => {
                let generator = workload
                    .generator()
                    .context("the workload's default data has no generator")?;
                let marker = work
                    .join("s3data")
                    .join(BUCKET)
                    .join(&key)
                    .join(".complete");
                let url = format!("s3://{BUCKET}/{key}");
                if !marker.exists() {
                    eprintln!("compose: generating {describe} into {url} (once)");
                    docker_exec(
                        head,
                        &[
                            "harness",
                            "data",
                            "generate",
                            generator.name(),
                            "--out",
                            &url,
                        ],
                    )?;
                    std::fs::write(&marker, "complete\n")?;
                }
                Ok(url)
            }
        };
    };
    if crate::datasets::readable_anywhere(workload, data_url) {
        return Ok(data_url.to_string());
    }
    let name = Path::new(data_url)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "data".into());
    let dest = work.join("work/upload").join(&name);
    let _ = std::fs::remove_dir_all(&dest);
    crate::transfer::copy_tree(Path::new(data_url), &dest)?;
    let url = format!("s3://{BUCKET}/{name}");
    eprintln!("compose: uploading {data_url} to the cluster store as {url}");
    let upload = docker_exec(
        head,
        &[
            "harness",
            "data",
            "upload",
            &format!("/work/upload/{name}"),
            &url,
        ],
    );
    let _ = std::fs::remove_dir_all(&dest);
    upload.map(|()| url)
}

/// Runs `group` (one cluster shape) from the head container; returns its exit code.
/// Retries are made by the caller on a clean cluster (a dead container stays dead), so the
/// head gets `--retries 0`, and `--retry-failed` in retry rounds.
fn run_group(
    head: &str,
    group: &StudySpec,
    data_url: &str,
    work: &Path,
    resume: bool,
    retry_failed: bool,
) -> Result<i32> {
    std::fs::write(work.join("work/study.toml"), group.to_toml())?;
    let mut args = vec![
        "harness",
        "study",
        "/work/study.toml",
        "--hostfile",
        "/work/hosts",
        "--results",
        "/work/results",
        "--reports",
        "/work/reports",
        "--data",
        data_url,
        "--retries",
        "0",
    ];
    if resume {
        args.push("--resume");
    }
    if retry_failed {
        args.push("--retry-failed");
    }
    let status = Command::new("docker")
        .args(["exec", head])
        .args(&args)
        .status()
        .context("cannot run docker exec")?;
    Ok(status.code().unwrap_or(1))
}

fn docker_exec(container: &str, args: &[&str]) -> Result<()> {
    let status = Command::new("docker")
        .args(["exec", container])
        .args(args)
        .status()
        .context("cannot run docker exec")?;
    if !status.success() {
        bail!("`{}` in {container} failed ({status})", args.join(" "));
    }
    Ok(())
}
