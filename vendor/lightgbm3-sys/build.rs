//! Bindings to LightGBM's C API (bindgen over `include/LightGBM/c_api.h`, LightGBM 4.7.0, with
//! its Doxygen comments as Rust docs, as the published crate generates them) and the link to a
//! prebuilt `lib_lightgbm.so` in `$LIGHTGBM_LIB_DIR` — the one PyPI's `lightgbm==4.7.0` wheel
//! carries (built with OpenMP; it needs `libgomp.so.1` at run time). `.cargo/config.toml` sets
//! the directory to where `bash .ci/install` puts the library; `flake.nix` to its Nix store copy.
//! The directory is exported to dependents as `DEP_LIGHTGBM_LIB_DIR`.

use std::env;
use std::path::{Path, PathBuf};

#[derive(Debug)]
struct DoxygenCallback;

impl bindgen::callbacks::ParseCallbacks for DoxygenCallback {
    fn process_comment(&self, comment: &str) -> Option<String> {
        Some(doxygen_rs::transform(comment))
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=LIGHTGBM_LIB_DIR");
    println!("cargo:rerun-if-changed=include");
    let dir = env::var("LIGHTGBM_LIB_DIR").unwrap_or_default();
    let lib = Path::new(&dir).join("lib_lightgbm.so");
    if dir.is_empty() || !lib.is_file() {
        panic!(
            "lib_lightgbm.so (LightGBM 4.7.0) not found in LIGHTGBM_LIB_DIR={dir:?}: run \
             `bash .ci/install`, which puts PyPI's lightgbm 4.7.0 library into \
             /opt/harness-tools/lib (the directory .cargo/config.toml names), or set \
             LIGHTGBM_LIB_DIR to a directory holding lib_lightgbm.so of LightGBM 4.7.0"
        );
    }

    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let bindings = bindgen::Builder::default()
        .header(include.join("LightGBM/c_api.h").display().to_string())
        .allowlist_file(".*/LightGBM/c_api.h")
        .clang_args(["-x", "c++", "-std=c++14"])
        .clang_arg(format!("-I{}", include.display()))
        .parse_callbacks(Box::new(DoxygenCallback))
        .generate()
        .expect("Unable to generate bindings");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .unwrap_or_else(|err| panic!("Couldn't write bindings: {err}"));

    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=dylib=_lightgbm");
    println!("cargo:lib_dir={dir}");
}
