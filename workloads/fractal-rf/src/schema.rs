//! FRACTAL's point-cloud schema, its classes and the model features.
//!
//! FRACTAL (IGN, France; dataset card "FRACTAL: an ultra-large-scale aerial lidar dataset for
//! 3D semantic segmentation", Gaydon et al., 2024) stores points as parquet with the columns
//! below. Classification uses ASPRS LAS 1.4 codes; FRACTAL's seven classes and their share of
//! points (the mix the generator reproduces) are in [`CLASSES`].

/// Column holding x, y, z as a list of 3 `f64` (`FixedSizeList` or `List`).
pub const XYZ: &str = "xyz";
/// Spectral and return columns, unsigned 16-bit.
pub const INTENSITY: &str = "Intensity";
pub const RED: &str = "Red";
pub const GREEN: &str = "Green";
pub const BLUE: &str = "Blue";
pub const INFRARED: &str = "Infrared";
/// ASPRS class code, unsigned 8-bit.
pub const CLASSIFICATION: &str = "Classification";

/// Every column the workload reads, in reading order.
pub const COLUMNS: [&str; 7] = [XYZ, INTENSITY, RED, GREEN, BLUE, INFRARED, CLASSIFICATION];

/// Model features, in matrix column order: z, Intensity, R, G, B, NIR and
/// NDVI = (NIR − R) / (NIR + R) (0 when the denominator is 0).
pub const FEATURES: [&str; 7] = ["z", "Intensity", "Red", "Green", "Blue", "Infrared", "NDVI"];

/// One FRACTAL class: its name, LAS code (as written by the generator) and share of points.
#[derive(Debug, Clone, Copy)]
pub struct Class {
    pub name: &'static str,
    pub code: u8,
    pub share: f64,
}

/// FRACTAL's classes in model-label order (label = index). Shares from FRACTAL's dataset card
/// (its class mix): ground 39 %, vegetation 57 %, building 2.8 %, water 0.5 %, bridge 0.1 %,
/// other 0.6 %, permanent structure 0.04 % (rounded; the generator renormalises).
pub const CLASSES: [Class; 7] = [
    Class {
        name: "other",
        code: 1,
        share: 0.006,
    },
    Class {
        name: "ground",
        code: 2,
        share: 0.39,
    },
    Class {
        name: "vegetation",
        code: 5,
        share: 0.57,
    },
    Class {
        name: "building",
        code: 6,
        share: 0.028,
    },
    Class {
        name: "water",
        code: 9,
        share: 0.005,
    },
    Class {
        name: "bridge",
        code: 17,
        share: 0.001,
    },
    Class {
        name: "permanent structure",
        code: 64,
        share: 0.0004,
    },
];

/// Model label (0..7) of a LAS class code. Low and medium vegetation (3, 4) merge into
/// vegetation as in FRACTAL; any other unknown code is `other`. LightGBM's multiclass objective
/// needs labels 0..k−1, and this fixed map keeps them identical on every executor.
pub fn label_of(code: u8) -> usize {
    match code {
        2 => 1,
        3..=5 => 2,
        6 => 3,
        9 => 4,
        17 => 5,
        64 => 6,
        _ => 0,
    }
}

/// NDVI = (NIR − R) / (NIR + R), 0 when NIR + R = 0 (Rouse et al., 1974).
pub fn ndvi(nir: f32, red: f32) -> f32 {
    let d = nir + red;
    if d == 0.0 {
        0.0
    } else {
        (nir - red) / d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dense_and_codes_round_trip() {
        for (i, c) in CLASSES.iter().enumerate() {
            assert_eq!(label_of(c.code), i, "{}", c.name);
        }
        assert_eq!(label_of(3), 2);
        assert_eq!(label_of(66), 0);
        let total: f64 = CLASSES.iter().map(|c| c.share).sum();
        assert!((total - 1.0).abs() < 0.01, "{total}");
    }

    #[test]
    fn ndvi_formula() {
        assert_eq!(ndvi(0.0, 0.0), 0.0);
        assert!((ndvi(3.0, 1.0) - 0.5).abs() < 1e-6);
        assert!((ndvi(1.0, 3.0) + 0.5).abs() < 1e-6);
    }
}
