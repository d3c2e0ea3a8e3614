//! Records the git revision the binary was built from (for record provenance), and puts
//! libtorch's library directory (from `torch-sys`, which links it for the energy-lstm
//! workload) into the rpath of every binary of this crate, tests and benches included, so they
//! run without LD_LIBRARY_PATH. libtorch's own libraries find their neighbours through their
//! `$ORIGIN` rpath.
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    let rev = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=HARNESS_GIT_REV={rev}");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs");
}
