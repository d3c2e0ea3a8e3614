//! Records the git revision the binary was built from (for record provenance), and puts
//! libtorch's library directory (from `torch-sys`, which links it for the energy-lstm
//! workload) into the rpath of every binary of this crate, tests and benches included, so they
//! run without LD_LIBRARY_PATH; `$ORIGIN/../lib/harness` comes second, for a binary shipped
//! with its libtorch libraries beside it (`bin/harness` + `lib/harness/`, as the compose node
//! image holds them). libtorch's own libraries find their neighbours through their `$ORIGIN`
//! rpath. The directory is also compiled in as `HARNESS_LIBTORCH_LIB`, so `harness profile
//! compose` knows which libraries to ship into its node image.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../lib/harness");
        println!("cargo:rustc-env=HARNESS_LIBTORCH_LIB={lib}");
    } else {
        println!("cargo:rustc-env=HARNESS_LIBTORCH_LIB=");
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
