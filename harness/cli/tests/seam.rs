//! Workloads plug in through one seam: in the CLI's sources only `registry.rs` names a workload
//! crate, and it registers every workload crate the CLI depends on. A workload is one crate
//! plus one line in the registry.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn only_the_registry_names_workload_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 10, "{files:?}");
    for f in &files {
        if f.file_name().is_some_and(|n| n == "registry.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains("workload_"),
            "{} names a workload crate: go through the registry (Workload trait)",
            f.display()
        );
    }

    // Every workload crate the CLI depends on is registered.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let registry = std::fs::read_to_string(root.join("src/registry.rs")).unwrap();
    let crates: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("workload-"))
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .map(|name| format!("workload_{}::", name.replace('-', "_")))
        .collect();
    assert!(crates.len() >= 2, "{crates:?}");
    for c in crates {
        assert!(
            registry.contains(&c),
            "{c} is a dependency but not registered"
        );
    }
}
