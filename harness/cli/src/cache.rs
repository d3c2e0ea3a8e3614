//! The harness's cache directory: default data sets generated once, models fetched from a
//! registry, results staged for an S3 mirror, the compose cluster's working files.

use std::path::PathBuf;

/// `$HARNESS_CACHE`, else `$XDG_CACHE_HOME/harness`, else `~/.cache/harness`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("HARNESS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|p| PathBuf::from(p).join("harness")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/harness")))
        .unwrap_or_else(|| PathBuf::from(".cache/harness"))
}

/// Where a workload's generated default data set `key` is cached: `<cache>/data/<key>`.
pub fn default_data_dir(key: &str) -> PathBuf {
    cache_dir().join("data").join(key)
}
