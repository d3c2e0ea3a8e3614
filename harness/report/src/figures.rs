//! The study's figures: an [`Analysis`] (and the records, for per-executor limits) → SVG.

use harness_core::fit::{amdahl_time, usl_time};
use harness_core::RunRecord;

use crate::analysis::{series_label, Analysis, PointSummary};
use crate::charts::{self, LimitPoint, LineChart, Series, Style};
use crate::ReportError;

/// Chart ids, titles and what they show, in page order.
pub const CHARTS: [(&str, &str); 10] = [
    ("time", "Training time vs executors"),
    ("speedup", "Speedup vs executors"),
    ("efficiency", "Parallel efficiency vs executors"),
    ("karp-flatt", "Karp–Flatt serial fraction vs executors"),
    ("fits", "Amdahl and USL fits of training time"),
    (
        "time-vs-fraction",
        "Training time vs fraction (weak scaling view)",
    ),
    ("time-per-row", "Training time per row vs fraction"),
    ("accuracy", "Accuracy vs fraction"),
    ("phases", "Per-executor phases (stragglers)"),
    ("limits", "Requested vs measured limits"),
];

fn series_keys(a: &Analysis) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for p in &a.points {
        let l = series_label(&p.point);
        if !keys.contains(&l) {
            keys.push(l);
        }
    }
    keys
}

fn by_series<'a>(a: &'a Analysis, key: &str) -> Vec<&'a PointSummary> {
    a.points
        .iter()
        .filter(|p| series_label(&p.point) == key && p.train.is_some())
        .collect()
}

fn executor_chart(title: &str, y: &str, log_y: bool) -> LineChart {
    LineChart {
        title: title.into(),
        x_desc: "executors (log₂)".into(),
        y_desc: y.into(),
        log_x: true,
        log_y,
        x_integer: true,
        series: Vec::new(),
    }
}

/// Every chart of the page as (id, title, svg).
///
/// # Errors
/// [`ReportError::Chart`] if a chart cannot be drawn.
pub fn all(
    records: &[RunRecord],
    a: &Analysis,
) -> Result<Vec<(&'static str, &'static str, String)>, ReportError> {
    let keys = series_keys(a);
    let e = |p: &PointSummary| f64::from(p.point.executors);
    let mut time = executor_chart(CHARTS[0].1, "training time, s (log; median, 95 % CI)", true);
    let mut speedup = executor_chart(CHARTS[1].1, "speedup T(base)/T(E)", false);
    let mut efficiency = executor_chart(CHARTS[2].1, "parallel efficiency", false);
    let mut kf = executor_chart(CHARTS[3].1, "Karp–Flatt e", false);
    let mut fits = executor_chart(CHARTS[4].1, "training time, s (log)", true);
    let (mut emin, mut emax) = (f64::INFINITY, 0f64);
    for (i, key) in keys.iter().enumerate() {
        let ps = by_series(a, key);
        if ps.is_empty() {
            continue;
        }
        let c = Some(i);
        let med = |p: &&PointSummary| p.train.as_ref().expect("filtered").median;
        time.series.push(Series {
            label: key.clone(),
            points: ps.iter().map(|p| (e(p), med(p))).collect(),
            whiskers: ps
                .iter()
                .map(|p| {
                    let d = p.train.as_ref().expect("filtered");
                    (e(p), d.ci.0, d.ci.1)
                })
                .collect(),
            style: Style::Measured,
            color: c,
        });
        let (e0, t0) = (e(ps[0]), med(&ps[0]));
        let elast = e(ps[ps.len() - 1]);
        emin = emin.min(e0);
        emax = emax.max(elast);
        time.series.push(Series {
            label: if i == 0 {
                "ideal T(base)·base/E".into()
            } else {
                String::new()
            },
            points: vec![(e0, t0), (elast, t0 * e0 / elast)],
            whiskers: vec![],
            style: Style::Dashed,
            color: c,
        });
        let scaled = |f: &dyn Fn(&PointSummary) -> Option<f64>| -> Vec<(f64, f64)> {
            ps.iter().filter_map(|p| f(p).map(|v| (e(p), v))).collect()
        };
        for (chart, f) in [
            (
                &mut speedup,
                &(|p: &PointSummary| p.scaling_train.map(|s| s.speedup))
                    as &dyn Fn(&PointSummary) -> Option<f64>,
            ),
            (&mut efficiency, &|p: &PointSummary| {
                p.scaling_train.map(|s| s.efficiency)
            }),
            (&mut kf, &|p: &PointSummary| {
                p.scaling_train.and_then(|s| s.karp_flatt)
            }),
        ] {
            chart.series.push(Series {
                label: key.clone(),
                points: scaled(f),
                whiskers: vec![],
                style: Style::Measured,
                color: c,
            });
        }
        fits.series.push(Series {
            label: key.clone(),
            points: ps.iter().map(|p| (e(p), med(p))).collect(),
            whiskers: vec![],
            style: Style::Markers,
            color: c,
        });
        if let Some(f) = a.fits.iter().find(|f| &f.label == key) {
            let span: Vec<f64> = (0..=40)
                .map(|k| e0 * (elast * 2.0 / e0).powf(f64::from(k) / 40.0))
                .collect();
            if let Some(m) = &f.amdahl_train {
                fits.series.push(Series {
                    label: format!("Amdahl s={:.3}", m.serial_fraction),
                    points: span
                        .iter()
                        .map(|p| (*p, amdahl_time(m.t1, m.serial_fraction, *p)))
                        .collect(),
                    whiskers: vec![],
                    style: Style::Dashed,
                    color: c,
                });
            }
            if let Some(m) = &f.usl_train {
                fits.series.push(Series {
                    label: format!("USL σ={:.3} κ={:.4}", m.sigma, m.kappa),
                    points: span
                        .iter()
                        .map(|p| (*p, usl_time(m.t1, m.sigma, m.kappa, *p)))
                        .collect(),
                    whiskers: vec![],
                    style: Style::Dotted,
                    color: c,
                });
            }
        }
    }
    if emin.is_finite() {
        let base = emin;
        speedup.series.push(Series {
            label: "ideal (linear)".into(),
            points: vec![(base, 1.0), (emax, emax / base)],
            whiskers: vec![],
            style: Style::Dashed,
            color: None,
        });
        efficiency.series.push(Series {
            label: "ideal".into(),
            points: vec![(base, 1.0), (emax, 1.0)],
            whiskers: vec![],
            style: Style::Dashed,
            color: None,
        });
    }

    // Views over fractions, one series per executor count.
    let mut execs: Vec<u32> = a.points.iter().map(|p| p.point.executors).collect();
    execs.sort_unstable();
    execs.dedup();
    let fraction_chart = |title: &str, y: &str, log_y: bool| LineChart {
        title: title.into(),
        x_desc: "fraction of input files".into(),
        y_desc: y.into(),
        log_x: false,
        log_y,
        x_integer: false,
        series: Vec::new(),
    };
    let mut tvf = fraction_chart(CHARTS[5].1, "training time, s (median, 95 % CI)", false);
    let mut tpr = fraction_chart(CHARTS[6].1, "training time per row, µs", false);
    let mut acc = fraction_chart(CHARTS[7].1, "accuracy (median)", false);
    for (i, ex) in execs.iter().enumerate() {
        let mut ps: Vec<&PointSummary> = a
            .points
            .iter()
            .filter(|p| p.point.executors == *ex && p.train.is_some())
            .collect();
        ps.sort_by(|x, y| x.point.fraction.total_cmp(&y.point.fraction));
        let f = |p: &&PointSummary| p.point.fraction;
        let label = format!("{ex} executor{}", if *ex == 1 { "" } else { "s" });
        tvf.series.push(Series {
            label: label.clone(),
            points: ps
                .iter()
                .map(|p| (f(p), p.train.as_ref().expect("filtered").median))
                .collect(),
            whiskers: ps
                .iter()
                .map(|p| {
                    let d = p.train.as_ref().expect("filtered");
                    (f(p), d.ci.0, d.ci.1)
                })
                .collect(),
            style: Style::Measured,
            color: Some(i),
        });
        tpr.series.push(Series {
            label: label.clone(),
            points: ps
                .iter()
                .filter_map(|p| {
                    let rows = p.train_rows.filter(|r| *r > 0.0)?;
                    Some((f(p), p.train.as_ref()?.median / rows * 1e6))
                })
                .collect(),
            whiskers: vec![],
            style: Style::Measured,
            color: Some(i),
        });
        for (name, style, get) in [
            (
                "val",
                Style::Measured,
                (|p: &PointSummary| p.val_accuracy) as fn(&PointSummary) -> Option<f64>,
            ),
            ("test", Style::Dashed, |p: &PointSummary| p.test_accuracy),
            ("ROC AUC", Style::Measured, |p: &PointSummary| p.auc),
        ] {
            acc.series.push(Series {
                label: format!("{name}, {label}"),
                points: ps
                    .iter()
                    .filter_map(|p| get(p).map(|v| (f(p), v)))
                    .collect(),
                whiskers: vec![],
                style,
                color: Some(i),
            });
        }
    }

    let bars: Vec<charts::PhaseBar> = a
        .stragglers
        .iter()
        .flat_map(|s| {
            s.phases.iter().map(move |(rank, l, c, m, ev)| {
                (
                    format!("{} r{} (×{:.2})", s.run_id, rank, s.ratio),
                    [*l, *c, *m, *ev],
                )
            })
        })
        .collect();
    let limits: Vec<LimitPoint> = records
        .iter()
        .flat_map(|r| {
            r.executor_reports.iter().map(move |x| LimitPoint {
                cores_requested: f64::from(x.cores_requested),
                cores_measured: f64::from(x.cores_measured),
                memory_requested_gib: r.point.memory_bytes as f64 / f64::from(1u32 << 30),
                memory_measured_gib: x
                    .memory_limit_bytes
                    .map(|m| m as f64 / f64::from(1u32 << 30)),
                flagged: !x.enforced || r.oversubscribed,
            })
        })
        .collect();

    let svgs = vec![
        charts::line_chart(&time)?,
        charts::line_chart(&speedup)?,
        charts::line_chart(&efficiency)?,
        charts::line_chart(&kf)?,
        charts::line_chart(&fits)?,
        charts::line_chart(&tvf)?,
        charts::line_chart(&tpr)?,
        charts::line_chart(&acc)?,
        charts::phase_chart(CHARTS[8].1, &bars)?,
        charts::limits_chart(&limits)?,
    ];
    Ok(CHARTS
        .iter()
        .zip(svgs)
        .map(|((id, title), svg)| (*id, *title, svg))
        .collect())
}
