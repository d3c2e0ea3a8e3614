//! Puts libtorch's library directory (from `torch-sys`) into the rpath of this crate's test and
//! bench binaries, so they run without LD_LIBRARY_PATH (tch links libtorch but only its own
//! C++ objects carry the rpath).
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
