//! Records the git revision the binary was built from (for record provenance), and puts the
//! directories of the native libraries the workloads link into the rpath of every binary of
//! this crate, tests and benches included, so they run without LD_LIBRARY_PATH: libtorch's
//! (from `torch-sys`, for energy-lstm) and XGBoost's (from `xgboost_lib-sys`, whose local CMake
//! build leaves `libxgboost.so` in `$DEP_XGBOOST_ROOT/lib`; wine and energy-lstm use it).
//! `$ORIGIN/../lib/harness` comes last, for a binary shipped with those libraries beside it
//! (`bin/harness` + `lib/harness/`, as the compose node image and `harness server`'s nodes hold
//! them). libtorch's own libraries find their neighbours through their `$ORIGIN` rpath. The
//! directories are also compiled in as `HARNESS_LIBTORCH_LIB` and `HARNESS_XGBOOST_LIB` (empty
//! when not linked), so the binary knows which libraries to ship.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=DEP_XGBOOST_ROOT");
    println!("cargo:rerun-if-env-changed=HARNESS_XGBOOST_LIB");
    let libtorch = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    // A packager that installs libxgboost.so elsewhere (flake.nix: `$out/lib/harness`) names
    // that directory instead of the build directory, which does not outlive the build.
    let xgboost = std::env::var("HARNESS_XGBOOST_LIB")
        .ok()
        .filter(|d| !d.is_empty())
        .or_else(|| {
            std::env::var("DEP_XGBOOST_ROOT")
                .ok()
                .map(|root| format!("{root}/lib"))
        })
        .unwrap_or_default();
    for (name, lib) in [
        ("HARNESS_LIBTORCH_LIB", &libtorch),
        ("HARNESS_XGBOOST_LIB", &xgboost),
    ] {
        if !lib.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        }
        println!("cargo:rustc-env={name}={lib}");
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../lib/harness");
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
