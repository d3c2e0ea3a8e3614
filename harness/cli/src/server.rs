//! `harness server`: the server study on provisioned nodes — the cloud path.
//!
//! Steps: read the nodes from Terraform's outputs (`terraform output -json`, or a saved copy);
//! check the head answers over ssh; give the head a cluster key that every executor node
//! authorises (mpirun on the head reaches the executors with it) and check the head reaches every
//! executor; ship this binary and the libraries it links to the head when its copy differs
//! (sha256 of the binary, names and sizes of the libraries), and from the head to the executors
//! that differ (the slow link from here to the cloud carries it once); check every node runs it;
//! put the data where the nodes read it (a local `--data` directory is copied to the head and
//! uploaded from there to `s3://<bucket>/data/<name>`; the workload's generated default data is
//! generated on the head into the bucket once); write the hostfile of the executor nodes and
//! run the study from the head (`harness study --hostfile … --results s3://<bucket>/results`,
//! which mirrors the records to the bucket after every run); then, up to `--retries` rounds,
//! when runs were not ok, rewrite the hostfile with the executors still answering and make only
//! those runs again (a point that needs more nodes than answer is recorded as failed with "not
//! enough nodes"); finally copy the study's records, logs and artifacts back from the head and
//! render the report here.
//!
//! The driver needs ssh and nothing else: no cloud credentials travel, the nodes reach the
//! bucket with their instance profile. The remote study stops when the connection does (its
//! stdin closes), so an interrupted server study is continued with `harness server --resume`
//! (records are restored from the bucket when the head lost them).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};
use harness_core::StudySpec;
use harness_runtime::workload::{DefaultData, Machine};
use harness_runtime::Workload;
use serde_json::Value;

use crate::cli::ServerArgs;
use crate::launcher::shell_quote;
use crate::process::run;
use crate::{cache, registry, study};

/// Where every node keeps the shipped harness: `bin/harness` and `lib/harness/` (the binary's
/// `$ORIGIN/../lib/harness` rpath). terraform/'s first-boot script creates it for the ssh user.
pub const REMOTE_ROOT: &str = "/opt/harness";
/// The shipped binary on every node; the head's mpirun starts this same path on the executors.
pub const REMOTE_BIN: &str = "/opt/harness/bin/harness";
/// The head's working directory for server studies, under the ssh user's home.
const REMOTE_WORK: &str = "harness-server";
/// Executor counts of the reference server study (EMR): {2, 4, 8, 16, 24, 32}.
pub const SERVER_EXECUTORS: [u32; 6] = [2, 4, 8, 16, 24, 32];

/// The nodes `terraform output -json` names (terraform/outputs.tf).
#[derive(Debug, Clone, PartialEq)]
pub struct TfOutputs {
    /// Address the driver reaches the head at (`head_public_ip`).
    pub head: String,
    /// Executor nodes' addresses as the head reaches them, rank order (`executor_private_ips`).
    pub executors: Vec<String>,
    /// Login user on every node (`ssh_user`).
    pub ssh_user: String,
    /// Bucket of data and results (`bucket`).
    pub bucket: String,
    /// Region of the nodes and the bucket (`region`).
    pub region: String,
    /// Private key that logs into the nodes, when the outputs name one
    /// (`ssh_private_key_path`: the compose stand-in does; terraform/ does not — the key is yours).
    pub ssh_key: Option<PathBuf>,
}

impl TfOutputs {
    /// Parses `terraform output -json`: `{"name": {"value": …, "type": …, "sensitive": …}}`.
    ///
    /// # Errors
    /// Not JSON, or an output missing or of the wrong type: the error names it.
    pub fn parse(json: &str) -> Result<Self> {
        let v: Value =
            serde_json::from_str(json).context("not the JSON of `terraform output -json`")?;
        let get = |name: &str| -> Result<&Value> {
            v.get(name)
                .and_then(|o| o.get("value"))
                .with_context(|| format!("output `{name}` is missing (terraform/outputs.tf defines it; run `terraform apply` first)"))
        };
        let text = |name: &str| -> Result<String> {
            get(name)?
                .as_str()
                .filter(|s| !s.is_empty())
                .map(String::from)
                .with_context(|| format!("output `{name}` is not a non-empty string"))
        };
        let executors = get("executor_private_ips")?
            .as_array()
            .context("output `executor_private_ips` is not a list")?
            .iter()
            .map(|e| {
                e.as_str()
                    .map(String::from)
                    .context("output `executor_private_ips` holds a non-string")
            })
            .collect::<Result<Vec<_>>>()?;
        if executors.is_empty() {
            bail!("output `executor_private_ips` is empty: provision at least one executor node (-var executors=N)");
        }
        Ok(TfOutputs {
            head: text("head_public_ip")?,
            executors,
            ssh_user: text("ssh_user")?,
            bucket: text("bucket")?,
            region: text("region")?,
            ssh_key: text("ssh_private_key_path").ok().map(PathBuf::from),
        })
    }

    /// The outputs of `--tf-outputs FILE`, else of `terraform -chdir=<tf_dir> output -json`.
    ///
    /// # Errors
    /// The file cannot be read, terraform fails, or the outputs do not parse.
    pub fn read(tf_outputs: Option<&Path>, tf_dir: &Path) -> Result<Self> {
        let json = match tf_outputs {
            Some(f) => std::fs::read_to_string(f)
                .with_context(|| format!("--tf-outputs {}: cannot read it", f.display()))?,
            None => {
                let out = Command::new("terraform")
                    .arg(format!("-chdir={}", tf_dir.display()))
                    .args(["output", "-json"])
                    .stdin(Stdio::null())
                    .output()
                    .context("cannot run `terraform` (install it, or pass --tf-outputs FILE with a saved `terraform output -json`)")?;
                if !out.status.success() {
                    bail!(
                        "`terraform -chdir={} output -json` failed: {}",
                        tf_dir.display(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                String::from_utf8_lossy(&out.stdout).to_string()
            }
        };
        let what = tf_outputs.map_or_else(
            || format!("terraform outputs of {}", tf_dir.display()),
            |f| f.display().to_string(),
        );
        Self::parse(&json).with_context(|| what)
    }
}

/// The lines of an Open MPI hostfile with one executor per node, rank i on `executors[i]`.
pub fn hostfile(executors: &[String]) -> String {
    executors.iter().map(|e| format!("{e} slots=1\n")).collect()
}

/// The server study of `workload` on `nodes` executor nodes: the reference executor counts
/// {2, 4, 8, 16, 24, 32} that fit the nodes (one executor per node), 2 cores and 8g per
/// executor (the instance is the limit: terraform's default m5.large has 2 vCPU, 8 GiB), the
/// workload's own fractions and repetitions, named `<workload>-server`. Returns the spec and
/// the executor counts left out.
pub fn server_study(workload: &dyn Workload, nodes: usize) -> (StudySpec, Vec<u32>) {
    let mut spec = workload.default_study(&Machine {
        logical_cpus: 2,
        memory_bytes: 8 << 30,
    });
    let (fit, dropped): (Vec<u32>, Vec<u32>) =
        SERVER_EXECUTORS.iter().partition(|e| **e as usize <= nodes);
    spec.executors = fit;
    spec.cores = vec![2];
    spec.memory = vec!["8g".into()];
    spec.name = format!("{}-server", workload.name());
    (spec, dropped)
}

/// ssh to the nodes: the head directly, executors through the head (`ProxyCommand … -W`), with
/// the user's key, a known-hosts file of our own and keep-alives that notice a lost connection.
struct Nodes {
    outputs: TfOutputs,
    key: Option<PathBuf>,
    known_hosts: PathBuf,
}

impl Nodes {
    fn options(&self) -> Vec<String> {
        let mut o: Vec<String> = [
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
            "-o",
            "LogLevel=ERROR",
        ]
        .map(String::from)
        .to_vec();
        o.push("-o".into());
        o.push(format!("UserKnownHostsFile={}", self.known_hosts.display()));
        if let Some(k) = &self.key {
            o.push("-i".into());
            o.push(k.display().to_string());
        }
        o
    }

    fn login(&self, host: &str) -> String {
        format!("{}@{host}", self.outputs.ssh_user)
    }

    /// `ssh <head> <script>`.
    fn head(&self, script: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.options())
            .arg(self.login(&self.outputs.head))
            .arg(script);
        c
    }

    /// `ssh <executor> <script>`, through the head.
    fn executor(&self, host: &str, script: &str) -> Command {
        let jump: Vec<String> = std::iter::once("ssh".to_string())
            .chain(self.options())
            .chain(["-W".into(), "%h:%p".into(), self.login(&self.outputs.head)])
            .map(|a| if a == "%h:%p" { a } else { shell_quote(&a) })
            .collect();
        let mut c = Command::new("ssh");
        c.args(self.options())
            .arg("-o")
            .arg(format!("ProxyCommand={}", jump.join(" ")))
            .arg(self.login(host))
            .arg(script);
        c
    }
}

/// The local bundle shipped to the nodes (`bin/harness`, `lib/harness/*`) and its manifest:
/// `bin/harness <sha256>` then `lib/harness/<name> <bytes>` per library, sorted.
fn bundle(dir: &Path) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the harness binary")?;
    if exe.starts_with("/nix/store") {
        bail!(
            "{} is a Nix build: its loader and libraries are store paths the Debian nodes do not have. Run `harness server` from a cargo build (`cargo build --release -p harness`, on Debian 12 or older glibc)",
            exe.display()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("bin"))?;
    std::fs::copy(&exe, dir.join("bin/harness"))
        .with_context(|| format!("cannot copy {}", exe.display()))?;
    crate::compose::ship_libraries(&dir.join("lib/harness"))?;
    let bytes = std::fs::read(dir.join("bin/harness"))?;
    let mut manifest = format!(
        "bin/harness {}\n",
        harness_runtime::model::digest_bytes(&bytes)
    );
    let mut libs: Vec<(String, u64)> = std::fs::read_dir(dir.join("lib/harness"))?
        .filter_map(|e| e.ok())
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                e.metadata().map(|m| m.len()).unwrap_or(0),
            )
        })
        .collect();
    libs.sort();
    for (name, len) in libs {
        manifest.push_str(&format!("lib/harness/{name} {len}\n"));
    }
    Ok(manifest)
}

/// Shell script printing a node's manifest of `/opt/harness` in [`bundle`]'s format.
fn manifest_script() -> String {
    format!(
        "cd {REMOTE_ROOT} 2>/dev/null && {{ echo \"bin/harness $(sha256sum bin/harness 2>/dev/null | cut -d' ' -f1)\"; \
         for f in lib/harness/*; do [ -f \"$f\" ] && echo \"$f $(stat -c %s \"$f\")\"; done | LC_ALL=C sort; }}"
    )
}

/// `harness server`.
///
/// # Errors
/// Unreadable outputs, nodes that do not answer, a failed upload or study (exit 1 of the head).
pub fn command(a: ServerArgs) -> Result<ExitCode> {
    if a.common.hostfile.is_some() {
        bail!("--hostfile: `harness server` writes the hostfile from the terraform outputs; drop the option");
    }
    let outputs = TfOutputs::read(a.tf_outputs.as_deref(), &a.tf_dir)?;
    let work = cache::cache_dir().join("server");
    std::fs::create_dir_all(&work)?;
    let nodes = Nodes {
        key: a.ssh_key.clone().or_else(|| outputs.ssh_key.clone()),
        known_hosts: work.join("known_hosts"),
        outputs,
    };
    let workload = match &a.axes.workload {
        Some(name) => registry::get(name)?,
        None => registry::WORKLOADS[0],
    };
    let (mut spec, dropped) = server_study(workload, nodes.outputs.executors.len());
    if a.axes.executors.is_none() && !dropped.is_empty() {
        eprintln!(
            "server: {} executor nodes: executor counts {dropped:?} of the server study are left out",
            nodes.outputs.executors.len()
        );
    }
    a.axes.apply(&mut spec);
    if spec.executors.is_empty() {
        bail!(
            "{} executor node(s) fit none of the server study's executor counts {SERVER_EXECUTORS:?}: provision more (-var executors=N) or pass --executors",
            nodes.outputs.executors.len()
        );
    }
    a.common.apply(&mut spec);
    study::prepare(&mut spec)?;
    let o = &nodes.outputs;
    eprintln!(
        "server: head {} ({}), {} executor nodes, bucket s3://{} ({})",
        o.head,
        o.ssh_user,
        o.executors.len(),
        o.bucket,
        o.region
    );

    run(&mut nodes.head("true"), None, &format!("ssh to the head {}", o.head)).with_context(|| {
        format!(
            "the head does not answer over ssh as `{}`: check admin_cidr covers this machine's address and pass the key it was provisioned with (--ssh-key)",
            o.ssh_user
        )
    })?;
    let mut live = authorise_head(&nodes)?;
    ship(&nodes, &live, &work)?;

    let data = server_data(&nodes, workload, a.common.data.as_deref())?;
    let results_url = format!("s3://{}/results", o.bucket);
    let mut round = 0;
    let code = loop {
        let code = run_on_head(&nodes, &spec, &live, &data, &results_url, &a, round)?;
        if code != i32::from(crate::exit::RUNS_NOT_OK) || round >= a.common.retries {
            break code;
        }
        round += 1;
        live = answering(&nodes, &o.executors);
        if live.is_empty() {
            eprintln!("server: some runs were not ok and no executor node answers: not retrying");
            break code;
        }
        eprintln!(
            "server: some runs were not ok; {} of {} executor nodes answer: retrying those runs on them (round {round} of {})",
            live.len(),
            o.executors.len(),
            a.common.retries
        );
    };
    if code == i32::from(crate::exit::ERROR) {
        bail!("the study on the head failed (exit 1): see above");
    }
    let local = fetch_results(&nodes, &spec.name, &a.common.results)?;
    let records = crate::store::load_dir(&local)?;
    let (page, analysis) = crate::study::report(
        &records,
        &a.common.reports.join(&spec.name),
        &a.common.reports,
    )?;
    eprintln!("records: {}", local.join("runs.jsonl").display());
    crate::study::print_summary(&spec.name, &analysis, &page);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Gives the head a cluster key (made there once), authorises it on every executor node that
/// answers, and checks the head reaches each of them with it (recording their host keys on the
/// head). Returns the executor nodes that answer, in rank order; those that do not are named.
fn authorise_head(nodes: &Nodes) -> Result<Vec<String>> {
    let o = &nodes.outputs;
    let public = run(
        &mut nodes.head(
            "mkdir -p ~/.ssh && chmod 700 ~/.ssh && \
             { test -f ~/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519; } && \
             cat ~/.ssh/id_ed25519.pub",
        ),
        None,
        "making the head's cluster key")?;
    let public = public.trim();
    let authorise = format!(
        "mkdir -p ~/.ssh && chmod 700 ~/.ssh && touch ~/.ssh/authorized_keys && \
         {{ grep -qxF {k} ~/.ssh/authorized_keys || echo {k} >> ~/.ssh/authorized_keys; }} && \
         chmod 600 ~/.ssh/authorized_keys",
        k = shell_quote(public)
    );
    let mut live = Vec::new();
    for e in &o.executors {
        match run(&mut nodes.executor(e, &authorise), None, &format!("ssh to {e}")) {
            Ok(_) => live.push(e.clone()),
            Err(err) => eprintln!(
                "server: executor node {e} does not answer over ssh through the head, left out of the hostfile: {err:#}"
            ),
        }
    }
    if live.is_empty() {
        bail!(
            "no executor node answers over ssh through the head {}",
            o.head
        );
    }
    let reached = answering(nodes, &live);
    let unreachable: Vec<&str> = live
        .iter()
        .filter(|e| !reached.contains(e))
        .map(String::as_str)
        .collect();
    if !unreachable.is_empty() {
        bail!(
            "the head cannot ssh to executor node(s) {}: mpirun needs it (security group: all traffic between cluster nodes)",
            unreachable.join(", ")
        );
    }
    Ok(live)
}

/// Ships this binary and its libraries to every node whose copy differs, and checks every node
/// runs it (`harness --version` loads the libraries).
fn ship(nodes: &Nodes, executors: &[String], work: &Path) -> Result<()> {
    let o = &nodes.outputs;
    let dir = work.join("bundle");
    let manifest = bundle(&dir)?;
    let head_manifest = run(
        &mut nodes.head(&manifest_script()),
        None,
        "reading the head's harness",
    )
    .unwrap_or_default();
    if head_manifest != manifest {
        eprintln!("server: shipping harness ({}) to the head", dir.display());
        let tar = Command::new("tar")
            .arg("-cf")
            .arg("-")
            .arg("-C")
            .arg(&dir)
            .args(["bin", "lib"])
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run tar")?;
        let status = nodes
            .head(&format!(
                "rm -rf {REMOTE_ROOT}/lib/harness && mkdir -p {REMOTE_ROOT} && tar -xf - -C {REMOTE_ROOT}"
            ))
            .stdin(tar.stdout.expect("piped"))
            .status()?;
        if !status.success() {
            bail!("shipping harness to the head failed ({status}): {REMOTE_ROOT} must be writable by `{}` (terraform/'s first boot makes it so)", o.ssh_user);
        }
    }
    // From the head to the executors whose copy differs, over the cluster's network.
    let fan_out: String = executors
        .iter()
        .map(|e| {
            let h = shell_quote(e);
            format!(
                "if [ \"$(ssh -o BatchMode=yes {h} {m})\" != \"$(sh -c {m})\" ]; then \
                   echo shipping to {h} >&2; \
                   tar -cf - -C {REMOTE_ROOT} bin lib | ssh -o BatchMode=yes {h} {x} || echo {h}; \
                 fi;",
                m = shell_quote(&manifest_script()),
                x = shell_quote(&format!(
                    "rm -rf {REMOTE_ROOT}/lib/harness && mkdir -p {REMOTE_ROOT} && tar -xf - -C {REMOTE_ROOT}"
                )),
            )
        })
        .collect();
    let failed = run(
        &mut nodes.head(&fan_out),
        None,
        "shipping harness to the executors",
    )?;
    if !failed.trim().is_empty() {
        bail!(
            "shipping harness from the head to {} failed",
            failed.split_whitespace().collect::<Vec<_>>().join(", ")
        );
    }
    let version = format!("{REMOTE_BIN} --version");
    let here = format!("harness {}", env!("CARGO_PKG_VERSION"));
    let mut check = vec![(
        o.head.clone(),
        run(&mut nodes.head(&version), None, "harness on the head")?,
    )];
    for e in executors {
        check.push((
            e.clone(),
            run(
                &mut nodes.executor(e, &version),
                None,
                &format!("harness on {e}"),
            )?,
        ));
    }
    for (node, v) in check {
        if v.trim() != here {
            bail!("{node} runs `{}`, not `{here}`", v.trim());
        }
    }
    eprintln!(
        "server: every node ({} + {} executors) runs this harness ({})",
        o.head,
        executors.len(),
        manifest.lines().next().unwrap_or_default()
    );
    Ok(())
}

/// Makes the data reachable from the nodes; returns its location there: `s3://…` as it is, a
/// local directory copied to the head and uploaded from there to `s3://<bucket>/data/<name>`,
/// no data → the workload's default (built in, or generated on the head into the bucket once).
fn server_data(nodes: &Nodes, workload: &dyn Workload, data: Option<&str>) -> Result<String> {
    let bucket = &nodes.outputs.bucket;
    let env = format!("HARNESS_CACHE=~/{REMOTE_WORK}/cache");
    let Some(data) = data else {
        return match workload.default_data() {
            DefaultData::Builtin(name) => Ok(name.to_string()),
            DefaultData::Required(hint) => bail!("no data location: {hint}"),
            DefaultData::Generated { key, describe } => {
                let generator = workload
                    .generator()
                    .context("the workload's default data has no generator")?;
                let url = format!("s3://{bucket}/data/{key}");
                let marker = format!("~/{REMOTE_WORK}/generated-{key}");
                eprintln!("server: generating {describe} into {url} on the head (once)");
                run(
                    &mut nodes.head(&format!(
                        "mkdir -p ~/{REMOTE_WORK} && {{ test -f {marker} || {{ {env} {REMOTE_BIN} data generate {} --out {} && touch {marker}; }}; }}",
                        generator.name(),
                        shell_quote(&url)
                    )),
                    None,
                    "generating the default data on the head")?;
                Ok(url)
            }
        };
    };
    if crate::datasets::readable_anywhere(workload, data) {
        return Ok(data.to_string());
    }
    let path = Path::new(data);
    if !path.is_dir() {
        bail!("--data {data}: not a directory here, nor s3://bucket/prefix");
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "data".into());
    let url = format!("s3://{bucket}/data/{name}");
    // What was uploaded last time, kept on the head: the same files (paths, sizes, modification
    // times) are not sent again, e.g. on --resume.
    let manifest = data_manifest(path)?;
    let marker = format!("~/{REMOTE_WORK}/uploaded/{name}");
    let previous = run(
        &mut nodes.head(&format!("cat {marker} 2>/dev/null || true")),
        None,
        "reading the head's upload record",
    )?;
    if previous == format!("{url}\n{manifest}") {
        eprintln!("server: {data} is in {url} already (unchanged since its upload)");
        return Ok(url);
    }
    eprintln!("server: uploading {data} to {url} through the head");
    let tar = Command::new("tar")
        .arg("-cf")
        .arg("-")
        .arg("-C")
        .arg(path)
        .arg(".")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run tar")?;
    let staged = format!("~/{REMOTE_WORK}/upload/{name}");
    let status = nodes
        .head(&format!(
            "rm -rf {staged} && mkdir -p {staged} && tar -xf - -C {staged} && {env} {REMOTE_BIN} data upload {staged} {url}; rc=$?; rm -rf {staged}; exit $rc",
            url = shell_quote(&url)
        ))
        .stdin(tar.stdout.expect("piped"))
        .status()?;
    if !status.success() {
        bail!("uploading {data} to {url} through the head failed ({status})");
    }
    run(
        &mut nodes.head(&format!(
            "mkdir -p ~/{REMOTE_WORK}/uploaded && cat > {marker}"
        )),
        Some(format!("{url}\n{manifest}").as_bytes()),
        "recording the upload on the head",
    )?;
    Ok(url)
}

/// One line per file below `dir`: relative path, bytes, modification time (ns since the Unix
/// epoch), sorted — what tells a data directory unchanged since its last upload.
///
/// # Errors
/// The directory cannot be read.
fn data_manifest(dir: &Path) -> Result<String> {
    let mut files = crate::transfer::files_below(dir)?;
    files.sort();
    let mut out = String::new();
    for f in files {
        let meta = std::fs::metadata(dir.join(&f))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        out.push_str(&format!("{} {} {modified}\n", f.display(), meta.len()));
    }
    Ok(out)
}

/// Those of `executors` the head reaches over ssh with its cluster key, in their order (their
/// host keys are recorded on the head the first time, as mpirun's ssh will then need).
fn answering(nodes: &Nodes, executors: &[String]) -> Vec<String> {
    let script: String = executors
        .iter()
        .map(|e| {
            format!(
                "if ssh -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=accept-new {h} true >/dev/null 2>&1; then echo {h}; fi;",
                h = shell_quote(e)
            )
        })
        .collect();
    run(
        &mut nodes.head(&script),
        None,
        "probing the executors from the head",
    )
    .map(|out| out.split_whitespace().map(String::from).collect())
    .unwrap_or_default()
}

/// Writes the study and the hostfile of `executors` to the head and runs the study there;
/// returns its exit code (0 all ok, 3 some runs not ok, 1 error: [`crate::exit`]). The remote study is stopped
/// when this connection ends (its stdin closes).
fn run_on_head(
    nodes: &Nodes,
    spec: &StudySpec,
    executors: &[String],
    data: &str,
    results_url: &str,
    a: &ServerArgs,
    round: u32,
) -> Result<i32> {
    let dir = format!("~/{REMOTE_WORK}");
    run(
        &mut nodes.head(&format!("mkdir -p {dir} && cat > {dir}/{}.toml", spec.name)),
        Some(spec.to_toml().as_bytes()),
        "writing the study to the head",
    )?;
    run(
        &mut nodes.head(&format!("cat > {dir}/hosts")),
        Some(hostfile(executors).as_bytes()),
        "writing the hostfile to the head",
    )?;
    let mut args = vec![
        format!("{dir}/{}.toml", spec.name),
        "--hostfile".into(),
        format!("{dir}/hosts"),
        "--results".into(),
        shell_quote(results_url),
        "--reports".into(),
        format!("{dir}/reports"),
        "--data".into(),
        shell_quote(data),
        "--retries".into(),
        "0".into(),
    ];
    if a.common.resume || round > 0 {
        args.push("--resume".into());
    }
    if round > 0 {
        args.push("--retry-failed".into());
    }
    if let Some(m) = &a.common.mlflow {
        // The head must reach it (e.g. a tracking server on the head or in the VPC).
        args.push("--mlflow".into());
        args.push(shell_quote(m));
    }
    if let Some(t) = a.common.timeout {
        args.push("--timeout".into());
        args.push(t.to_string());
    }
    // The study runs in the background of a shell that watches stdin: when this driver (and so
    // the connection) goes away, stdin closes and the study gets SIGTERM, handled as Ctrl-C.
    // (A background job's stdin is /dev/null: the watcher reads the session's stdin as fd 3.
    // SIGTERM, not SIGINT, which background jobs of a non-interactive shell ignore.)
    let script = format!(
        "cd {dir} || exit 1; exec 3<&0; \
         HARNESS_CACHE={dir}/cache {REMOTE_BIN} study {} & pid=$!; \
         (cat <&3; kill -TERM $pid) >/dev/null 2>&1 & watcher=$!; exec 3<&-; \
         wait $pid; rc=$?; kill $watcher 2>/dev/null; exit $rc",
        args.join(" ")
    );
    let mut child = nodes
        .head(&script)
        .stdin(Stdio::piped())
        .spawn()
        .context("cannot run ssh")?;
    let stdin = child.stdin.take();
    let status = child.wait()?;
    drop(stdin);
    match status.code() {
        Some(c @ 0..=3) => Ok(c),
        Some(255) => bail!(
            "the connection to the head {} was lost: run `harness server --resume` (same options) to continue where it stopped",
            nodes.outputs.head
        ),
        _ => bail!("the study on the head ended with {status}"),
    }
}

/// Copies the study's records, logs and artifacts from the head's staging copy into
/// `<results>/<study>` here; returns that directory.
fn fetch_results(nodes: &Nodes, study: &str, results: &Path) -> Result<PathBuf> {
    let o = &nodes.outputs;
    let staged = format!(
        "~/{REMOTE_WORK}/cache/s3-results/{}/results/{study}",
        o.bucket
    );
    let local = results.join(study);
    std::fs::create_dir_all(&local)?;
    let remote = nodes
        .head(&format!("cd {staged} && tar -cf - --exclude=./jobs ."))
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run ssh")?;
    let status = Command::new("tar")
        .args(["-xf", "-", "-C"])
        .arg(&local)
        .stdin(remote.stdout.expect("piped"))
        .status()?;
    if !status.success() {
        bail!("copying the records of `{study}` from the head failed ({status}); they are in s3://{}/results/{study}", o.bucket);
    }
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUTS: &str = r#"{
      "bucket": {"sensitive": false, "type": "string", "value": "harness-123-us-east-1"},
      "executor_private_ips": {"sensitive": false, "type": ["tuple", ["string", "string"]], "value": ["10.42.1.11", "10.42.1.12"]},
      "head_public_ip": {"sensitive": false, "type": "string", "value": "203.0.113.7"},
      "region": {"sensitive": false, "type": "string", "value": "us-east-1"},
      "ssh_user": {"sensitive": false, "type": "string", "value": "admin"}
    }"#;

    #[test]
    fn terraform_outputs_name_the_nodes() {
        let o = TfOutputs::parse(OUTPUTS).unwrap();
        assert_eq!(o.head, "203.0.113.7");
        assert_eq!(o.executors, ["10.42.1.11", "10.42.1.12"]);
        assert_eq!(o.ssh_user, "admin");
        assert_eq!(o.bucket, "harness-123-us-east-1");
        assert_eq!(o.region, "us-east-1");
        assert_eq!(o.ssh_key, None);
        assert_eq!(
            hostfile(&o.executors),
            "10.42.1.11 slots=1\n10.42.1.12 slots=1\n"
        );
    }

    #[test]
    fn a_missing_output_is_named() {
        let without_bucket = OUTPUTS.replace("\"bucket\"", "\"other\"");
        let err = TfOutputs::parse(&without_bucket).unwrap_err().to_string();
        assert!(err.contains("output `bucket` is missing"), "{err}");
        let no_executors = r#"{"executor_private_ips": {"value": []}}"#;
        let err = TfOutputs::parse(no_executors).unwrap_err().to_string();
        assert!(err.contains("executor_private_ips` is empty"), "{err}");
        assert!(TfOutputs::parse("not json").is_err());
    }

    #[test]
    fn the_server_study_keeps_the_executor_counts_that_fit() {
        let w = registry::get("fractal-rf").unwrap();
        let (spec, dropped) = server_study(w, 4);
        assert_eq!(spec.executors, [2, 4]);
        assert_eq!(dropped, [8, 16, 24, 32]);
        assert_eq!(spec.cores, [2]);
        assert_eq!(spec.memory, ["8g"]);
        assert_eq!(spec.fractions, [0.01, 0.05, 0.07, 0.1]);
        assert_eq!(spec.name, "fractal-rf-server");
        let (spec, dropped) = server_study(w, 1);
        assert!(spec.executors.is_empty());
        assert_eq!(dropped.len(), 6);
    }

    #[test]
    fn quoting_survives_the_remote_shell() {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote("it's $HOME; `x`")))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's $HOME; `x`");
    }
}
