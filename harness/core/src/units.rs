//! Units used on the command line and in study files: memory sizes such as `7g` or `512m`.

use thiserror::Error;

/// A memory size that could not be parsed.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("cannot parse memory size {input:?}: {reason} (use a number of bytes or a suffix k, m, g, t as in `7g`, `512m`, `1.5g`)")]
pub struct MemoryParseError {
    /// The text that was given.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// Parses a memory size into bytes.
///
/// Accepts a plain byte count (`1048576`) or a number with a binary suffix `k`, `m`, `g`, `t`
/// (case-insensitive, optionally followed by `b` or `ib`: `7g`, `7G`, `7GiB`, `512mb`). Suffixes
/// are powers of 1024, as in Spark's `--executor-memory` and Docker's `mem_limit`. Fractions are
/// allowed with a suffix (`1.5g`). Zero is rejected: an executor cannot run in no memory.
///
/// # Errors
/// [`MemoryParseError`] when the text is empty, has an unknown suffix, is not a number, is zero
/// or overflows `u64`.
pub fn parse_memory(input: &str) -> Result<u64, MemoryParseError> {
    let err = |reason| MemoryParseError {
        input: input.to_string(),
        reason,
    };
    let s = input.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Err(err("empty"));
    }
    let s = s
        .strip_suffix("ib")
        .or_else(|| s.strip_suffix('b'))
        .unwrap_or(&s);
    let (num, mult): (&str, u64) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1 << 10),
        Some('m') => (&s[..s.len() - 1], 1 << 20),
        Some('g') => (&s[..s.len() - 1], 1 << 30),
        Some('t') => (&s[..s.len() - 1], 1 << 40),
        Some(c) if c.is_ascii_digit() => (s, 1),
        _ => return Err(err("unknown suffix")),
    };
    let value: f64 = num.trim().parse().map_err(|_| err("not a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(err("not a non-negative number"));
    }
    let bytes = value * mult as f64;
    if bytes >= u64::MAX as f64 {
        return Err(err("too large"));
    }
    let bytes = bytes.round() as u64;
    if bytes == 0 {
        return Err(err("must be more than zero bytes"));
    }
    Ok(bytes)
}

/// Formats a byte count with the largest binary unit that keeps it short: `7g`, `512m`, `1.5g`.
/// The output parses back with [`parse_memory`] to the same value when it is a multiple of 1/100
/// of the unit.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "t"),
        (1 << 30, "g"),
        (1 << 20, "m"),
        (1 << 10, "k"),
    ];
    for (size, suffix) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{}{suffix}", bytes / size)
            } else {
                format!("{}{suffix}", (v * 100.0).round() / 100.0)
            };
        }
    }
    format!("{bytes}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_suffixes() {
        assert_eq!(parse_memory("7g").unwrap(), 7 * 1024 * 1024 * 1024);
        assert_eq!(parse_memory("7GiB").unwrap(), 7 * 1024 * 1024 * 1024);
        assert_eq!(parse_memory("512m").unwrap(), 512 * 1024 * 1024);
        assert_eq!(parse_memory("512MB").unwrap(), 512 * 1024 * 1024);
        assert_eq!(parse_memory("1.5g").unwrap(), 3 * 512 * 1024 * 1024);
        assert_eq!(parse_memory("4096").unwrap(), 4096);
        assert_eq!(parse_memory(" 2k ").unwrap(), 2048);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "g", "7x", "seven", "-1g", "0", "0m"] {
            let e = parse_memory(bad).unwrap_err();
            assert_eq!(e.input, bad);
            assert!(
                e.to_string().contains("7g"),
                "message teaches the syntax: {e}"
            );
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["7g", "512m", "1.5g", "3k", "100"] {
            let b = parse_memory(s).unwrap();
            assert_eq!(format_bytes(b), s);
            assert_eq!(parse_memory(&format_bytes(b)).unwrap(), b);
        }
    }
}
