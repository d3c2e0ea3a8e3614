//! The study's figures: an [`Analysis`] (with the records, for per-executor figures, and the
//! [`Findings`], for predictions) → chart descriptions → SVG.
//!
//! Executor charts have one series per (fraction, cores, memory, varying parameters), fraction
//! charts one per executor count; a series keeps its colour on every chart of its kind. Every
//! measured point carries its 95 % interval and run count; ideal lines are grey and dashed;
//! only metrics the workload reports are drawn.

use harness_core::fit::{amdahl_time, usl_time, Law};
use harness_core::record::FarmStats;
use harness_core::stats::median_ratio;
use harness_core::RunRecord;

use crate::analysis::{
    ok_training_times, params_label, series_label, Analysis, Change, Dist, Metric, PointSummary,
    SeriesFit, Verdict,
};
use crate::charts::{
    self, Axis, Bar, BarChart, LegendEntry, LineChart, Mark, Paint, Series, Style, Swatch, Unit,
};
use crate::findings::Findings;
use crate::theme::{self, Rgb};
use crate::ReportError;

/// A chart of the page.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Element id suffix and file name: `chart-<id>`, `<id>.svg`.
    pub id: String,
    pub title: String,
    pub svg: String,
    /// Spans the whole grid row (timelines, bar charts with many rows).
    pub wide: bool,
}

/// Chart ids and titles every data-parallel study gets (when its records hold the data).
pub const CHARTS: [(&str, &str); 13] = [
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
    ("memory", "Peak memory per executor vs fraction"),
    ("memory-per-row", "Peak memory per training row vs fraction"),
    (
        "phases",
        "Per-executor phases of the median run (stragglers)",
    ),
    ("limits-cores", "Requested vs measured CPUs per executor"),
    (
        "limits-memory",
        "Requested vs measured memory limit per executor",
    ),
];

/// Charts of task-parallel studies, then one task timeline `gantt-e<executors>` each.
pub const FARM_CHARTS: [(&str, &str); 2] = [
    ("throughput", "Task throughput vs executors"),
    ("utilisation", "Slot utilisation vs executors"),
];

/// Charts of studies whose runs report epochs or a test RMSE.
pub const REGRESSION_CHARTS: [(&str, &str); 2] = [
    ("epoch-time", "Epoch time vs executors"),
    ("error", "Test error vs fraction"),
];

fn title(id: &str) -> String {
    CHARTS
        .iter()
        .chain(&FARM_CHARTS)
        .chain(&REGRESSION_CHARTS)
        .find(|c| c.0 == id)
        .map_or(id.to_string(), |c| c.1.to_string())
}

fn line(id: &str, c: &LineChart) -> Result<Chart, ReportError> {
    Ok(Chart {
        id: id.into(),
        title: c.title.clone(),
        svg: charts::line_chart(c)?,
        wide: false,
    })
}

/// The series labels of executor charts, in analysis order: series with at least one ok run
/// (so colours are not spent on series that draw nothing).
pub fn series_keys(a: &Analysis) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for p in a.points.iter().filter(|p| p.ok > 0) {
        let l = series_label(&p.point, &a.varying_params);
        if !keys.contains(&l) {
            keys.push(l);
        }
    }
    keys
}

fn by_series<'a>(a: &'a Analysis, key: &str) -> Vec<&'a PointSummary> {
    let mut v: Vec<&PointSummary> = a
        .points
        .iter()
        .filter(|p| series_label(&p.point, &a.varying_params) == key && p.train.is_some())
        .collect();
    v.sort_by_key(|p| p.point.executors);
    v
}

fn executor_counts(a: &Analysis) -> Vec<f64> {
    let mut v: Vec<u32> = a.points.iter().map(|p| p.point.executors).collect();
    v.sort_unstable();
    v.dedup();
    v.into_iter().map(f64::from).collect()
}

fn ex(p: &PointSummary) -> f64 {
    f64::from(p.point.executors)
}

/// Bytes per mebibyte.
const MIB: f64 = 1_048_576.0;

/// A mark with its value and interval multiplied by `k` (a change of unit).
fn scaled(m: Mark, k: f64) -> Mark {
    Mark {
        y: m.y * k,
        ci: m.ci.map(|(lo, hi)| (lo * k, hi * k)),
        ..m
    }
}

/// A distribution as a mark at `x`.
fn dist_mark(x: f64, d: &Dist) -> Mark {
    Mark {
        x,
        y: d.median,
        ci: Some(d.ci),
        n: Some(d.n),
        note: None,
    }
}

fn chart(id: &str, x: Axis, y: Axis) -> LineChart {
    LineChart {
        notes: Vec::new(),
        title: title(id),
        x,
        y,
        series: Vec::new(),
    }
}

fn measured(label: &str, marks: Vec<Mark>, i: usize) -> Series {
    Series {
        label: label.into(),
        marks,
        style: Style::Band,
        color: Paint::Series(i),
        of: None,
    }
}

fn ideal(label: &str, marks: Vec<Mark>) -> Series {
    Series {
        label: label.into(),
        marks,
        style: Style::Ideal,
        color: Paint::Ideal,
        of: None,
    }
}

/// The ideal line of the series pushed last: drawn grey and dashed, hidden with that series,
/// explained once in the legend.
fn ideal_of_last(c: &mut LineChart, marks: Vec<Mark>) {
    let of = c.series.len().checked_sub(1);
    c.series.push(Series {
        of,
        ..ideal("", marks)
    });
    if c.notes.is_empty() {
        c.notes.push(LegendEntry {
            series: None,
            label: "ideal: linear from each series' smallest count".into(),
            color: theme::IDEAL,
            swatch: Swatch::Line(Style::Ideal),
        });
    }
}

/// Speedup marks of a series against its first point, with the two-sample bootstrap interval;
/// `per` divides by the executor ratio (efficiency).
fn ratio_marks(records: &[RunRecord], ps: &[&PointSummary], per: bool) -> Vec<Mark> {
    let Some(base) = ps.first() else {
        return Vec::new();
    };
    let tb = ok_training_times(records, &base.point);
    ps.iter()
        .filter_map(|p| {
            let t = ok_training_times(records, &p.point);
            let (s, (lo, hi)) = median_ratio(&tb, &t)?;
            let k = if per { ex(p) / ex(base) } else { 1.0 };
            Some(Mark {
                x: ex(p),
                y: s / k,
                ci: Some((lo / k, hi / k)),
                n: Some(t.len()),
                note: None,
            })
        })
        .collect()
}

/// Training time, speedup, efficiency and Karp–Flatt against executors.
fn executor_charts(records: &[RunRecord], a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let counts = executor_counts(a);
    let mut time = chart(
        "time",
        Axis::executors(counts.clone()),
        Axis::log("training time (s, log scale)", Unit::Seconds),
    );
    let mut speedup = chart(
        "speedup",
        Axis::executors(counts.clone()),
        Axis::linear("speedup T(base) / T(E)", Unit::Number),
    );
    let mut eff = chart(
        "efficiency",
        Axis::executors(counts.clone()),
        Axis::linear("parallel efficiency", Unit::Number),
    );
    let mut kf = chart(
        "karp-flatt",
        Axis::executors(counts.clone()),
        Axis::linear("Karp–Flatt serial fraction e", Unit::Number),
    );
    for (i, key) in series_keys(a).iter().enumerate() {
        let ps = by_series(a, key);
        let Some(first) = ps.first() else { continue };
        let marks: Vec<Mark> = ps
            .iter()
            .filter_map(|p| Some(dist_mark(ex(p), p.train.as_ref()?)))
            .collect();
        let (e0, t0, elast) = (ex(first), marks[0].y, ex(ps[ps.len() - 1]));
        time.series.push(measured(key, marks, i));
        if elast > e0 {
            ideal_of_last(
                &mut time,
                vec![Mark::at(e0, t0), Mark::at(elast, t0 * e0 / elast)],
            );
        }
        speedup
            .series
            .push(measured(key, ratio_marks(records, &ps, false), i));
        eff.series
            .push(measured(key, ratio_marks(records, &ps, true), i));
        let kfm = ps
            .iter()
            .filter_map(|p| {
                Some(Mark {
                    n: p.train.as_ref().map(|d| d.n),
                    ..Mark::at(ex(p), p.scaling_train?.karp_flatt?)
                })
            })
            .collect();
        kf.series.push(Series {
            style: Style::Whiskers,
            ..measured(key, kfm, i)
        });
    }
    if let (Some(lo), Some(hi)) = (counts.first(), counts.last()) {
        speedup.series.push(ideal(
            "ideal (linear)",
            vec![Mark::at(*lo, 1.0), Mark::at(*hi, hi / lo)],
        ));
        eff.series
            .push(ideal("ideal", vec![Mark::at(*lo, 1.0), Mark::at(*hi, 1.0)]));
    }
    [
        ("time", &time),
        ("speedup", &speedup),
        ("efficiency", &eff),
        ("karp-flatt", &kf),
    ]
    .iter()
    .map(|(id, c)| line(id, c))
    .collect()
}

/// Observations (hollow), Amdahl (dashed) and USL (dotted) curves to 2× the largest count,
/// and the findings' predictions at 2× and 4× with their intervals.
fn fits_chart(a: &Analysis, f: &Findings) -> Result<Chart, ReportError> {
    let mut counts = executor_counts(a);
    let mut c = chart(
        "fits",
        Axis::executors(Vec::new()),
        Axis::log("training time (s, log scale)", Unit::Seconds),
    );
    for (i, key) in series_keys(a).iter().enumerate() {
        let ps = by_series(a, key);
        let (Some(first), Some(last)) = (ps.first(), ps.last()) else {
            continue;
        };
        let marks = ps
            .iter()
            .filter_map(|p| Some(dist_mark(ex(p), p.train.as_ref()?)))
            .collect();
        c.series.push(Series {
            style: Style::Hollow,
            ..measured(key, marks, i)
        });
        let Some(fit) = a.fits.iter().find(|f| &f.label == key) else {
            continue;
        };
        c.series.extend(model_curves(fit, ex(first), ex(last), i));
        if let Some(sf) = f.series.iter().find(|s| &s.label == key) {
            for law in [Law::Amdahl, Law::Usl] {
                let marks: Vec<Mark> = sf
                    .predictions
                    .iter()
                    .filter(|p| p.law == law)
                    .map(|p| Mark {
                        ci: p.ci,
                        note: Some(format!("predicted by {}, not measured", law_name(law))),
                        ..Mark::at(p.executors, p.seconds)
                    })
                    .collect();
                counts.extend(marks.iter().map(|m| m.x));
                let label = format!("predicted ({}), {key}", law_name(law));
                c.series.push(Series {
                    style: Style::Hollow,
                    color: Paint::Series(i),
                    label,
                    marks,
                    of: None,
                });
            }
        }
    }
    counts.sort_by(f64::total_cmp);
    counts.dedup();
    c.x = Axis::executors(counts);
    line("fits", &c)
}

fn law_name(law: Law) -> &'static str {
    match law {
        Law::Amdahl => "Amdahl",
        Law::Usl => "USL",
    }
}

fn model_curves(fit: &SeriesFit, e0: f64, elast: f64, i: usize) -> Vec<Series> {
    let span: Vec<f64> = (0..=40)
        .map(|k| e0 * (elast * 4.0 / e0).powf(f64::from(k) / 40.0))
        .collect();
    let mut out = Vec::new();
    if let Some(m) = &fit.amdahl_train {
        out.push(Series {
            label: format!("Amdahl s={:.3}, {}", m.serial_fraction, fit.label),
            marks: span
                .iter()
                .map(|p| Mark::at(*p, amdahl_time(m.t1, m.serial_fraction, *p)))
                .collect(),
            style: Style::Dashed,
            color: Paint::Series(i),
            of: None,
        });
    }
    if let Some(m) = &fit.usl_train {
        out.push(Series {
            label: format!("USL σ={:.3} κ={:.4}, {}", m.sigma, m.kappa, fit.label),
            marks: span
                .iter()
                .map(|p| Mark::at(*p, usl_time(m.t1, m.sigma, m.kappa, *p)))
                .collect(),
            style: Style::Dotted,
            color: Paint::Series(i),
            of: None,
        });
    }
    out
}

/// (executors, varying parameters) groups of fraction charts, and each group's points by
/// fraction.
fn fraction_groups(a: &Analysis) -> Vec<(String, Vec<&PointSummary>)> {
    let mut keys: Vec<(u32, String)> = a
        .points
        .iter()
        .map(|p| (p.point.executors, params_label(&p.point, &a.varying_params)))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(e, params)| {
            let mut ps: Vec<&PointSummary> = a
                .points
                .iter()
                .filter(|p| {
                    p.point.executors == e
                        && params_label(&p.point, &a.varying_params) == params
                        && p.ok > 0
                })
                .collect();
            ps.sort_by(|x, y| x.point.fraction.total_cmp(&y.point.fraction));
            let mut label = format!("{e} executor{}", if e == 1 { "" } else { "s" });
            if !params.is_empty() {
                label = format!("{label}, {params}");
            }
            (label, ps)
        })
        .filter(|(_, ps)| !ps.is_empty())
        .collect()
}

type Get = fn(&PointSummary) -> Option<Mark>;

/// One fraction chart: a series per group from `get` (and an optional second, dashed `get2`).
fn fraction_chart(a: &Analysis, id: &str, y: Axis, gets: &[(&str, Get, Style)]) -> LineChart {
    let mut c = chart(
        id,
        Axis::linear("fraction of the input files", Unit::Number),
        y,
    );
    for (i, (label, ps)) in fraction_groups(a).into_iter().enumerate() {
        for (name, get, style) in gets {
            let marks = ps.iter().filter_map(|p| get(p)).collect();
            let label = if name.is_empty() {
                label.clone()
            } else {
                format!("{name}, {label}")
            };
            c.series.push(Series {
                label,
                marks,
                style: *style,
                color: Paint::Series(i),
                of: None,
            });
        }
    }
    c
}

fn fraction_charts(a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let mut out = vec![
        line(
            "time-vs-fraction",
            &fraction_chart(
                a,
                "time-vs-fraction",
                Axis::linear("training time (s)", Unit::Seconds),
                &[(
                    "",
                    |p| Some(dist_mark(p.point.fraction, p.train.as_ref()?)),
                    Style::Band,
                )],
            ),
        )?,
        line(
            "time-per-row",
            &fraction_chart(
                a,
                "time-per-row",
                Axis::linear("training time per row (µs)", Unit::Number),
                &[(
                    "",
                    |p| {
                        let rows = p.train_rows.filter(|r| *r > 0.0)?;
                        let d = p.train.as_ref()?;
                        let k = 1e6 / rows;
                        Some(Mark {
                            ci: Some((d.ci.0 * k, d.ci.1 * k)),
                            n: Some(d.n),
                            ..Mark::at(p.point.fraction, d.median * k)
                        })
                    },
                    Style::Band,
                )],
            ),
        )?,
    ];
    if a.points
        .iter()
        .any(|p| p.val_accuracy.is_some() || p.test_accuracy.is_some() || p.auc.is_some())
    {
        let acc = fraction_chart(
            a,
            "accuracy",
            Axis::linear("accuracy (median of ok runs)", Unit::Number),
            &[
                (
                    "validation",
                    |p| Some(Mark::at(p.point.fraction, p.val_accuracy?)),
                    Style::Whiskers,
                ),
                (
                    "test",
                    |p| Some(Mark::at(p.point.fraction, p.test_accuracy?)),
                    Style::Dashed,
                ),
                (
                    "ROC AUC",
                    |p| Some(Mark::at(p.point.fraction, p.auc?)),
                    Style::Dotted,
                ),
            ],
        );
        out.push(line("accuracy", &acc)?);
    }
    out.extend(memory_charts(a)?);
    Ok(out)
}

/// Peak memory of the largest executor, and Σ peaks per training row, against fraction.
fn memory_charts(a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let mut out = Vec::new();
    if a.points.iter().any(|p| p.peak_memory.is_some()) {
        let mem = fraction_chart(
            a,
            "memory",
            Axis::linear(
                "peak resident memory of the largest executor (MiB)",
                Unit::Mib,
            ),
            &[(
                "",
                |p| {
                    let m = dist_mark(p.point.fraction, p.peak_memory.as_ref()?);
                    Some(scaled(m, 1.0 / MIB))
                },
                Style::Band,
            )],
        );
        let per_row = fraction_chart(
            a,
            "memory-per-row",
            Axis::linear(
                "Σ executors' peak memory per training row (bytes)",
                Unit::Number,
            ),
            &[(
                "",
                |p| Some(Mark::at(p.point.fraction, p.peak_per_row?)),
                Style::Whiskers,
            )],
        );
        out.push(line("memory", &mem)?);
        out.push(line("memory-per-row", &per_row)?);
    }
    Ok(out)
}

/// Stacked phases of every multi-executor point's median run, one row per executor.
fn phase_chart(a: &Analysis) -> Result<Option<Chart>, ReportError> {
    if a.stragglers.is_empty() {
        return Ok(None);
    }
    let names = [
        "load",
        "compute",
        "training communication",
        "waiting for the slowest",
        "evaluation",
    ];
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    for s in &a.stragglers {
        for p in &s.phases {
            let row = rows.len();
            rows.push(format!(
                "{} · rank {}{}",
                s.run_id,
                p.rank,
                if p.contended { " (contended)" } else { "" }
            ));
            let mut x = 0.0;
            for (k, v) in [p.load, p.compute, p.comm, p.wait, p.eval]
                .into_iter()
                .enumerate()
            {
                let tip = format!(
                    "{} rank {}: {} {}\nstraggler ratio ×{:.2}",
                    s.run_id,
                    p.rank,
                    names[k],
                    theme::seconds(v),
                    s.ratio
                );
                bars.push(Bar {
                    row,
                    start: x,
                    end: x + v,
                    color: theme::series_color(k),
                    series: k,
                    tip,
                    ci: None,
                });
                x += v;
            }
        }
    }
    let legend = names
        .iter()
        .enumerate()
        .map(|(k, n)| LegendEntry {
            series: Some(k),
            label: (*n).into(),
            color: theme::series_color(k),
            swatch: Swatch::Box,
        })
        .collect();
    let c = BarChart {
        title: title("phases"),
        x: Axis::linear("seconds", Unit::Seconds),
        rows,
        bars,
        legend,
        reference: None,
        wide: true,
    };
    Ok(Some(Chart {
        id: "phases".into(),
        title: c.title.clone(),
        svg: charts::bar_chart(&c)?,
        wide: true,
    }))
}

/// Requested against measured CPUs and memory per executor: enforced in blue on the grey
/// diagonal, flagged executors in red.
fn limit_charts(records: &[RunRecord]) -> Result<Vec<Chart>, ReportError> {
    let mut out = Vec::new();
    type Pick = fn(&RunRecord, &harness_core::record::ExecutorReport) -> (f64, f64);
    let panels: [(&str, &str, Unit, Pick); 2] = [
        ("limits-cores", "CPUs", Unit::Number, |_, x| {
            (f64::from(x.cores_requested), f64::from(x.cores_measured))
        }),
        (
            "limits-memory",
            "memory limit (MiB; 0 = none)",
            Unit::Mib,
            |r, x| {
                (
                    r.point.memory_bytes as f64 / MIB,
                    x.memory_limit_bytes.map_or(0.0, |m| m as f64 / MIB),
                )
            },
        ),
    ];
    for (id, what, unit, pick) in panels {
        let mut c = chart(
            id,
            Axis::linear(&format!("requested {what}"), unit),
            Axis::linear(&format!("measured {what}"), unit),
        );
        let (mut ok, mut bad, mut max) = (Vec::new(), Vec::new(), 0f64);
        for r in records {
            for x in &r.executor_reports {
                let (req, got) = pick(r, x);
                max = max.max(req).max(got);
                let m = Mark {
                    note: Some(format!("{} rank {}", r.run_id, x.rank)),
                    ..Mark::at(req, got)
                };
                if x.enforced && !r.oversubscribed {
                    ok.push(m)
                } else {
                    bad.push(m)
                }
            }
        }
        c.series.push(ideal(
            "requested = measured",
            vec![Mark::at(0.0, 0.0), Mark::at(max * 1.1, max * 1.1)],
        ));
        c.series.push(Series {
            label: "enforced".into(),
            marks: ok,
            style: Style::Points,
            color: Paint::Series(0),
            of: None,
        });
        c.series.push(Series {
            label: "not enforced or oversubscribed".into(),
            marks: bad,
            // Hollow, so an enforced executor at the same place still shows inside.
            style: Style::Hollow,
            color: Paint::Failure,
            of: None,
        });
        out.push(line(id, &c)?);
    }
    Ok(out)
}

/// Every chart of the page, in page order.
///
/// # Errors
/// [`ReportError::Chart`] if a chart cannot be drawn.
pub fn all(records: &[RunRecord], a: &Analysis, f: &Findings) -> Result<Vec<Chart>, ReportError> {
    let mut out = executor_charts(records, a)?;
    out.push(fits_chart(a, f)?);
    out.extend(fraction_charts(a)?);
    out.extend(phase_chart(a)?);
    out.extend(limit_charts(records)?);
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

/// Seconds per epoch against executors, and test RMSE / MAE (and a baseline's) against
/// fraction.
fn regression_charts(a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let mut epoch = chart(
        "epoch-time",
        Axis::executors(executor_counts(a)),
        Axis::log("seconds per epoch (log scale; median)", Unit::Seconds),
    );
    for (i, key) in series_keys(a).iter().enumerate() {
        let marks: Vec<Mark> = by_series(a, key)
            .iter()
            .filter_map(|p| Some(Mark::at(ex(p), *p.extra.get("epoch_sec")?)))
            .collect();
        let (Some(first), Some(last)) = (marks.first().cloned(), marks.last().cloned()) else {
            continue;
        };
        epoch.series.push(Series {
            style: Style::Whiskers,
            ..measured(key, marks, i)
        });
        if last.x > first.x {
            ideal_of_last(
                &mut epoch,
                vec![first.clone(), Mark::at(last.x, first.y * first.x / last.x)],
            );
        }
    }
    let error = fraction_chart(
        a,
        "error",
        Axis::linear("test error (the target's unit; median)", Unit::Number),
        &[
            (
                "RMSE",
                |p| Some(Mark::at(p.point.fraction, p.rmse?)),
                Style::Whiskers,
            ),
            (
                "MAE",
                |p| Some(Mark::at(p.point.fraction, p.mae?)),
                Style::Dashed,
            ),
            (
                "baseline RMSE",
                |p| Some(Mark::at(p.point.fraction, *p.extra.get("baseline_rmse")?)),
                Style::Dotted,
            ),
        ],
    );
    Ok(vec![line("epoch-time", &epoch)?, line("error", &error)?])
}

/// Throughput and utilisation against executors, and a task timeline per
/// [`Analysis::gantts`] entry.
fn farm_charts(a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let counts = executor_counts(a);
    let mut tput = chart(
        "throughput",
        Axis::executors(counts.clone()),
        Axis::linear("tasks per second (median, 95 % CI)", Unit::Number),
    );
    let mut util = chart(
        "utilisation",
        Axis::executors(counts.clone()),
        Axis::linear("Σ task seconds / (slots × wall seconds)", Unit::Percent),
    );
    for (i, key) in series_keys(a).iter().enumerate() {
        let ps: Vec<&PointSummary> = a
            .points
            .iter()
            .filter(|p| series_label(&p.point, &a.varying_params) == *key)
            .collect();
        let t: Vec<Mark> = ps
            .iter()
            .filter_map(|p| Some(dist_mark(ex(p), p.throughput.as_ref()?)))
            .collect();
        let u: Vec<Mark> = ps
            .iter()
            .filter_map(|p| Some(dist_mark(ex(p), p.utilisation.as_ref()?)))
            .collect();
        let ends = (t.first().cloned(), t.last().cloned());
        tput.series.push(measured(key, t, i));
        if let (Some(f), Some(l)) = ends {
            if l.x > f.x {
                ideal_of_last(
                    &mut tput,
                    vec![Mark::at(f.x, f.y), Mark::at(l.x, f.y * l.x / f.x)],
                );
            }
        }
        util.series.push(measured(key, u, i));
    }
    if let (Some(lo), Some(hi)) = (counts.first(), counts.last()) {
        util.series.push(ideal(
            "every slot busy",
            vec![Mark::at(*lo, 1.0), Mark::at(*hi, 1.0)],
        ));
    }
    let mut out = vec![line("throughput", &tput)?, line("utilisation", &util)?];
    for g in &a.gantts {
        out.push(gantt(g)?);
    }
    Ok(out)
}

fn gantt(g: &crate::analysis::Gantt) -> Result<Chart, ReportError> {
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
    let mut legend: Vec<LegendEntry> = (0..g.farm.slots.len())
        .map(|r| LegendEntry {
            series: Some(r),
            label: format!("executor {r}"),
            color: theme::series_color(r),
            swatch: Swatch::Box,
        })
        .collect();
    if failed > 0 {
        legend.push(LegendEntry {
            series: Some(usize::MAX),
            label: "failed task".into(),
            color: theme::FAILURE,
            swatch: Swatch::Box,
        });
    }
    let c = BarChart {
        title: title.clone(),
        x: Axis::linear("seconds since the first task was handed out", Unit::Seconds),
        rows,
        bars,
        legend,
        reference: None,
        wide: true,
    };
    Ok(Chart {
        id: format!("gantt-e{}", g.executors),
        title,
        svg: charts::bar_chart(&c)?,
        wide: true,
    })
}

/// Rows (`executor r · slot s`, in rank then slot order) and bars of a farm's tasks: a task
/// spans from its end minus its seconds on the slot (not before it was handed out) to the
/// moment its result reached rank 0; failed tasks in red.
pub fn gantt_rows(farm: &FarmStats) -> (Vec<String>, Vec<Bar>) {
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
            let start = (t.finished_sec - t.seconds).max(t.dispatched_sec);
            let (color, series) = if t.ok {
                (theme::series_color(t.rank as usize), t.rank as usize)
            } else {
                (theme::FAILURE, usize::MAX)
            };
            let tip = format!(
                "task {} on executor {} slot {}: {} ({})",
                t.id,
                t.rank,
                t.slot,
                theme::seconds(t.seconds),
                if t.ok { "ok" } else { "failed" }
            );
            Some(Bar {
                row,
                start,
                end: t.finished_sec,
                color,
                series,
                tip,
                ci: None,
            })
        })
        .collect();
    (rows, bars)
}

/// The change charts of a comparison with a baseline: per metric, a forest plot of the
/// relative change of the median per common point with its 95 % interval, coloured by verdict.
///
/// # Errors
/// [`ReportError::Chart`] if a chart cannot be drawn.
pub fn change_charts(changes: &[Change], a: &Analysis) -> Result<Vec<Chart>, ReportError> {
    let mut out = Vec::new();
    for metric in Metric::ALL {
        let of: Vec<&Change> = changes.iter().filter(|c| c.metric == metric).collect();
        if !of.is_empty() {
            out.push(change_chart(metric, &of, a)?);
        }
    }
    Ok(out)
}

/// Verdict colours of change charts: better blue, worse orange, noise grey.
const VERDICTS: [(Verdict, Rgb, &str); 3] = [
    (Verdict::Better, theme::SERIES[0], "better"),
    (Verdict::Worse, theme::SERIES[1], "worse"),
    (Verdict::WithinNoise, theme::IDEAL, "within noise"),
];

/// One metric's forest plot: a row per common point.
fn change_chart(metric: Metric, of: &[&Change], a: &Analysis) -> Result<Chart, ReportError> {
    let rows: Vec<String> = of
        .iter()
        .map(|c| {
            format!(
                "{} · {} executor{}",
                series_label(&c.point, &a.varying_params),
                c.point.executors,
                if c.point.executors == 1 { "" } else { "s" }
            )
        })
        .collect();
    let bars = of
        .iter()
        .enumerate()
        .map(|(row, c)| {
            let k = VERDICTS
                .iter()
                .position(|v| v.0 == c.verdict)
                .expect("every verdict");
            let tip = format!(
                "{}\n{}: {} → {}\nchange {} [{} … {}]: {}",
                rows[row],
                metric.title(),
                theme::number(c.baseline_median),
                theme::number(c.median),
                theme::change(c.change),
                theme::change(c.ci.0),
                theme::change(c.ci.1),
                metric.verdict_text(c.verdict)
            );
            Bar {
                row,
                start: 0.0,
                end: c.change,
                color: VERDICTS[k].1,
                series: k,
                tip,
                ci: Some(c.ci),
            }
        })
        .collect();
    let legend = VERDICTS
        .iter()
        .enumerate()
        .map(|(k, v)| LegendEntry {
            series: Some(k),
            label: v.2.into(),
            color: v.1,
            swatch: Swatch::Box,
        })
        .collect();
    let title = format!(
        "Change of {} against the baseline (median, 95 % CI)",
        metric.title()
    );
    let c = BarChart {
        title: title.clone(),
        x: Axis::linear(
            &format!("relative change of {}", metric.title()),
            Unit::Percent,
        ),
        rows,
        bars,
        legend,
        reference: Some(0.0),
        wide: false,
    };
    Ok(Chart {
        id: metric.id(),
        title,
        svg: charts::bar_chart(&c)?,
        wide: false,
    })
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
        assert_eq!(bars[2].color, theme::FAILURE);
        assert_eq!(
            (bars[0].color, bars[1].color),
            (theme::SERIES[0], theme::SERIES[1])
        );
    }
}
