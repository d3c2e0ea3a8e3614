//! Ctrl-C / SIGTERM during a study: kill the run in flight (its `mpirun` process group) and
//! exit. Records already written stay; `--resume` completes the study later.
//!
//! The launcher registers the process group of the `mpirun` it started ([`set_current_group`])
//! and clears it when the run is over; the handler only reads it.

use std::sync::atomic::{AtomicI32, Ordering};

/// Process group of the run in flight (0 when none).
static CURRENT_GROUP: AtomicI32 = AtomicI32::new(0);

/// Installs the handler (once per process; later calls are no-ops).
pub fn install_handler() {
    let _ = ctrlc::set_handler(|| {
        let pg = CURRENT_GROUP.load(Ordering::SeqCst);
        if pg > 0 {
            // SIGTERM lets mpirun stop its executors (they run in their own process groups).
            // SAFETY: signals the process group of our own mpirun child.
            unsafe {
                libc::kill(-pg, libc::SIGTERM);
            }
            std::thread::sleep(std::time::Duration::from_secs(2));
            // SAFETY: as above.
            unsafe {
                libc::kill(-pg, libc::SIGKILL);
            }
        }
        eprintln!("\ninterrupted: records written so far are kept; re-run with --resume to finish the study");
        std::process::exit(130);
    });
}

/// Marks the process group of the run in flight (0 when none).
pub fn set_current_group(pgid: i32) {
    CURRENT_GROUP.store(pgid, Ordering::SeqCst);
}
