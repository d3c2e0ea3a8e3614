//! Helpers shared by the runtime's MPI test binaries (each includes this module with
//! `mod common;`).

use std::path::Path;
use std::process::Command;

/// Runs this test binary as an MPI program: `mpirun -np <np> <this binary> rank_entry_point`,
/// with `var` set to `value` on every rank (`-x`), as root when allowed. Fails the test with
/// mpirun's output when it does not succeed.
pub fn mpirun_self(np: u32, var: &str, value: &Path) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "-np",
        &np.to_string(),
        "--oversubscribe",
        "--bind-to",
        "none",
    ])
    .args(["-x", var])
    .env(var, value)
    .arg(&exe)
    .args([
        "rank_entry_point",
        "--exact",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
    let run = cmd.output().expect("mpirun runs (install Open MPI)");
    assert!(
        run.status.success(),
        "mpirun failed: {}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}
