//! The exit status of `harness`: one meaning per code, so a script can tell a study with failed
//! runs from bad input or a mistyped command line (listed in `harness --help` and README.md).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done; for a study: every run `ok` |
//! | 1 | bad input or an error (nothing is run, or the study stopped; records are kept) |
//! | 2 | command-line usage error (clap's own code: unknown flag, missing value, …) |
//! | 3 | the study completed, but some runs were `failed`, `oom` or `timeout` (recorded with their error) |

/// Done; for a study, every run was `ok`.
pub const OK: u8 = 0;
/// Bad input or an error before or during the study; records already made are kept.
pub const ERROR: u8 = 1;
/// A command-line usage error, as clap reports it (`clap::Error::exit` uses 2).
pub const USAGE: u8 = 2;
/// The study completed with runs that were not `ok`.
pub const RUNS_NOT_OK: u8 = 3;

/// The text `harness --help` ends with.
pub const HELP: &str = "\
Exit status: 0 done (every run ok); 1 bad input or an error (records already made are kept);
2 command-line usage error; 3 the study completed with runs that were not ok (failed, oom,
timeout; recorded with their error).";

#[cfg(test)]
mod tests {
    #[test]
    fn usage_errors_exit_with_the_code_clap_uses() {
        let e = crate::cli::command()
            .try_get_matches_from(["harness", "--no-such-flag"])
            .unwrap_err();
        assert_eq!(e.exit_code(), i32::from(super::USAGE));
        assert_ne!(super::USAGE, super::RUNS_NOT_OK);
        assert_ne!(super::USAGE, super::ERROR);
    }
}
