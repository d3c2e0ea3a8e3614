//! The one look every chart and page shares: palette, sizes, fonts, number formats.
//!
//! Charts never pick a colour or a size themselves: a series asks [`series_color`] for its
//! index, the ideal line is [`IDEAL`] and dashed, failures alone are [`FAILURE`] red.
//!
//! The series palette is Okabe & Ito's colour-blind-safe qualitative set (Okabe & Ito,
//! *Color Universal Design*, 2008; the default of Wilke's *Fundamentals of Data
//! Visualization*), reordered so that the first four are blue, orange, bluish green and
//! reddish purple — no red/green pair, distinct under protanopia and deuteranopia — and
//! without its vermillion, which is too close to the failure red, and its black, which is
//! taken by text.

/// An sRGB colour, 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Hue in degrees [0, 360) and saturation (HSV) in [0, 1].
    pub fn hue_saturation(self) -> (f64, f64) {
        let [r, g, b] = [self.0, self.1, self.2].map(|c| f64::from(c) / 255.0);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let d = max - min;
        if d == 0.0 {
            return (0.0, 0.0);
        }
        let h = if max == r {
            60.0 * ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        (h, d / max)
    }
}

/// Series colours in order (Okabe–Ito: blue, orange, bluish green, reddish purple, sky blue,
/// yellow darkened for contrast on white, grey-brown).
pub const SERIES: [Rgb; 7] = [
    Rgb(0x00, 0x72, 0xb2),
    Rgb(0xe6, 0x9f, 0x00),
    Rgb(0x00, 0x9e, 0x73),
    Rgb(0xcc, 0x79, 0xa7),
    Rgb(0x56, 0xb4, 0xe9),
    Rgb(0xb8, 0xa4, 0x00),
    Rgb(0x8c, 0x6d, 0x4f),
];

/// Failed runs, tasks and executors whose limits were not enforced: nothing else is red.
pub const FAILURE: Rgb = Rgb(0xc0, 0x1c, 0x28);
/// Ideal and reference lines (linear speedup, efficiency 1, no change): grey, dashed.
pub const IDEAL: Rgb = Rgb(0x77, 0x77, 0x77);
/// Axis text and frames.
pub const INK: Rgb = Rgb(0x33, 0x33, 0x33);

/// The colour of series `i` (cycling after [`SERIES`]).
pub fn series_color(i: usize) -> Rgb {
    SERIES[i % SERIES.len()]
}

/// Chart width in SVG pixels; charts scale to their grid cell.
pub const WIDTH: u32 = 760;
/// Width of a figure that spans the page (timelines, phases), drawn at about its size there.
pub const WIDE_WIDTH: u32 = 1360;
/// Height of a line chart.
pub const HEIGHT: u32 = 440;
/// Width of the legend column at the right of every chart (outside the plot area).
pub const LEGEND_WIDTH: u32 = 210;
/// The font family of chart text (the page's own sans-serif).
pub const FONT: &str = "sans-serif";
/// Chart title, axis description and tick/legend font sizes, px.
pub const TITLE_SIZE: u32 = 16;
pub const LABEL_SIZE: u32 = 13;
pub const TICK_SIZE: u32 = 11;
/// Marker radius and the radius of its (invisible) hover target, px.
pub const MARK_RADIUS: u32 = 4;
pub const HIT_RADIUS: u32 = 9;
/// Opacity of a confidence band.
pub const BAND_OPACITY: f64 = 0.18;

/// A tick label on a log axis: only at 1, 2 and 5 × 10ᵏ (the others stay unlabelled so
/// labels never overlap), formatted as [`number`].
pub fn log_tick(v: &f64) -> String {
    if *v <= 0.0 || !v.is_finite() {
        return String::new();
    }
    let m = v / 10f64.powf(v.log10().floor());
    if [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|k| (m - k).abs() < 1e-6 * k)
    {
        number(*v)
    } else {
        String::new()
    }
}

/// A number with the decimals its size needs: `30`, `2.5`, `0.125`, `1.2e-5`.
pub fn number(v: f64) -> String {
    let a = v.abs();
    let t = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.001 {
        format!("{v:.3}")
    } else {
        return format!("{v:.1e}");
    };
    trim_zeros(&t)
}

fn trim_zeros(t: &str) -> String {
    if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t.to_string()
    }
}

/// Seconds for a person: `0.42 s`, `13.1 s`, `2 min 05 s`.
pub fn seconds(v: f64) -> String {
    if v >= 120.0 {
        let m = (v / 60.0).floor();
        format!("{m:.0} min {:02.0} s", v - m * 60.0)
    } else if v >= 10.0 {
        format!("{v:.1} s")
    } else if v >= 1.0 {
        format!("{v:.2} s")
    } else {
        format!("{v:.3} s")
    }
}

/// Bytes in binary units for a person: `512 B`, `33.2 MiB`, `1.50 GiB`.
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = v;
    let mut u = 0;
    while x.abs() >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    match u {
        0 => format!("{x:.0} B"),
        _ if x >= 100.0 => format!("{x:.0} {}", UNITS[u]),
        _ => format!("{x:.1} {}", UNITS[u]),
    }
}

/// A share as a percentage: `93.2 %`.
pub fn percent(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// A signed relative change: `+12.0 %`, `−3.4 %`.
pub fn change(v: f64) -> String {
    let t = format!("{:+.1} %", v * 100.0);
    t.replace('-', "−")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulated dichromat view (Viénot, Brettel & Mollon 1999 matrices on linear RGB):
    /// protanopia and deuteranopia.
    fn simulate(c: Rgb, deutan: bool) -> [f64; 3] {
        let lin = |v: u8| {
            let s = f64::from(v) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        let (r, g, b) = (lin(c.0), lin(c.1), lin(c.2));
        let m = if deutan {
            [
                [0.29275, 0.70725, 0.0],
                [0.29275, 0.70725, 0.0],
                [-0.02234, 0.02234, 1.0],
            ]
        } else {
            [
                [0.11238, 0.88762, 0.0],
                [0.11238, 0.88762, 0.0],
                [0.00401, -0.00401, 1.0],
            ]
        };
        m.map(|row| row[0] * r + row[1] * g + row[2] * b)
    }

    fn is_red(c: Rgb) -> bool {
        let (h, s) = c.hue_saturation();
        s > 0.4 && !(20.0..=340.0).contains(&h)
    }

    fn is_green(c: Rgb) -> bool {
        let (h, s) = c.hue_saturation();
        s > 0.4 && (75.0..=155.0).contains(&h)
    }

    #[test]
    fn the_first_four_series_hold_no_red_green_pair_and_survive_dichromacy() {
        let first = &SERIES[..4];
        assert!(first.iter().all(|c| !is_red(*c)), "red is for failures");
        assert!(!(first.iter().any(|c| is_red(*c)) && first.iter().any(|c| is_green(*c))));
        assert!(is_red(FAILURE) && is_red(Rgb(0xff, 0, 0)) && is_green(Rgb(0, 0xa0, 0)));
        for deutan in [false, true] {
            for (i, a) in first.iter().enumerate() {
                for b in &first[i + 1..] {
                    let (x, y) = (simulate(*a, deutan), simulate(*b, deutan));
                    let d = x.iter().zip(y).map(|(p, q)| (p - q).powi(2)).sum::<f64>();
                    assert!(d.sqrt() > 0.05, "{} and {} merge ({d})", a.hex(), b.hex());
                }
            }
        }
        // The classifier tells plotters' old first two series colours apart as red and green.
        let (r, g) = (Rgb(0xe6, 0x19, 0x4b), Rgb(0x3c, 0xb4, 0x4b));
        assert!(is_red(r) && is_green(g));
    }

    #[test]
    fn log_ticks_label_only_one_two_five() {
        let labels: Vec<String> = [1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 10.0, 20.0, 0.5, 0.3]
            .iter()
            .map(log_tick)
            .collect();
        assert_eq!(labels, ["1", "2", "", "5", "", "", "10", "20", "0.5", ""]);
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(number(30.0), "30");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(215040.0), "215040");
        assert_eq!(seconds(0.4213), "0.421 s");
        assert_eq!(seconds(125.0), "2 min 05 s");
        assert_eq!(bytes(34_791_424.0), "33.2 MiB");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(percent(0.9321), "93.2 %");
        assert_eq!(change(-0.034), "−3.4 %");
        assert_eq!(change(0.12), "+12.0 %");
    }
}
