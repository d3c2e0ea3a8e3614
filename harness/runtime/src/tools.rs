//! Where `bash .ci/install` puts the tools the harness and its tests use — the s3s-fs binary the
//! compose cluster's store image carries, MLflow, PyTorch, the native libraries the build links
//! — so that nothing has to be exported in a shell: one fixed directory, [`DEFAULT_DIR`], which
//! `.cargo/config.toml` names too. `$HARNESS_TOOLS` moves it; a tool's own variable (e.g.
//! `$HARNESS_S3S`) points at one tool elsewhere.

use std::path::PathBuf;

/// The directory `.ci/install` installs into (and `.cargo/config.toml` reads from).
pub const DEFAULT_DIR: &str = "/opt/harness-tools";

/// `$HARNESS_TOOLS`, else [`DEFAULT_DIR`].
pub fn dir() -> PathBuf {
    std::env::var_os("HARNESS_TOOLS")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from)
}

/// A tool: `$<var>` when set, else `<tools dir>/<rel>` (e.g. `("HARNESS_S3S", "s3s/bin/s3s-fs")`).
/// The path may not exist; callers say how to install it.
pub fn tool(var: &str, rel: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|p| !p.is_empty())
        .map_or_else(|| dir().join(rel), PathBuf::from)
}
