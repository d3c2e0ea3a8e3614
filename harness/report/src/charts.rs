//! SVG charts (plotters, SVG backend; text is left to the browser's fonts).
//!
//! [`line_chart`] draws most figures from a [`LineChart`] description; [`phase_chart`],
//! [`limits_chart`] and [`gantt_chart`] are the special layouts.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use crate::ReportError;

const SIZE: (u32, u32) = (760, 460);

/// Axis label for a time in seconds: as many decimals as its size needs (`30`, `2.5`, `0.125`).
pub fn seconds_label(v: &f64) -> String {
    match v.abs() {
        a if a >= 10.0 || a == 0.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        a if a >= 0.01 => format!("{v:.3}"),
        _ => format!("{v:.1e}"),
    }
}

/// Axis label for an executor count: integers only (no label on fractional ticks).
pub fn executors_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Line with markers (measurements).
    Measured,
    /// Dashed line (ideal or Amdahl model).
    Dashed,
    /// Dotted line (USL model).
    Dotted,
    /// Markers only.
    Markers,
}

/// One series of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Vertical whiskers `(x, low, high)`, e.g. a confidence interval.
    pub whiskers: Vec<(f64, f64, f64)>,
    pub style: Style,
    /// Palette index; `None` draws in grey.
    pub color: Option<usize>,
}

/// A line chart: axes, scales and series.
#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    /// log₂ executor axis.
    pub log_x: bool,
    pub log_y: bool,
    /// Executor counts on x: label integers only.
    pub x_integer: bool,
    pub series: Vec<Series>,
}

fn err(name: &str) -> impl Fn(String) -> ReportError + '_ {
    move |message| ReportError::Chart {
        name: name.to_string(),
        message,
    }
}

fn color_of(s: &Series) -> RGBAColor {
    match s.color {
        Some(i) => Palette99::pick(i).to_rgba(),
        None => BLACK.mix(0.55),
    }
}

fn bounds(c: &LineChart) -> ((f64, f64), (f64, f64)) {
    let xs = c.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = c.series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.1)
            .chain(s.whiskers.iter().flat_map(|w| [w.1, w.2]))
    });
    let fin = |v: &f64| v.is_finite() && (!c.log_y || *v > 0.0);
    let (xlo, xhi) = xs
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let (ylo, yhi) = ys
        .filter(fin)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let (xlo, xhi) = if xlo.is_finite() {
        (xlo, xhi)
    } else {
        (1.0, 2.0)
    };
    let (ylo, yhi) = if ylo.is_finite() {
        (ylo, yhi)
    } else {
        (0.1, 1.0)
    };
    let x = if c.log_x {
        (xlo / 1.3, xhi * 1.3)
    } else {
        let pad = ((xhi - xlo) * 0.08).max(0.05 * xhi.abs().max(1e-9));
        (
            (xlo - pad).max(if xlo >= 0.0 { 0.0 } else { f64::MIN }),
            xhi + pad,
        )
    };
    let y = if c.log_y {
        (ylo / 1.6, yhi * 1.6)
    } else {
        let pad = ((yhi - ylo) * 0.12).max(yhi.abs() * 0.05).max(1e-9);
        (
            if ylo >= 0.0 {
                (ylo - pad).max(0.0)
            } else {
                ylo - pad
            },
            yhi + pad,
        )
    };
    (x, y)
}

fn draw<'a, 'b: 'a, X, Y>(
    c: &LineChart,
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
) -> Result<(), ReportError>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let e = err(&c.title);
    let x_fmt = |v: &f64| {
        if c.x_integer {
            executors_label(v)
        } else {
            format!("{}", (v * 1000.0).round() / 1000.0)
        }
    };
    chart
        .configure_mesh()
        .x_desc(c.x_desc.as_str())
        .y_desc(c.y_desc.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&seconds_label)
        .light_line_style(BLACK.mix(0.05))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    for s in &c.series {
        let color = color_of(s);
        let legend = move |(x, y): (i32, i32)| {
            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
        };
        let anno = match s.style {
            Style::Measured => {
                let a = chart
                    .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))
                    .map_err(|x| e(x.to_string()))?;
                a.label(s.label.clone()).legend(legend);
                chart
                    .draw_series(s.points.iter().map(|p| Circle::new(*p, 4, color.filled())))
                    .map_err(|x| e(x.to_string()))?;
                continue;
            }
            Style::Dashed => chart
                .draw_series(DashedLineSeries::new(
                    s.points.clone(),
                    7,
                    5,
                    color.stroke_width(1),
                ))
                .map_err(|x| e(x.to_string()))?,
            Style::Dotted => chart
                .draw_series(DashedLineSeries::new(
                    s.points.clone(),
                    2,
                    4,
                    color.stroke_width(2),
                ))
                .map_err(|x| e(x.to_string()))?,
            Style::Markers => chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|p| Cross::new(*p, 4, color.stroke_width(2))),
                )
                .map_err(|x| e(x.to_string()))?,
        };
        if !s.label.is_empty() {
            anno.label(s.label.clone()).legend(legend);
        }
    }
    for s in &c.series {
        let color = color_of(s);
        chart
            .draw_series(s.whiskers.iter().map(|(x, lo, hi)| {
                PathElement::new(vec![(*x, *lo), (*x, *hi)], color.stroke_width(1))
            }))
            .map_err(|x| e(x.to_string()))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(|x| e(x.to_string()))?;
    Ok(())
}

/// Renders a [`LineChart`] to SVG text.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn line_chart(c: &LineChart) -> Result<String, ReportError> {
    let e = err(&c.title);
    let ((xlo, xhi), (ylo, yhi)) = bounds(c);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let mut b = ChartBuilder::on(&root);
        b.caption(c.title.as_str(), ("sans-serif", 17))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(66);
        match (c.log_x, c.log_y) {
            (true, true) => draw(
                c,
                &mut b
                    .build_cartesian_2d((xlo..xhi).log_scale().base(2.0), (ylo..yhi).log_scale())
                    .map_err(|x| e(x.to_string()))?,
            )?,
            (true, false) => draw(
                c,
                &mut b
                    .build_cartesian_2d((xlo..xhi).log_scale().base(2.0), ylo..yhi)
                    .map_err(|x| e(x.to_string()))?,
            )?,
            (false, true) => draw(
                c,
                &mut b
                    .build_cartesian_2d(xlo..xhi, (ylo..yhi).log_scale())
                    .map_err(|x| e(x.to_string()))?,
            )?,
            (false, false) => draw(
                c,
                &mut b
                    .build_cartesian_2d(xlo..xhi, ylo..yhi)
                    .map_err(|x| e(x.to_string()))?,
            )?,
        }
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}

/// One bar of the phase chart: a label and (load, compute, training comm, waiting, eval)
/// seconds.
pub type PhaseBar = (String, [f64; 5]);

/// Horizontal stacked bars of per-executor phases (load / compute / training communication /
/// waiting for the slowest executor / eval).
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn phase_chart(title: &str, bars: &[PhaseBar]) -> Result<String, ReportError> {
    let e = err(title);
    let names = ["load", "compute", "train comm", "waiting", "eval"];
    let colors = [
        RGBColor(0x4e, 0x79, 0xa7),
        RGBColor(0x59, 0xa1, 0x4f),
        RGBColor(0xe1, 0x57, 0x59),
        RGBColor(0xba, 0xb0, 0xac),
        RGBColor(0xf2, 0x8e, 0x2b),
    ];
    let xmax = bars
        .iter()
        .map(|b| b.1.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.1;
    let n = bars.len().max(1);
    let height = (90 + 26 * n as u32).max(200);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                let i = (y - 0.5).round();
                if (y - 0.5 - i).abs() < 0.01 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[labels.len() - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("seconds")
            .x_label_formatter(&seconds_label)
            .draw()
            .map_err(|x| e(x.to_string()))?;
        for (k, (name, color)) in names.iter().zip(colors).enumerate() {
            let rects: Vec<Rectangle<(f64, f64)>> = bars
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let y = (n - 1 - i) as f64;
                    let x0: f64 = b.1[..k].iter().sum();
                    Rectangle::new([(x0, y + 0.15), (x0 + b.1[k], y + 0.85)], color.filled())
                })
                .collect();
            chart
                .draw_series(rects)
                .map_err(|x| e(x.to_string()))?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|x| e(x.to_string()))?;
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}

/// One executor's limits: requested and measured cores and memory (GiB; measured `None` when
/// unlimited) and whether it is flagged (not enforced or oversubscribed).
#[derive(Debug, Clone, Copy)]
pub struct LimitPoint {
    pub cores_requested: f64,
    pub cores_measured: f64,
    pub memory_requested_gib: f64,
    pub memory_measured_gib: Option<f64>,
    pub flagged: bool,
}

/// Requested vs measured cores (left) and memory (right) per executor, on the diagonal when
/// enforced; flagged executors in red, unlimited memory drawn at 0.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn limits_chart(points: &[LimitPoint]) -> Result<String, ReportError> {
    let e = err("limits");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let root = root
            .titled(
                "Requested vs measured limits per executor (red: not enforced or oversubscribed)",
                ("sans-serif", 15),
            )
            .map_err(|x| e(x.to_string()))?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        type Get = fn(&LimitPoint) -> (f64, f64);
        let panels: [(_, &str, Get); 2] = [
            (left, "CPUs", |p| (p.cores_requested, p.cores_measured)),
            (right, "memory (GiB; 0 = no limit)", |p| {
                (p.memory_requested_gib, p.memory_measured_gib.unwrap_or(0.0))
            }),
        ];
        for (area, what, get) in panels {
            let max = points
                .iter()
                .map(|p| {
                    let (a, b) = get(p);
                    a.max(b)
                })
                .fold(1.0, f64::max)
                * 1.2;
            let mut chart = ChartBuilder::on(&area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..max, 0f64..max)
                .map_err(|x| e(x.to_string()))?;
            chart
                .configure_mesh()
                .x_desc(format!("requested {what}"))
                .y_desc(format!("measured {what}"))
                .x_label_formatter(&seconds_label)
                .y_label_formatter(&seconds_label)
                .draw()
                .map_err(|x| e(x.to_string()))?;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, 0.0), (max, max)],
                    6,
                    4,
                    BLACK.mix(0.4).stroke_width(1),
                ))
                .map_err(|x| e(x.to_string()))?;
            chart
                .draw_series(points.iter().map(|p| {
                    let c = if p.flagged {
                        RGBColor(0xb0, 0x00, 0x20)
                    } else {
                        RGBColor(0x1b, 0x7f, 0x3b)
                    };
                    Circle::new(get(p), 5, c.filled())
                }))
                .map_err(|x| e(x.to_string()))?;
        }
        root.present().map_err(|x| e(x.to_string()))?;
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

/// Executor colours of task timelines: no red, which marks failed tasks.
const GANTT_COLORS: [RGBColor; 8] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

/// One task of a Gantt chart: its row (0 = top), start and end seconds, colour index (its
/// executor) and whether it succeeded (failed tasks are drawn in red).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GanttBar {
    pub row: usize,
    pub start: f64,
    pub end: f64,
    pub color: usize,
    pub ok: bool,
}

/// A task timeline: one row per (executor, slot) labelled by `rows`, one bar per task, a thin
/// gap between consecutive tasks of a slot so each stays visible.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn gantt_chart(title: &str, rows: &[String], bars: &[GanttBar]) -> Result<String, ReportError> {
    let e = err(title);
    let n = rows.len().max(1);
    let xmax = bars.iter().map(|b| b.end).fold(0.0, f64::max).max(1e-3) * 1.02;
    let height = (110 + 30 * n as u32).max(220);
    let failed = RGBColor(0xd6, 0x27, 0x28);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(120)
            .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                let i = (y - 0.5).round();
                if (y - 0.5 - i).abs() < 0.01 && i >= 0.0 && (i as usize) < rows.len() {
                    rows[rows.len() - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("seconds since the first task was handed out")
            .x_label_formatter(&seconds_label)
            .draw()
            .map_err(|x| e(x.to_string()))?;
        // A gap of 0.15 % of the axis between tasks of one slot.
        let gap = xmax * 0.0015;
        let rects = bars.iter().map(|b| {
            let y = (n - 1 - b.row.min(n - 1)) as f64;
            let color = if b.ok {
                GANTT_COLORS[b.color % GANTT_COLORS.len()].to_rgba()
            } else {
                failed.to_rgba()
            };
            let x1 = (b.end - gap).max(b.start + gap * 0.25);
            Rectangle::new([(b.start, y + 0.12), (x1, y + 0.88)], color.filled())
        });
        chart.draw_series(rects).map_err(|x| e(x.to_string()))?;
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}
