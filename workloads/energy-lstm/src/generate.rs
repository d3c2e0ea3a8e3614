//! A generator that scales the household energy data up with its observed marginals and
//! dependencies (measured on the Kaggle copy, 90,000 rows):
//!
//! - household size uniform 1–6; `Has_AC` constant per household, P(Yes) = 0.49;
//! - 7-or-more consecutive days from 2025-04-01; temperature i.i.d. N(17.5, 2.49) °C clipped to
//!   [10, 25], 1 dp (no day-to-day correlation in the real data);
//! - energy kWh = 2.5 × size without AC, 3.5 × size + 0.5 with AC, + 0.15 kWh/°C × (T − 17.5)
//!   with AC, + N(0, 1.45) day noise, clipped to [0.5, 20], 1 dp (real: per-(size, AC) means
//!   2.54 … 19.87, σ ≈ 1.5 within a group; overall μ 10.57, σ 5.52);
//! - peak kWh = energy × (0.35 without AC, 0.45 with AC) + N(0, 0.03) × energy, 1 dp.
//!
//! Written as one CSV in the Kaggle layout (with `Day_of_Week`), then preprocessed into the
//! same directory (`train/`, `test/`, `scaler.json`), so a study reads parquet directly.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use harness_runtime::workload::{gen_option, GenOption, Generator};
use harness_runtime::WorkloadError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::raw::{civil_from_days, days_from_civil, Day};

/// File name of the generated CSV.
pub const CSV_FILE: &str = "household_energy_consumption.csv";

/// Options of a generated set.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub households: usize,
    pub days: usize,
    pub seed: u64,
    /// Parquet files per split of the prepared copy.
    pub files: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            households: 12_857,
            days: 7,
            seed: 7,
            files: 8,
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

fn round1(x: f64) -> f32 {
    ((x * 10.0).round() / 10.0) as f32
}

/// The generated days: household `h` depends only on (seed, h).
pub fn days(o: &GenerateOptions) -> Vec<Day> {
    let start = days_from_civil(2025, 4, 1);
    let width = o.households.to_string().len().max(5);
    let noise = Normal::<f64>::new(0.0, 1.45).expect("valid");
    let temp = Normal::<f64>::new(17.5, 2.49).expect("valid");
    let ratio_noise = Normal::<f64>::new(0.0, 0.03).expect("valid");
    let mut out = Vec::with_capacity(o.households * o.days);
    for h in 0..o.households {
        let mut rng =
            ChaCha8Rng::seed_from_u64(o.seed ^ (h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let size = rng.random_range(1..=6u32) as f64;
        let has_ac = rng.random_bool(0.49);
        let id = format!("H{:0width$}", h + 1);
        for d in 0..o.days {
            let t = temp.sample(&mut rng).clamp(10.0, 25.0);
            let t = f64::from(round1(t));
            let mean = if has_ac {
                3.5 * size + 0.5 + 0.15 * (t - 17.5)
            } else {
                2.5 * size
            };
            let e = f64::from(round1((mean + noise.sample(&mut rng)).clamp(0.5, 20.0)));
            let ratio = if has_ac { 0.45 } else { 0.35 } + ratio_noise.sample(&mut rng);
            out.push(Day {
                household: id.clone(),
                date: start + d as i32,
                energy_kwh: e as f32,
                size: size as f32,
                temperature_c: t as f32,
                has_ac,
                peak_kwh: round1((e * ratio).max(0.0)),
            });
        }
    }
    out
}

/// Writes `days` as a Kaggle-layout CSV.
///
/// # Errors
/// I/O errors.
pub fn write_csv(days: &[Day], path: &Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "Household_ID,Date,Day_of_Week,Energy_Consumption_kWh,Household_Size,Avg_Temperature_C,Has_AC,Peak_Hours_Usage_kWh")?;
    for d in days {
        writeln!(
            w,
            "{},{},{},{:.1},{},{:.1},{},{:.1}",
            d.household,
            civil_from_days(d.date),
            WEEKDAYS[d.date.rem_euclid(7) as usize],
            d.energy_kwh,
            d.size,
            d.temperature_c,
            if d.has_ac { "Yes" } else { "No" },
            d.peak_kwh
        )?;
    }
    w.flush()
}

/// `harness data generate energy`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnergyGenerator;

impl Generator for EnergyGenerator {
    fn name(&self) -> &'static str {
        "energy"
    }

    fn about(&self) -> &'static str {
        "household daily energy like the Kaggle set, scaled up: a CSV plus its prepared train/ test/ parquet"
    }

    fn options(&self) -> Vec<GenOption> {
        let d = GenerateOptions::default();
        vec![
            GenOption {
                name: "households",
                help: "Households (the Kaggle set has 12,857)",
                default: Some(d.households.to_string()),
            },
            GenOption {
                name: "days",
                help: "Consecutive days per household from 2025-04-01",
                default: Some(d.days.to_string()),
            },
            GenOption {
                name: "seed",
                help: "Seed; each household depends only on (seed, index)",
                default: Some(d.seed.to_string()),
            },
            GenOption {
                name: "files",
                help: "Parquet files per split of the prepared copy",
                default: Some(d.files.to_string()),
            },
        ]
    }

    fn generate(
        &self,
        out: &Path,
        options: &BTreeMap<String, String>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<String, WorkloadError> {
        let d = GenerateOptions::default();
        let o = GenerateOptions {
            households: gen_option(options, "households")?.unwrap_or(d.households),
            days: gen_option(options, "days")?.unwrap_or(d.days),
            seed: gen_option(options, "seed")?.unwrap_or(d.seed),
            files: gen_option(options, "files")?.unwrap_or(d.files),
        };
        if o.households < 2 || o.days < 1 || o.files < 1 {
            return Err("--households must be at least 2, --days and --files at least 1".into());
        }
        std::fs::create_dir_all(out)
            .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        progress(0, 3);
        let days = days(&o);
        let csv = out.join(CSV_FILE);
        write_csv(&days, &csv).map_err(|e| format!("cannot write {}: {e}", csv.display()))?;
        progress(1, 3);
        let p = crate::prepare::prepare(&days)?;
        progress(2, 3);
        let line = crate::prepare::write(&p, out, o.files)?;
        progress(3, 3);
        Ok(format!(
            "wrote {} ({} rows) and {line} into {}",
            CSV_FILE,
            days.len(),
            out.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_days_have_the_real_marginals() {
        let o = GenerateOptions {
            households: 4000,
            ..Default::default()
        };
        let d = days(&o);
        assert_eq!(d.len(), 28_000);
        let e: Vec<f64> = d.iter().map(|x| f64::from(x.energy_kwh)).collect();
        let mean = e.iter().sum::<f64>() / e.len() as f64;
        let sd = (e.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / e.len() as f64).sqrt();
        // Real: μ 10.57, σ 5.52.
        assert!((mean - 10.57).abs() < 0.4, "mean {mean}");
        assert!((sd - 5.52).abs() < 0.4, "sd {sd}");
        let ac = d.iter().filter(|x| x.has_ac).count() as f64 / d.len() as f64;
        assert!((ac - 0.49).abs() < 0.03, "AC share {ac}");
        let ratio = |ac: bool| {
            let r: Vec<f64> = d
                .iter()
                .filter(|x| x.has_ac == ac)
                .map(|x| f64::from(x.peak_kwh / x.energy_kwh))
                .collect();
            r.iter().sum::<f64>() / r.len() as f64
        };
        assert!((ratio(false) - 0.35).abs() < 0.02 && (ratio(true) - 0.45).abs() < 0.02);
        // The CSV round-trips through the loader.
        let dir = tempfile::tempdir().unwrap();
        let small = days(&GenerateOptions {
            households: 20,
            ..Default::default()
        });
        let p = dir.path().join("x.csv");
        write_csv(&small, &p).unwrap();
        assert_eq!(crate::raw::load_file(&p).unwrap(), small);
    }
}
