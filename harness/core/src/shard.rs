//! Choosing input files: the file-based fraction and byte-balanced shard assignment.
//!
//! The rule: list a split's `*.parquet` files, sort by name, take the first
//! `max(1, floor(n × fraction))` — never sample rows — and give the chosen files to executors
//! balanced by bytes with the longest-processing-time (LPT) greedy rule (Graham, 1969), not by
//! index modulo.

/// One input file: its name relative to the data location and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
}

/// Number of files a fraction selects out of `n`: `max(1, floor(n × fraction))`, capped at `n`.
/// Returns 0 only when `n` is 0.
pub fn fraction_count(n: usize, fraction: f64) -> usize {
    if n == 0 {
        return 0;
    }
    // A small epsilon keeps 0.07 × 100 = 7.000000000000001 and 0.29 × 100 = 28.999999999999996
    // on the count a person would compute.
    let k = (n as f64 * fraction + 1e-9).floor() as usize;
    k.clamp(1, n)
}

/// The files a fraction selects: sorted by path, the first [`fraction_count`] of them.
pub fn select_fraction(mut files: Vec<FileEntry>, fraction: f64) -> Vec<FileEntry> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let k = fraction_count(files.len(), fraction);
    files.truncate(k);
    files
}

/// Assigns files to `executors` shards balanced by bytes (LPT greedy: largest file first, to the
/// shard with the fewest bytes so far; ties go to the lower rank). Each shard keeps its files
/// sorted by path. With fewer files than executors some shards are empty.
///
/// LPT's makespan is at most 4/3 − 1/(3m) of the optimum (Graham, 1969).
///
/// # Panics
/// If `executors` is 0.
pub fn assign_by_bytes(files: &[FileEntry], executors: usize) -> Vec<Vec<FileEntry>> {
    assert!(executors > 0, "at least one executor");
    let mut order: Vec<&FileEntry> = files.iter().collect();
    order.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    let mut shards: Vec<Vec<FileEntry>> = vec![Vec::new(); executors];
    let mut load = vec![0u64; executors];
    for f in order {
        let (rank, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(i, l)| (**l, *i))
            .expect("executors > 0");
        load[rank] += f.bytes;
        shards[rank].push(f.clone());
    }
    for s in &mut shards {
        s.sort_by(|a, b| a.path.cmp(&b.path));
    }
    shards
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(sizes: &[u64]) -> Vec<FileEntry> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, b)| FileEntry {
                path: format!("f{i:03}.parquet"),
                bytes: *b,
            })
            .collect()
    }

    #[test]
    fn fraction_counts_follow_the_rule() {
        assert_eq!(fraction_count(300, 0.05), 15);
        assert_eq!(fraction_count(300, 0.1), 30);
        assert_eq!(fraction_count(100, 0.07), 7);
        assert_eq!(fraction_count(100, 0.29), 29);
        assert_eq!(fraction_count(37, 0.01), 1, "never zero files");
        assert_eq!(fraction_count(10, 1.0), 10);
        assert_eq!(fraction_count(0, 0.5), 0);
    }

    #[test]
    fn selects_first_files_by_name() {
        let mut fs = files(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        fs.reverse();
        let chosen = select_fraction(fs, 0.3);
        let names: Vec<_> = chosen.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, ["f000.parquet", "f001.parquet", "f002.parquet"]);
    }

    #[test]
    fn lpt_balances_bytes_better_than_modulo() {
        // Modulo would give rank 0 {100, 60, 20} = 180 and rank 1 {80, 40} = 120.
        let fs = files(&[100, 80, 60, 40, 20]);
        let shards = assign_by_bytes(&fs, 2);
        let bytes: Vec<u64> = shards
            .iter()
            .map(|s| s.iter().map(|f| f.bytes).sum())
            .collect();
        assert_eq!(bytes, vec![160, 140]);
        assert!(bytes.iter().max() < Some(&180), "better than modulo");
        let all: usize = shards.iter().map(Vec::len).sum();
        assert_eq!(all, 5, "every file assigned exactly once");
    }

    #[test]
    fn more_executors_than_files_leaves_empty_shards() {
        let shards = assign_by_bytes(&files(&[5, 5]), 3);
        assert_eq!(shards.iter().filter(|s| s.is_empty()).count(), 1);
    }
}
