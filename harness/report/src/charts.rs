//! SVG charts: plotters draws the frame (coordinate system, axes, grid, descriptions); the
//! data layer on top is our own SVG, so that every series is one `<g class="series">` the page
//! can hide, every plotted point has a hover target carrying its value, interval and count,
//! and the legend sits in its own column right of the plot area, never over the data.
//!
//! Every colour, size and number format comes from [`crate::theme`]. Log axes get our own
//! ticks (1-2-5 × 10ᵏ; executor counts as measured), so labels never overlap.
//!
//! - [`line_chart`]: lines, markers, confidence bands or whiskers, model curves, ideal lines.
//! - [`bar_chart`]: horizontal bars — stacked phases, task timelines, per-point changes with
//!   their intervals (a forest plot).
//!
//! The DOM contract the page's script relies on: `g.series[data-series=K]` holds the drawing
//! of series K; `g.legend-entry[data-series=K]` its legend entry; `circle.hit` a point's hover
//! target with `data-x`, `data-y`, `data-lo`, `data-hi`, `data-n` and a `<title>`.

use std::fmt::Write as _;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use crate::html::esc;
use crate::theme::{self, Rgb};
use crate::ReportError;

/// One plotted point: its position, the 95 % interval of `y` when known, how many runs it
/// summarises, and any words the hover text should add (a run id, "predicted").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mark {
    pub x: f64,
    pub y: f64,
    pub ci: Option<(f64, f64)>,
    pub n: Option<usize>,
    pub note: Option<String>,
}

impl Mark {
    /// A point without interval or count.
    pub fn at(x: f64, y: f64) -> Mark {
        Mark {
            x,
            y,
            ..Mark::default()
        }
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Line and filled markers; the intervals as a translucent band.
    Band,
    /// Line and filled markers; the intervals as whiskers.
    Whiskers,
    /// Markers only, hollow (observations under a model curve, predictions).
    Hollow,
    /// Markers only, filled (a scatter).
    Points,
    /// A model curve, dashed (Amdahl).
    Dashed,
    /// A model curve, dotted (USL).
    Dotted,
    /// An ideal or reference line: grey, dashed, never in a series colour.
    Ideal,
}

impl Style {
    fn dash(self) -> Option<&'static str> {
        match self {
            Style::Dashed | Style::Ideal => Some("7 5"),
            Style::Dotted => Some("2 4"),
            _ => None,
        }
    }

    fn has_marks(self) -> bool {
        matches!(
            self,
            Style::Band | Style::Whiskers | Style::Hollow | Style::Points
        )
    }

    fn has_line(self) -> bool {
        !matches!(self, Style::Hollow | Style::Points)
    }
}

/// The colour of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// Palette index ([`theme::series_color`]).
    Series(usize),
    /// [`theme::IDEAL`] grey: ideal and reference lines.
    Ideal,
    /// [`theme::FAILURE`] red: failed or not enforced, nothing else.
    Failure,
}

impl Paint {
    /// The colour.
    pub fn rgb(self) -> Rgb {
        match self {
            Paint::Series(i) => theme::series_color(i),
            Paint::Ideal => theme::IDEAL,
            Paint::Failure => theme::FAILURE,
        }
    }
}

/// One series of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub marks: Vec<Mark>,
    pub style: Style,
    pub color: Paint,
    /// The index of the series this one belongs to (an ideal line of a measured series): it
    /// is hidden and shown with that series and has no legend entry of its own.
    pub of: Option<usize>,
}

impl Series {
    fn rgb(&self) -> Rgb {
        self.color.rgb()
    }
}

/// Number format of an axis and its hover values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Plain number ([`theme::number`]).
    Number,
    /// Seconds.
    Seconds,
    /// Bytes in binary units.
    Bytes,
    /// A share shown as a percentage.
    Percent,
    /// Mebibytes (ticks plain, hover values with the unit).
    Mib,
}

impl Unit {
    /// `v` as the unit writes it.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Number => theme::number(v),
            Unit::Seconds => theme::seconds(v),
            Unit::Bytes => theme::bytes(v),
            Unit::Percent => theme::percent(v),
            Unit::Mib => format!("{} MiB", theme::number(v)),
        }
    }

    fn tick(self, v: f64) -> String {
        match self {
            Unit::Seconds | Unit::Number | Unit::Mib => theme::number(v),
            other => other.format(v),
        }
    }
}

/// One axis: its description (with the unit), scale and format. Log axes and `at` ticks are
/// labelled by us; linear ones by plotters.
#[derive(Debug, Clone)]
pub struct Axis {
    pub desc: String,
    pub log: bool,
    pub unit: Unit,
    /// Ticks exactly here (executor counts), instead of the automatic ones.
    pub at: Option<Vec<f64>>,
}

impl Axis {
    /// A linear axis.
    pub fn linear(desc: &str, unit: Unit) -> Axis {
        Axis {
            desc: desc.into(),
            log: false,
            unit,
            at: None,
        }
    }

    /// A log axis with 1-2-5 ticks.
    pub fn log(desc: &str, unit: Unit) -> Axis {
        Axis {
            log: true,
            ..Axis::linear(desc, unit)
        }
    }

    /// A log₂ executor axis with a tick at each of `counts`.
    pub fn executors(counts: Vec<f64>) -> Axis {
        Axis {
            desc: "executors (log scale)".into(),
            log: true,
            unit: Unit::Number,
            at: Some(counts),
        }
    }
}

/// A line chart: axes and series. Empty series are not drawn and get no legend entry.
#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    /// Legend entries that only explain (the ideal lines of several series), after the
    /// series' own.
    pub notes: Vec<LegendEntry>,
}

fn err(name: &str) -> impl Fn(String) -> ReportError + '_ {
    move |message| ReportError::Chart {
        name: name.to_string(),
        message,
    }
}

/// The frame plotters drew, and where our data coordinates fall on it (backend pixels).
struct Frame {
    svg: String,
    pixels: Vec<(i32, i32)>,
    /// Plot area: x0, x1, y0, y1 in pixels.
    area: (i32, i32, i32, i32),
}

/// What a frame needs: size, title, ranges, axes, the width of the y label column.
struct FrameSpec<'a> {
    title: &'a str,
    width: u32,
    height: u32,
    x: (&'a Axis, (f64, f64)),
    y: (&'a Axis, (f64, f64)),
    y_labels: u32,
    /// Category labels of a bar chart's rows, top first (then the y axis is 0..rows).
    rows: Option<&'a [String]>,
}

fn frame(spec: &FrameSpec, points: &[(f64, f64)]) -> Result<Frame, ReportError> {
    let e = err(spec.title);
    let ((xlo, xhi), (ylo, yhi)) = (spec.x.1, spec.y.1);
    let mut svg = String::new();
    let (pixels, area) = {
        let root = SVGBackend::with_string(&mut svg, (spec.width, spec.height)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let ink = rgb(theme::INK);
        let root = root
            .titled(
                spec.title,
                (theme::FONT, px(theme::TITLE_SIZE)).into_font().color(&ink),
            )
            .map_err(|x| e(x.to_string()))?;
        let (left, _legend) = root.split_horizontally(spec.width - theme::LEGEND_WIDTH);
        let mut b = ChartBuilder::on(&left);
        b.margin(8)
            .margin_top(12)
            .x_label_area_size(46)
            .y_label_area_size(spec.y_labels);
        let out = match (spec.x.0.log, spec.y.0.log) {
            (true, true) => mesh(
                spec,
                b.build_cartesian_2d((xlo..xhi).log_scale(), (ylo..yhi).log_scale()),
                points,
            ),
            (true, false) => mesh(
                spec,
                b.build_cartesian_2d((xlo..xhi).log_scale(), ylo..yhi),
                points,
            ),
            (false, true) => mesh(
                spec,
                b.build_cartesian_2d(xlo..xhi, (ylo..yhi).log_scale()),
                points,
            ),
            (false, false) => mesh(spec, b.build_cartesian_2d(xlo..xhi, ylo..yhi), points),
        }?;
        root.present().map_err(|x| e(x.to_string()))?;
        out
    };
    Ok(Frame { svg, pixels, area })
}

type Built<'a, 'b, X, Y> = Result<
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
    plotters::drawing::DrawingAreaErrorKind<std::io::Error>,
>;

#[allow(clippy::type_complexity)]
fn mesh<'a, 'b: 'a, X, Y>(
    spec: &FrameSpec,
    built: Built<'a, 'b, X, Y>,
    points: &[(f64, f64)],
) -> Result<(Vec<(i32, i32)>, (i32, i32, i32, i32)), ReportError>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let e = err(spec.title);
    let mut chart = built.map_err(|x| e(x.to_string()))?;
    let ink = rgb(theme::INK);
    let (xu, yu) = (spec.x.0.unit, spec.y.0.unit);
    // Axes we label ourselves get no plotters label (it would still print one at the origin).
    let (x_ours, y_ours) = (
        spec.x.0.log || spec.x.0.at.is_some(),
        spec.y.0.log || spec.rows.is_some(),
    );
    let x_fmt = move |v: &f64| if x_ours { String::new() } else { xu.tick(*v) };
    let y_fmt = move |v: &f64| if y_ours { String::new() } else { yu.tick(*v) };
    let mut m = chart.configure_mesh();
    m.x_desc(spec.x.0.desc.as_str())
        .y_desc(spec.y.0.desc.as_str())
        .axis_desc_style((theme::FONT, px(theme::LABEL_SIZE)).into_font().color(&ink))
        .label_style((theme::FONT, px(theme::TICK_SIZE)).into_font().color(&ink))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.mix(0.45))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    if x_ours {
        m.x_labels(0);
    }
    if y_ours {
        m.y_labels(0);
    }
    m.draw().map_err(|x| e(x.to_string()))?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let pixels = points.iter().map(|p| chart.backend_coord(p)).collect();
    Ok((pixels, (xr.start, xr.end, yr.start, yr.end)))
}

/// A font size for plotters, whose SVG backend writes `size / 1.24` px: `px(16)` is 16 px.
fn px(size: u32) -> f64 {
    f64::from(size) * 1.24
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Appends `layer` (our SVG) to plotters' document, before its closing tag.
fn finish(mut svg: String, layer: &str) -> String {
    let at = svg.rfind("</svg>").unwrap_or(svg.len());
    svg.insert_str(at, layer);
    svg
}

/// The ticks of an axis we label: `at` as given, or 1-2-5 × 10ᵏ inside `lo..hi`.
fn ticks(axis: &Axis, (lo, hi): (f64, f64)) -> Vec<f64> {
    if let Some(at) = &axis.at {
        return at
            .iter()
            .copied()
            .filter(|v| *v >= lo && *v <= hi)
            .collect();
    }
    let mut out = Vec::new();
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for k in k0..=k1 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(k);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
    }
    out
}

/// Grid lines and labels of the axes we label ourselves (log axes, `at` ticks).
fn tick_layer(spec: &FrameSpec, f: &Frame, xs: &[f64], ys: &[f64], from: usize) -> String {
    let (x0, x1, y0, y1) = f.area;
    let mut s = String::from("<g class=\"ticks\">");
    let style = format!(
        "font-family=\"{}\" font-size=\"{}\" fill=\"{}\"",
        theme::FONT,
        theme::TICK_SIZE,
        theme::INK.hex()
    );
    for (i, v) in xs.iter().enumerate() {
        let px = f.pixels[from + i].0;
        let _ = write!(
            s,
            "<line x1=\"{px}\" y1=\"{y0}\" x2=\"{px}\" y2=\"{y1}\" stroke=\"#000\" stroke-opacity=\"0.08\"/>\
             <text x=\"{px}\" y=\"{}\" text-anchor=\"middle\" {style}>{}</text>",
            y1 + 16,
            esc(&spec.x.0.unit.tick(*v))
        );
    }
    for (i, v) in ys.iter().enumerate() {
        let py = f.pixels[from + xs.len() + i].1;
        let _ = write!(
            s,
            "<line x1=\"{x0}\" y1=\"{py}\" x2=\"{x1}\" y2=\"{py}\" stroke=\"#000\" stroke-opacity=\"0.08\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" {style}>{}</text>",
            x0 - 6,
            py + 4,
            esc(&spec.y.0.unit.tick(*v))
        );
    }
    s.push_str("</g>");
    s
}

fn range(vals: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = vals
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        return (lo / 1.6, hi * 1.6);
    }
    let pad = ((hi - lo) * 0.1)
        .max(hi.abs().max(lo.abs()) * 0.05)
        .max(1e-9);
    let low = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (low, hi + pad)
}

/// The x and y ranges of a chart: its data, intervals included, padded.
fn bounds(c: &LineChart) -> ((f64, f64), (f64, f64)) {
    let marks = || c.series.iter().flat_map(|s| s.marks.iter());
    let mut x = range(
        marks().map(|m| m.x).chain(c.x.at.iter().flatten().copied()),
        c.x.log,
    );
    if c.x.log {
        x = (x.0 * 1.6 / 1.25, x.1 / 1.6 * 1.25);
    }
    let ys = marks().flat_map(|m| {
        let (lo, hi) = m.ci.unwrap_or((m.y, m.y));
        [m.y, lo, hi]
    });
    (x, range(ys, c.y.log))
}

/// Hover text of a mark: series, x, y, interval, count, note.
fn tip(label: &str, c: &LineChart, m: &Mark) -> String {
    let mut t = format!(
        "{label}\n{}: {}\n{}: {}",
        c.x.desc,
        c.x.unit.format(m.x),
        c.y.desc,
        c.y.unit.format(m.y)
    );
    if let Some((lo, hi)) = m.ci {
        let _ = write!(
            t,
            "\n95 % CI {} … {}",
            c.y.unit.format(lo),
            c.y.unit.format(hi)
        );
    }
    if let Some(n) = m.n {
        let _ = write!(t, "\nn = {n}");
    }
    if let Some(note) = &m.note {
        let _ = write!(t, "\n{note}");
    }
    t
}

fn hit(px: (i32, i32), m: &Mark, text: &str) -> String {
    let (lo, hi) = m.ci.unwrap_or((m.y, m.y));
    format!(
        "<circle class=\"hit\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"transparent\" data-x=\"{}\" data-y=\"{}\" data-lo=\"{lo}\" data-hi=\"{hi}\" data-n=\"{}\"><title>{}</title></circle>",
        px.0,
        px.1,
        theme::HIT_RADIUS,
        m.x,
        m.y,
        m.n.map_or(String::new(), |n| n.to_string()),
        esc(text)
    )
}

/// The pixels of series `s`'s marks and interval ends, in [`series_points`] order.
struct SeriesPixels<'a> {
    marks: &'a [(i32, i32)],
    lows: &'a [(i32, i32)],
    highs: &'a [(i32, i32)],
}

fn series_points(s: &Series) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = s.marks.iter().map(|m| (m.x, m.y)).collect();
    v.extend(s.marks.iter().map(|m| (m.x, m.ci.map_or(m.y, |c| c.0))));
    v.extend(s.marks.iter().map(|m| (m.x, m.ci.map_or(m.y, |c| c.1))));
    v
}

fn path(points: impl Iterator<Item = (i32, i32)>) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.enumerate() {
        let _ = write!(d, "{}{x},{y}", if i == 0 { "M" } else { " L" });
    }
    d
}

/// One series as `<g class="series">`: band or whiskers, line, markers, hover targets.
fn series_layer(c: &LineChart, k: usize, s: &Series, px: &SeriesPixels) -> String {
    let color = s.rgb().hex();
    let mut g = format!(
        "<g class=\"series\" data-series=\"{k}\" data-label=\"{}\">",
        esc(&s.label)
    );
    let with_ci = s.marks.iter().any(|m| m.ci.is_some());
    if s.style == Style::Band && with_ci && s.marks.len() > 1 {
        let ring = px.highs.iter().chain(px.lows.iter().rev()).copied();
        let _ = write!(
            g,
            "<path class=\"band\" d=\"{} Z\" fill=\"{color}\" fill-opacity=\"{}\" stroke=\"none\"/>",
            path(ring),
            theme::BAND_OPACITY
        );
    } else if with_ci && s.style.has_marks() {
        for (lo, hi) in px.lows.iter().zip(px.highs) {
            let _ = write!(
                g,
                "<path class=\"whisker\" d=\"M{},{} L{},{} M{},{} L{},{} M{},{} L{},{}\" stroke=\"{color}\" stroke-width=\"1.5\" fill=\"none\"/>",
                lo.0, lo.1, hi.0, hi.1, lo.0 - 4, lo.1, lo.0 + 4, lo.1, hi.0 - 4, hi.1, hi.0 + 4, hi.1
            );
        }
    }
    if s.style.has_line() && s.marks.len() > 1 {
        let dash = s
            .style
            .dash()
            .map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
        let width = if s.style == Style::Ideal { 1.5 } else { 2.0 };
        let _ = write!(
            g,
            "<path class=\"line\" d=\"{}\" stroke=\"{color}\" stroke-width=\"{width}\" fill=\"none\"{dash}/>",
            path(px.marks.iter().copied())
        );
    }
    if s.style.has_marks() {
        let fill = if s.style == Style::Hollow {
            "none".to_string()
        } else {
            color.clone()
        };
        for (m, p) in s.marks.iter().zip(px.marks) {
            let _ = write!(
                g,
                "<circle class=\"mark\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" stroke=\"{color}\" stroke-width=\"1.5\"/>",
                p.0,
                p.1,
                theme::MARK_RADIUS
            );
            g.push_str(&hit(*p, m, &tip(&s.label, c, m)));
        }
    }
    g.push_str("</g>");
    g
}

/// A legend entry's swatch.
#[derive(Debug, Clone, Copy)]
pub enum Swatch {
    /// A line (dashed for model and ideal styles) with a marker where the style has them.
    Line(Style),
    /// A filled box (bars).
    Box,
}

/// One entry of a legend column.
#[derive(Debug, Clone)]
pub struct LegendEntry {
    /// The `data-series` it toggles; `None` for entries that only explain (failed in red).
    pub series: Option<usize>,
    pub label: String,
    pub color: Rgb,
    pub swatch: Swatch,
}

/// Characters per legend line; a label wraps onto a second line at a space, and what does not
/// fit two lines is cut (whole in the entry's `<title>`).
const LEGEND_CHARS: usize = 28;

/// A legend label in at most two lines of about [`LEGEND_CHARS`].
fn legend_lines(label: &str) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in label.split(' ') {
        let cur = lines.last_mut().expect("one line");
        if cur.is_empty() || cur.chars().count() + 1 + word.chars().count() <= LEGEND_CHARS {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        } else {
            lines.push(word.to_string());
        }
    }
    if lines.len() > 2 {
        let rest = lines[1..].join(" ");
        lines.truncate(1);
        lines.push(rest);
    }
    for l in &mut lines {
        if l.chars().count() > LEGEND_CHARS + 2 {
            *l = format!("{}…", l.chars().take(LEGEND_CHARS).collect::<String>());
        }
    }
    lines
}

/// The legend column right of the plot area: one clickable entry per series.
fn legend_layer(entries: &[LegendEntry], top: i32, width: u32) -> String {
    let x = (width - theme::LEGEND_WIDTH + 10) as i32;
    let mut s = String::from("<g class=\"legend\">");
    let mut y = top - 20;
    for e in entries {
        y += 20;
        let lines = legend_lines(&e.label);
        let c = e.color.hex();
        let swatch = match e.swatch {
            Swatch::Box => format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"18\" height=\"11\" fill=\"{c}\"/>",
                y - 6
            ),
            Swatch::Line(st) => {
                let dash = st
                    .dash()
                    .map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
                let mark = if st.has_marks() {
                    let fill = if st == Style::Hollow {
                        "#fff"
                    } else {
                        c.as_str()
                    };
                    format!("<circle cx=\"{}\" cy=\"{y}\" r=\"4\" fill=\"{fill}\" stroke=\"{c}\" stroke-width=\"1.5\"/>", x + 10)
                } else {
                    String::new()
                };
                let line = if st.has_line() {
                    format!("<line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{c}\" stroke-width=\"2\"{dash}/>", x + 20)
                } else {
                    String::new()
                };
                line + &mark
            }
        };
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            let _ = write!(
                text,
                "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                x + 26,
                if i == 0 { 0 } else { 15 },
                esc(l)
            );
        }
        let data = e.series.map_or(String::new(), |k| {
            format!(" data-series=\"{k}\" role=\"button\" tabindex=\"0\"")
        });
        let _ = write!(
            s,
            "<g class=\"legend-entry\"{data}><title>{}</title>{swatch}<text x=\"{}\" y=\"{}\" font-family=\"{}\" font-size=\"{}\" fill=\"{}\">{text}</text></g>",
            esc(&e.label),
            x + 26,
            y + 4,
            theme::FONT,
            theme::TICK_SIZE + 1,
            theme::INK.hex(),
        );
        y += 15 * (lines.len() as i32 - 1);
    }
    s.push_str("</g>");
    s
}

/// Renders a [`LineChart`] to SVG text.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn line_chart(c: &LineChart) -> Result<String, ReportError> {
    let (xr, yr) = bounds(c);
    let spec = FrameSpec {
        title: &c.title,
        width: theme::WIDTH,
        height: theme::HEIGHT,
        x: (&c.x, xr),
        y: (&c.y, yr),
        y_labels: 62,
        rows: None,
    };
    let mut points: Vec<(f64, f64)> = c.series.iter().flat_map(series_points).collect();
    let from = points.len();
    let xs = if c.x.log || c.x.at.is_some() {
        ticks(&c.x, xr)
    } else {
        Vec::new()
    };
    let ys = if c.y.log { ticks(&c.y, yr) } else { Vec::new() };
    points.extend(xs.iter().map(|x| (*x, yr.0)));
    points.extend(ys.iter().map(|y| (xr.0, *y)));
    let f = frame(&spec, &points)?;
    let mut layer = tick_layer(&spec, &f, &xs, &ys, from);
    let mut at = 0;
    for (k, s) in c.series.iter().enumerate() {
        let n = s.marks.len();
        let px = SeriesPixels {
            marks: &f.pixels[at..at + n],
            lows: &f.pixels[at + n..at + 2 * n],
            highs: &f.pixels[at + 2 * n..at + 3 * n],
        };
        if n > 0 {
            layer.push_str(&series_layer(c, s.of.unwrap_or(k), s, &px));
        }
        at += 3 * n;
    }
    let mut entries: Vec<LegendEntry> = c
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.label.is_empty() && !s.marks.is_empty() && s.of.is_none())
        .map(|(k, s)| LegendEntry {
            series: Some(k),
            label: s.label.clone(),
            color: s.rgb(),
            swatch: Swatch::Line(s.style),
        })
        .collect();
    entries.extend(c.notes.iter().cloned());
    layer.push_str(&legend_layer(&entries, f.area.2 + 8, theme::WIDTH));
    Ok(finish(f.svg, &layer))
}

/// One bar of a [`BarChart`]: its row (0 = top), span on x, colour, the series (legend entry)
/// it belongs to, and its hover text. `ci` draws a whisker and a centre mark (forest plots).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub row: usize,
    pub start: f64,
    pub end: f64,
    pub color: Rgb,
    pub series: usize,
    pub tip: String,
    pub ci: Option<(f64, f64)>,
}

/// Horizontal bars on labelled rows: stacked phases, task timelines, changes with intervals.
#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub x: Axis,
    /// Row labels, top first.
    pub rows: Vec<String>,
    pub bars: Vec<Bar>,
    pub legend: Vec<LegendEntry>,
    /// A grey dashed reference at this x (no change: 0).
    pub reference: Option<f64>,
    /// Drawn [`theme::WIDE_WIDTH`] wide, for a figure that spans the page (timelines, phases).
    pub wide: bool,
}

/// Height of a bar chart with `rows` rows.
fn bar_height(rows: usize) -> u32 {
    (100 + 24 * rows as u32).max(220)
}

/// Renders a [`BarChart`] to SVG text: row labels in a left column wide enough for them, bars
/// grouped by series so the legend can hide them.
///
/// # Errors
/// [`ReportError::Chart`] if plotters fails.
pub fn bar_chart(c: &BarChart) -> Result<String, ReportError> {
    let n = c.rows.len().max(1);
    let xs = c.bars.iter().flat_map(|b| {
        let (lo, hi) = b.ci.unwrap_or((b.start, b.end));
        [b.start, b.end, lo, hi]
    });
    let mut xr = range(xs.chain(c.reference), false);
    if c.reference.is_none() {
        xr.0 = xr.0.min(0.0);
    }
    let longest = c.rows.iter().map(|r| r.chars().count()).max().unwrap_or(4) as u32;
    let y_axis = Axis::linear("", Unit::Number);
    let width = if c.wide {
        theme::WIDE_WIDTH
    } else {
        theme::WIDTH
    };
    let spec = FrameSpec {
        title: &c.title,
        width,
        height: bar_height(n),
        x: (&c.x, xr),
        y: (&y_axis, (0.0, n as f64)),
        y_labels: (longest * 7 + 12).clamp(40, 300),
        rows: Some(&c.rows),
    };
    let mut points: Vec<(f64, f64)> = Vec::new();
    for b in &c.bars {
        let y = (n - 1 - b.row.min(n - 1)) as f64;
        let (lo, hi) = b.ci.unwrap_or((b.start, b.end));
        points.extend([
            (b.start, y + 0.18),
            (b.end, y + 0.82),
            (lo, y + 0.5),
            (hi, y + 0.5),
        ]);
    }
    let rows_at = points.len();
    points.extend((0..n).map(|i| (xr.0, (n - 1 - i) as f64 + 0.5)));
    points.extend(c.reference.iter().flat_map(|r| [(*r, 0.0), (*r, n as f64)]));
    let f = frame(&spec, &points)?;
    let mut layer = row_labels(&c.rows, &f, rows_at);
    if c.reference.is_some() {
        let (a, b) = (f.pixels[rows_at + n], f.pixels[rows_at + n + 1]);
        let _ = write!(
            layer,
            "<line class=\"reference\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"7 5\"/>",
            a.0, a.1, b.0, b.1, theme::IDEAL.hex()
        );
    }
    layer.push_str(&bars_layer(c, &f.pixels));
    layer.push_str(&legend_layer(&c.legend, f.area.2 + 8, width));
    Ok(finish(f.svg, &layer))
}

fn row_labels(rows: &[String], f: &Frame, at: usize) -> String {
    let mut s = String::from("<g class=\"ticks\">");
    for (i, r) in rows.iter().enumerate() {
        let (_, y) = f.pixels[at + i];
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-family=\"{}\" font-size=\"{}\" fill=\"{}\">{}</text>",
            f.area.0 - 6,
            y + 4,
            theme::FONT,
            theme::TICK_SIZE,
            theme::INK.hex(),
            esc(r)
        );
    }
    s.push_str("</g>");
    s
}

fn bars_layer(c: &BarChart, px: &[(i32, i32)]) -> String {
    let mut groups: Vec<usize> = c.bars.iter().map(|b| b.series).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut s = String::new();
    for k in groups {
        let _ = write!(s, "<g class=\"series\" data-series=\"{k}\">");
        for (i, b) in c.bars.iter().enumerate().filter(|(_, b)| b.series == k) {
            let (p0, p1, lo, hi) = (px[4 * i], px[4 * i + 1], px[4 * i + 2], px[4 * i + 3]);
            let color = b.color.hex();
            if b.ci.is_some() {
                let _ = write!(
                    s,
                    "<path class=\"whisker\" d=\"M{},{} L{},{}\" stroke=\"{color}\" stroke-width=\"2\"/><circle class=\"mark\" cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{color}\"/>",
                    lo.0, lo.1, hi.0, hi.1, p1.0, lo.1
                );
                let m = Mark {
                    x: b.end,
                    y: b.end,
                    ci: b.ci,
                    n: None,
                    note: None,
                };
                s.push_str(&hit((p1.0, lo.1), &m, &b.tip));
                continue;
            }
            let (x0, x1) = (p0.0.min(p1.0), p0.0.max(p1.0));
            let (y0, y1) = (p0.1.min(p1.1), p0.1.max(p1.1));
            let _ = write!(
                s,
                "<rect class=\"mark\" x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill=\"{color}\"><title>{}</title></rect>",
                (x1 - x0).max(1),
                y1 - y0,
                esc(&b.tip)
            );
        }
        s.push_str("</g>");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> LineChart {
        LineChart {
            title: "t".into(),
            x: Axis::executors(vec![1.0, 2.0, 4.0]),
            y: Axis::log("training time (s)", Unit::Seconds),
            series: vec![
                Series {
                    label: "a".into(),
                    marks: vec![
                        Mark {
                            x: 1.0,
                            y: 10.0,
                            ci: Some((9.0, 11.0)),
                            n: Some(3),
                            note: None,
                        },
                        Mark {
                            x: 2.0,
                            y: 5.5,
                            ci: Some((5.0, 6.0)),
                            n: Some(3),
                            note: None,
                        },
                        Mark {
                            x: 4.0,
                            y: 3.0,
                            ci: Some((2.8, 3.3)),
                            n: Some(3),
                            note: None,
                        },
                    ],
                    style: Style::Band,
                    color: Paint::Series(0),
                    of: None,
                },
                Series {
                    label: "ideal".into(),
                    marks: vec![Mark::at(1.0, 10.0), Mark::at(4.0, 2.5)],
                    style: Style::Ideal,
                    color: Paint::Ideal,
                    of: Some(0),
                },
                Series {
                    label: "empty".into(),
                    marks: vec![],
                    style: Style::Band,
                    color: Paint::Series(1),
                    of: None,
                },
            ],
            notes: vec![],
        }
    }

    #[test]
    fn every_mark_has_a_hover_target_and_the_legend_sits_right_of_the_plot() {
        let svg = line_chart(&chart()).unwrap();
        assert_eq!(
            svg.matches("class=\"hit\"").count(),
            3,
            "one per measured point"
        );
        assert!(svg.contains("data-y=\"5.5\" data-lo=\"5\" data-hi=\"6\" data-n=\"3\""));
        assert!(svg.contains("class=\"band\""));
        assert!(
            !svg.contains("empty"),
            "an empty series has no legend entry"
        );
        assert!(svg.contains(&format!("stroke=\"{}\"", theme::IDEAL.hex())));
        let legend_x = theme::WIDTH - theme::LEGEND_WIDTH + 10;
        assert!(
            svg.contains(&format!("<rect x=\"{legend_x}\""))
                || svg.contains(&format!("x1=\"{legend_x}\""))
        );
        // Log y ticks: 1-2-5 only.
        for t in [">2<", ">5<", ">10<"] {
            assert!(svg.contains(t), "tick {t}");
        }
        assert!(!svg.contains(">9<") && !svg.contains(">7<"));
    }

    #[test]
    fn long_legend_labels_wrap_onto_a_second_line() {
        assert_eq!(legend_lines("fraction 1 (1c, 1g)"), ["fraction 1 (1c, 1g)"]);
        let l = legend_lines("ideal: linear from each series' smallest count");
        assert_eq!(l, ["ideal: linear from each", "series' smallest count"]);
        let long = legend_lines(&"word ".repeat(30));
        assert_eq!(long.len(), 2);
        assert!(long[1].ends_with('…') && long[1].chars().count() == LEGEND_CHARS + 1);
    }

    #[test]
    fn bars_group_by_series_and_forest_rows_get_whiskers() {
        let c = BarChart {
            title: "change".into(),
            x: Axis::linear("change of training time", Unit::Percent),
            rows: vec!["e1".into(), "e2".into()],
            bars: vec![
                Bar {
                    row: 0,
                    start: 0.0,
                    end: -0.1,
                    color: theme::SERIES[0],
                    series: 0,
                    tip: "e1".into(),
                    ci: Some((-0.15, -0.05)),
                },
                Bar {
                    row: 1,
                    start: 0.0,
                    end: 0.01,
                    color: theme::IDEAL,
                    series: 1,
                    tip: "e2".into(),
                    ci: Some((-0.02, 0.03)),
                },
            ],
            legend: vec![],
            reference: Some(0.0),
            wide: false,
        };
        let svg = bar_chart(&c).unwrap();
        assert_eq!(svg.matches("class=\"whisker\"").count(), 2);
        assert_eq!(svg.matches("class=\"series\"").count(), 2);
        assert!(svg.contains("class=\"reference\""));
        assert!(svg.contains(">e1<") && svg.contains(">e2<"));
    }
}
