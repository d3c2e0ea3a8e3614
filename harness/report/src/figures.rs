//! The study's figures: an [`Analysis`] (and the records, for per-executor limits) → SVG.
//! Every study gets [`CHARTS`]; a task-parallel study also [`FARM_CHARTS`] and its task
//! timelines (Gantt charts of rank × slot × time); an epoch-based regression study also
//! [`REGRESSION_CHARTS`].

use harness_core::fit::{amdahl_time, usl_time};
use harness_core::record::FarmStats;
use harness_core::RunRecord;

use crate::analysis::{params_label, series_label, Analysis, Dist, PointSummary};
use crate::charts::{self, GanttBar, LimitPoint, LineChart, Series, Style};
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

/// Charts of task-parallel studies (records with farm data), after [`CHARTS`]; then one task
/// timeline `gantt-e<executors>` per executor count.
pub const FARM_CHARTS: [(&str, &str); 2] = [
    ("throughput", "Task throughput vs executors"),
    ("utilisation", "Slot utilisation vs executors"),
];

/// Charts of studies whose runs report epochs (`metrics.extra.epoch_sec`) or a test RMSE:
/// seconds per epoch against executors, and test error against fraction (RMSE and MAE, and a
/// baseline's `baseline_rmse` / `baseline_mae` when reported).
pub const REGRESSION_CHARTS: [(&str, &str); 2] = [
    ("epoch-time", "Epoch time vs executors"),
    ("error", "Test error vs fraction"),
];

fn series_keys(a: &Analysis) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for p in &a.points {
        let l = series_label(&p.point, &a.varying_params);
        if !keys.contains(&l) {
            keys.push(l);
        }
    }
    keys
}

fn by_series<'a>(a: &'a Analysis, key: &str) -> Vec<&'a PointSummary> {
    a.points
        .iter()
        .filter(|p| series_label(&p.point, &a.varying_params) == key && p.train.is_some())
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

/// A chart of the page: (id, title, svg).
pub type Chart = (String, String, String);

/// Every chart of the page: [`CHARTS`], and for task-parallel studies [`FARM_CHARTS`] and the
/// task timelines.
///
/// # Errors
/// [`ReportError::Chart`] if a chart cannot be drawn.
pub fn all(records: &[RunRecord], a: &Analysis) -> Result<Vec<Chart>, ReportError> {
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

    // Views over fractions, one series per executor count (and varying parameters).
    let mut execs: Vec<(u32, String)> = a
        .points
        .iter()
        .map(|p| (p.point.executors, params_label(&p.point, &a.varying_params)))
        .collect();
    execs.sort();
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
    for (i, (ex, params)) in execs.iter().enumerate() {
        let mut ps: Vec<&PointSummary> = a
            .points
            .iter()
            .filter(|p| {
                p.point.executors == *ex
                    && params_label(&p.point, &a.varying_params) == *params
                    && p.train.is_some()
            })
            .collect();
        ps.sort_by(|x, y| x.point.fraction.total_cmp(&y.point.fraction));
        let f = |p: &&PointSummary| p.point.fraction;
        let mut label = format!("{ex} executor{}", if *ex == 1 { "" } else { "s" });
        if !params.is_empty() {
            label = format!("{label} {params}");
        }
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
            s.phases.iter().map(move |p| {
                (
                    format!(
                        "{} r{} (×{:.2}){}",
                        s.run_id,
                        p.rank,
                        s.ratio,
                        if p.contended { " contended" } else { "" }
                    ),
                    [p.load, p.compute, p.comm, p.wait, p.eval],
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
    let mut out: Vec<Chart> = CHARTS
        .iter()
        .zip(svgs)
        .map(|((id, title), svg)| (id.to_string(), title.to_string(), svg))
        .collect();
    if a.points.iter().any(|p| p.throughput.is_some()) {
        out.extend(farm_charts(a)?);
    }
    if a.points
        .iter()
        .any(|p| p.rmse.is_some() || p.extra.contains_key("epoch_sec"))
    {
        out.extend(regression_charts(a)?);
    }
    Ok(out)
}

/// [`REGRESSION_CHARTS`]: median seconds per epoch against executors (one line per series,
/// with the ideal 1/E line from its first point), and median test RMSE / MAE against fraction
/// (one line per executor count and parameters; the baseline dashed).
fn regression_charts(a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let e = |p: &PointSummary| f64::from(p.point.executors);
    let mut epoch = executor_chart(
        REGRESSION_CHARTS[0].1,
        "seconds per epoch (log; median)",
        true,
    );
    for (i, key) in series_keys(a).iter().enumerate() {
        let ps: Vec<(f64, f64)> = a
            .points
            .iter()
            .filter(|p| series_label(&p.point, &a.varying_params) == *key)
            .filter_map(|p| Some((e(p), *p.extra.get("epoch_sec")?)))
            .collect();
        let (Some(first), Some(last)) = (ps.first().copied(), ps.last().copied()) else {
            continue;
        };
        epoch.series.push(Series {
            label: key.clone(),
            points: ps,
            whiskers: vec![],
            style: Style::Measured,
            color: Some(i),
        });
        epoch.series.push(Series {
            label: if i == 0 {
                "ideal T(base)·base/E".into()
            } else {
                String::new()
            },
            points: vec![first, (last.0, first.1 * first.0 / last.0)],
            whiskers: vec![],
            style: Style::Dashed,
            color: Some(i),
        });
    }
    let mut error = LineChart {
        title: REGRESSION_CHARTS[1].1.into(),
        x_desc: "fraction of training data".into(),
        y_desc: "test error (target's unit; median)".into(),
        log_x: false,
        log_y: false,
        x_integer: false,
        series: Vec::new(),
    };
    let mut groups: Vec<(u32, String)> = a
        .points
        .iter()
        .map(|p| (p.point.executors, params_label(&p.point, &a.varying_params)))
        .collect();
    groups.sort();
    groups.dedup();
    for (i, (executors, params)) in groups.iter().enumerate() {
        let mut ps: Vec<&PointSummary> = a
            .points
            .iter()
            .filter(|p| {
                p.point.executors == *executors
                    && params_label(&p.point, &a.varying_params) == *params
            })
            .collect();
        ps.sort_by(|x, y| x.point.fraction.total_cmp(&y.point.fraction));
        let label = format!(
            "{executors} executor{}{}",
            if *executors == 1 { "" } else { "s" },
            if params.is_empty() {
                String::new()
            } else {
                format!(", {params}")
            }
        );
        for (name, style, get) in [
            (
                "RMSE",
                Style::Measured,
                (|p: &PointSummary| p.rmse) as fn(&PointSummary) -> Option<f64>,
            ),
            ("MAE", Style::Dashed, |p: &PointSummary| p.mae),
            ("baseline RMSE", Style::Dashed, |p: &PointSummary| {
                p.extra.get("baseline_rmse").copied()
            }),
        ] {
            let points: Vec<(f64, f64)> = ps
                .iter()
                .filter_map(|p| get(p).map(|v| (p.point.fraction, v)))
                .collect();
            if !points.is_empty() {
                error.series.push(Series {
                    label: format!("{name}, {label}"),
                    points,
                    whiskers: vec![],
                    style,
                    color: Some(i),
                });
            }
        }
    }
    Ok(vec![
        (
            REGRESSION_CHARTS[0].0.to_string(),
            REGRESSION_CHARTS[0].1.to_string(),
            charts::line_chart(&epoch)?,
        ),
        (
            REGRESSION_CHARTS[1].0.to_string(),
            REGRESSION_CHARTS[1].1.to_string(),
            charts::line_chart(&error)?,
        ),
    ])
}

/// Throughput and utilisation against executors (one line per series, median and 95 % CI),
/// and a task timeline per [`Analysis::gantts`] entry.
fn farm_charts(a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let e = |p: &PointSummary| f64::from(p.point.executors);
    let mut tput = executor_chart(
        FARM_CHARTS[0].1,
        "tasks per second (median, 95 % CI)",
        false,
    );
    let mut util = executor_chart(
        FARM_CHARTS[1].1,
        "Σ task seconds / (slots × wall seconds)",
        false,
    );
    let (mut emin, mut emax) = (f64::INFINITY, 0f64);
    for (i, key) in series_keys(a).iter().enumerate() {
        let ps: Vec<&PointSummary> = a
            .points
            .iter()
            .filter(|p| series_label(&p.point, &a.varying_params) == *key && p.throughput.is_some())
            .collect();
        let Some(first) = ps.first() else { continue };
        for (chart, get) in [
            (
                &mut tput,
                (|p: &PointSummary| p.throughput.clone()) as fn(&PointSummary) -> Option<Dist>,
            ),
            (&mut util, |p: &PointSummary| p.utilisation.clone()),
        ] {
            let ds: Vec<(f64, Dist)> = ps.iter().filter_map(|p| Some((e(p), get(p)?))).collect();
            chart.series.push(Series {
                label: key.clone(),
                points: ds.iter().map(|(x, d)| (*x, d.median)).collect(),
                whiskers: ds.iter().map(|(x, d)| (*x, d.ci.0, d.ci.1)).collect(),
                style: Style::Measured,
                color: Some(i),
            });
        }
        // Linear scaling of the first point's throughput.
        let (e0, t0) = (
            e(first),
            first.throughput.as_ref().expect("filtered").median,
        );
        let elast = e(ps[ps.len() - 1]);
        emin = emin.min(e0);
        emax = emax.max(elast);
        tput.series.push(Series {
            label: if i == 0 {
                "ideal (linear)".into()
            } else {
                String::new()
            },
            points: vec![(e0, t0), (elast, t0 * elast / e0)],
            whiskers: vec![],
            style: Style::Dashed,
            color: Some(i),
        });
    }
    if emin.is_finite() {
        util.series.push(Series {
            label: "every slot busy".into(),
            points: vec![(emin, 1.0), (emax, 1.0)],
            whiskers: vec![],
            style: Style::Dashed,
            color: None,
        });
    }
    let mut out = vec![
        (
            FARM_CHARTS[0].0.to_string(),
            FARM_CHARTS[0].1.to_string(),
            charts::line_chart(&tput)?,
        ),
        (
            FARM_CHARTS[1].0.to_string(),
            FARM_CHARTS[1].1.to_string(),
            charts::line_chart(&util)?,
        ),
    ];
    for g in &a.gantts {
        let failed = g.farm.tasks.iter().filter(|t| !t.ok).count();
        let title = format!(
            "Task timeline, {} executor{} (run {}){}",
            g.executors,
            if g.executors == 1 { "" } else { "s" },
            g.run_id,
            if failed > 0 {
                format!(", {failed} failed in red")
            } else {
                String::new()
            }
        );
        let (rows, bars) = gantt_rows(&g.farm);
        out.push((
            format!("gantt-e{}", g.executors),
            title.clone(),
            charts::gantt_chart(&title, &rows, &bars)?,
        ));
    }
    Ok(out)
}

/// Rows (`executor r · slot s`, in rank then slot order) and bars of a farm's tasks: a task
/// spans from its end minus its seconds on the slot (not before it was handed out) to the
/// moment its result reached rank 0.
pub fn gantt_rows(farm: &FarmStats) -> (Vec<String>, Vec<GanttBar>) {
    let mut rows = Vec::new();
    let mut first_row = Vec::new();
    for (rank, &n) in farm.slots.iter().enumerate() {
        first_row.push(rows.len());
        for slot in 0..n {
            rows.push(format!("executor {rank} · slot {slot}"));
        }
    }
    let bars = farm
        .tasks
        .iter()
        .filter_map(|t| {
            let row = first_row.get(t.rank as usize)? + t.slot as usize;
            Some(GanttBar {
                row,
                start: (t.finished_sec - t.seconds).max(t.dispatched_sec),
                end: t.finished_sec,
                color: t.rank as usize,
                ok: t.ok,
            })
        })
        .collect();
    (rows, bars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_core::record::TaskSpan;

    fn span(id: u32, rank: u32, slot: u32, dispatched: f64, finished: f64, secs: f64) -> TaskSpan {
        TaskSpan {
            id,
            rank,
            slot,
            dispatched_sec: dispatched,
            finished_sec: finished,
            seconds: secs,
            ok: id != 2,
        }
    }

    #[test]
    fn gantt_rows_follow_ranks_and_slots() {
        let farm = FarmStats {
            slots: vec![2, 1],
            wall_sec: 3.0,
            tasks: vec![
                span(0, 0, 1, 0.0, 1.0, 0.9),
                span(1, 1, 0, 0.0, 2.0, 1.5),
                span(2, 0, 0, 0.5, 3.0, 2.9),
            ],
            coordinator_cpu_sec: None,
            coordinator_wakeups: None,
            coordinator_poll_cpu_sec: None,
            coordinator_empty_polls: None,
        };
        let (rows, bars) = gantt_rows(&farm);
        assert_eq!(
            rows,
            vec![
                "executor 0 · slot 0",
                "executor 0 · slot 1",
                "executor 1 · slot 0"
            ]
        );
        assert_eq!(bars.len(), 3);
        assert_eq!((bars[0].row, bars[1].row, bars[2].row), (1, 2, 0));
        // A bar starts at finish − seconds on the slot …
        assert!((bars[0].start - 0.1).abs() < 1e-12 && bars[0].end == 1.0);
        assert!((bars[1].start - 0.5).abs() < 1e-12);
        // … but never before the task was handed out.
        assert_eq!(bars[2].start, 0.5);
        assert!(!bars[2].ok && bars[0].ok);
        assert_eq!((bars[0].color, bars[1].color), (0, 1));
    }
}
