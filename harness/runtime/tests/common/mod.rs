//! Helpers shared by the runtime's MPI test binaries (each includes this module with
//! `mod common;`).

use std::path::Path;
use std::process::Command;

/// Runs this test binary as an MPI program: `mpirun -np <np> <this binary> rank_entry_point`,
/// with `var` set to `value` on every rank (`-x`), as root when allowed. Fails the test with
/// mpirun's output when it does not succeed.
pub fn mpirun_self(np: u32, var: &str, value: &Path) {
    mpirun_entry(np, "rank_entry_point", var, value);
}

/// [`mpirun_self`] with another test function of this binary as every rank's program.
#[allow(dead_code)] // Not every test binary that includes this module has a second program.
pub fn mpirun_entry(np: u32, entry: &str, var: &str, value: &Path) {
    // One mpirun at a time per test binary: two jobs of `np` ranks on a 2-core machine would
    // preempt each other and blur what a test measures.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
    .args([entry, "--exact", "--nocapture", "--test-threads", "1"])
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
