//! Records the git revision the binary was built from (for record provenance), and puts the
//! directories of the native libraries the workloads link into the rpath of every binary of
//! this crate, tests and benches included, so they run without LD_LIBRARY_PATH: libtorch's
//! (from `torch-sys`, for energy-lstm) and those of PyPI's prebuilt `lib_lightgbm.so` and
//! `libxgboost.so` (`$LIGHTGBM_LIB_DIR`, `$XGBOOST_LIB_DIR`: both `/opt/harness-tools/lib` by
//! `.cargo/config.toml`). `$ORIGIN/../lib/harness` comes last, for a binary shipped with those
//! libraries beside it (`bin/harness` + `lib/harness/`, as the compose node image and `harness
//! server`'s nodes hold them). libtorch's own libraries find their neighbours through their
//! `$ORIGIN` rpath. The directories are also compiled in, `:`-separated, as
//! `HARNESS_NATIVE_LIBS`, so the binary knows which libraries to ship.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIGHTGBM_LIB_DIR");
    println!("cargo:rerun-if-env-changed=XGBOOST_LIB_DIR");
    let mut dirs: Vec<String> = [
        "DEP_TCH_LIBTORCH_LIB",
        "LIGHTGBM_LIB_DIR",
        "XGBOOST_LIB_DIR",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .filter(|d| !d.is_empty())
    .collect();
    dirs.dedup();
    for dir in &dirs {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo:rustc-env=HARNESS_NATIVE_LIBS={}", dirs.join(":"));
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
