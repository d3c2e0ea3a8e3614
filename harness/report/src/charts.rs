//! SVG charts (plotters, SVG backend; text is left to the browser's fonts).

use plotters::prelude::*;

use crate::summary::PointSummary;
use crate::ReportError;

const SIZE: (u32, u32) = (760, 460);

/// Axis label for a time in seconds: as many decimals as its size needs (`30`, `2.5`, `0.125`).
fn seconds_label(v: &f64) -> String {
    match v.abs() {
        a if a >= 10.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

/// Axis label for an executor count: integers only (no label on fractional ticks).
fn executors_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

fn chart_err(name: &str) -> impl Fn(String) -> ReportError + '_ {
    move |message| ReportError::Chart {
        name: name.to_string(),
        message,
    }
}

/// Series of points sharing (cores, memory, fraction, params), labelled by fraction.
fn series(points: &[PointSummary]) -> Vec<(String, Vec<&PointSummary>)> {
    let mut out: Vec<(String, Vec<&PointSummary>)> = Vec::new();
    for p in points.iter().filter(|p| p.train.is_some()) {
        let label = format!(
            "fraction {} ({}c, {})",
            p.point.fraction,
            p.point.cores,
            harness_core::format_bytes(p.point.memory_bytes)
        );
        match out.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(p),
            None => out.push((label, vec![p])),
        }
    }
    for (_, v) in &mut out {
        v.sort_by_key(|p| p.point.executors);
    }
    out
}

fn x_range(points: &[PointSummary]) -> (f64, f64) {
    let xs = points.iter().map(|p| f64::from(p.point.executors));
    let lo = xs.clone().fold(f64::INFINITY, f64::min);
    let hi = xs.fold(0.0, f64::max);
    if lo.is_finite() {
        (lo / 1.25, hi * 1.25)
    } else {
        (0.8, 2.5)
    }
}

/// Median training time vs executors, log–log, one line per fraction with min–max whiskers,
/// and each series' ideal line T(base) × base / E dashed.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn time_vs_executors(points: &[PointSummary]) -> Result<String, ReportError> {
    let err = chart_err("training_time");
    let all = series(points);
    let (xlo, xhi) = x_range(points);
    let ts: Vec<f64> = points
        .iter()
        .filter_map(|p| p.train)
        .flat_map(|(m, lo, hi)| [m, lo, hi])
        .collect();
    let ylo = ts.iter().copied().fold(f64::INFINITY, f64::min);
    let yhi = ts.iter().copied().fold(0.0, f64::max);
    let (ylo, yhi) = if ylo.is_finite() && yhi > 0.0 {
        (ylo / 2.5, yhi * 1.5)
    } else {
        (0.1, 10.0)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Training time vs executors (median, min–max)",
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((xlo..xhi).log_scale(), (ylo..yhi).log_scale())
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("executors (log scale)")
            .y_desc("training time, s (log scale)")
            .x_label_formatter(&executors_label)
            .y_label_formatter(&seconds_label)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (i, (label, ps)) in all.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let line: Vec<(f64, f64)> = ps
                .iter()
                .map(|p| (f64::from(p.point.executors), p.train.expect("filtered").0))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(|e| err(e.to_string()))?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(line.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(ps.iter().map(|p| {
                    let (_, lo, hi) = p.train.expect("filtered");
                    let x = f64::from(p.point.executors);
                    PathElement::new(vec![(x, lo), (x, hi)], color.stroke_width(1))
                }))
                .map_err(|e| err(e.to_string()))?;
            if let Some(base) = ps.first() {
                let (e0, t0) = (
                    f64::from(base.point.executors),
                    base.train.expect("filtered").0,
                );
                let ideal = vec![(e0, t0), (xhi / 1.25, t0 * e0 / (xhi / 1.25))];
                chart
                    .draw_series(DashedLineSeries::new(
                        ideal,
                        6,
                        4,
                        color.mix(0.5).stroke_width(1),
                    ))
                    .map_err(|e| err(e.to_string()))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

/// Speedup of the median training time vs executors, one line per fraction, with the ideal
/// (linear) speedup dashed.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn speedup_vs_executors(points: &[PointSummary]) -> Result<String, ReportError> {
    let err = chart_err("speedup");
    let all = series(points);
    let (_, xhi) = x_range(points);
    let smax = points
        .iter()
        .filter_map(|p| p.speedup.map(|s| s.0))
        .fold(xhi / 1.25, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Speedup of training time vs executors", ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..xhi.max(2.0).ceil(), 0f64..smax * 1.15)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("executors")
            .y_desc("speedup T(base) / T(E)")
            .x_labels(xhi.max(2.0).ceil() as usize + 1)
            .x_label_formatter(&executors_label)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        let base = points.iter().map(|p| p.point.executors).min().unwrap_or(1) as f64;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(base, 1.0), (xhi / 1.25, xhi / 1.25 / base)],
                6,
                4,
                BLACK.mix(0.6).stroke_width(1),
            ))
            .map_err(|e| err(e.to_string()))?
            .label("ideal (linear)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
        for (i, (label, ps)) in all.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let line: Vec<(f64, f64)> = ps
                .iter()
                .filter_map(|p| p.speedup.map(|s| (f64::from(p.point.executors), s.0)))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(|e| err(e.to_string()))?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(line.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map_err(|e| err(e.to_string()))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_people_expect() {
        assert_eq!(seconds_label(&30.0), "30");
        assert_eq!(seconds_label(&2.5), "2.5");
        assert_eq!(seconds_label(&0.125), "0.125");
        assert_eq!(executors_label(&2.0), "2");
        assert_eq!(executors_label(&2.5), "");
    }
}
