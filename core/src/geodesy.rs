//! Coordinates: a validated WGS-84 point, the Chinese map datums and geodesic distance.
//!
//! GCJ-02 ("Mars coordinates") and BD-09 have no crate on crates.io that is both maintained and
//! small, and the transform is a published closed formula, so it is written here and tested
//! against the reference pairs published with the widely used `coordtransform` library.

use std::f64::consts::PI;

use geo::{Distance, Geodesic, Point};
use serde::{Deserialize, Serialize};

/// Why a pair of numbers is not a usable coordinate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    /// Latitude outside −90…90 or not finite.
    #[error("latitude must be a finite number between -90 and 90")]
    Latitude,
    /// Longitude outside −180…180 or not finite.
    #[error("longitude must be a finite number between -180 and 180")]
    Longitude,
}

/// A WGS-84 point that cannot hold `lat = 91` or `NaN`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    /// 0° N 0° E: a placeholder where no place is known and none is judged.
    pub const NULL_ISLAND: GeoPoint = GeoPoint { lat: 0.0, lon: 0.0 };

    /// Checks the ranges; the only way to build a point (besides [`GeoPoint::NULL_ISLAND`]).
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude);
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::Longitude);
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees, north positive.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, east positive.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Geodesic distance on the WGS-84 ellipsoid, in metres.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        Geodesic.distance(Point::new(self.lon, self.lat), Point::new(other.lon, other.lat))
    }
}

impl<'de> Deserialize<'de> for GeoPoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            lat: f64,
            lon: f64,
        }
        let raw = Raw::deserialize(d)?;
        GeoPoint::new(raw.lat, raw.lon).map_err(serde::de::Error::custom)
    }
}

/// The datum a coordinate was entered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    /// GPS, and what EXIF carries.
    Wgs84,
    /// The datum of Amap/Gaode, Tencent and Google maps in mainland China.
    Gcj02,
    /// Baidu maps.
    Bd09,
}

impl Datum {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Datum::Wgs84 => "wgs84",
            Datum::Gcj02 => "gcj02",
            Datum::Bd09 => "bd09",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wgs84" => Some(Datum::Wgs84),
            "gcj02" => Some(Datum::Gcj02),
            "bd09" => Some(Datum::Bd09),
            _ => None,
        }
    }

    /// Converts `(lat, lon)` given in this datum to WGS-84.
    pub fn to_wgs84(self, lat: f64, lon: f64) -> Result<GeoPoint, GeoError> {
        let input = GeoPoint::new(lat, lon)?;
        let (lat, lon) = match self {
            Datum::Wgs84 => (lat, lon),
            Datum::Gcj02 => gcj02_to_wgs84(input.lat, input.lon),
            Datum::Bd09 => {
                let (glat, glon) = bd09_to_gcj02(input.lat, input.lon);
                gcj02_to_wgs84(glat, glon)
            }
        };
        GeoPoint::new(lat, lon)
    }
}

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

fn outside_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The forward GCJ-02 obfuscation: WGS-84 `(lat, lon)` → GCJ-02 `(lat, lon)`.
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if outside_china(lat, lon) {
        return (lat, lon);
    }
    let mut dlat = transform_lat(lon - 105.0, lat - 35.0);
    let mut dlon = transform_lon(lon - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - EE * radlat.sin() * radlat.sin();
    let sqrtmagic = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtmagic) * PI);
    dlon = (dlon * 180.0) / (A / sqrtmagic * radlat.cos() * PI);
    (lat + dlat, lon + dlon)
}

/// GCJ-02 → WGS-84 by fixed-point iteration of the forward formula; converges to well under a
/// centimetre in a few steps, where the usual one-step inverse is off by up to a couple of metres.
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if outside_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..30 {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        let (elat, elon) = (glat - lat, glon - lon);
        wlat -= elat;
        wlon -= elon;
        if elat.abs() < 1e-10 && elon.abs() < 1e-10 {
            break;
        }
    }
    (wlat, wlon)
}

/// BD-09 → GCJ-02 (Baidu's published inverse).
pub fn bd09_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.sin(), z * theta.cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GCJ-02 → BD-09.
    fn gcj02_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
        let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
        let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
        (z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
    }

    fn close(a: (f64, f64), b: (f64, f64), eps: f64) -> bool {
        (a.0 - b.0).abs() < eps && (a.1 - b.1).abs() < eps
    }

    // Reference pairs published in the README of the `coordtransform` library for the input
    // (lon 116.404, lat 39.915).
    #[test]
    fn forward_transforms_match_published_pairs() {
        assert!(close(
            wgs84_to_gcj02(39.915, 116.404),
            (39.91640428150164, 116.41024449916938),
            1e-9
        ));
        assert!(close(
            bd09_to_gcj02(39.915, 116.404),
            (39.90865673957631, 116.39762729119315),
            1e-9
        ));
        assert!(close(
            gcj02_to_bd09(39.915, 116.404),
            (39.92133699351021, 116.41036949371029),
            1e-9
        ));
    }

    #[test]
    fn gcj02_inverse_agrees_with_published_one_step_inverse_within_metres() {
        let ours = GeoPoint::new(
            gcj02_to_wgs84(39.915, 116.404).0,
            gcj02_to_wgs84(39.915, 116.404).1,
        )
        .unwrap();
        let published = GeoPoint::new(39.91359571849836, 116.39775550083061).unwrap();
        assert!(ours.distance_m(published) < 3.0);
    }

    #[test]
    fn gcj02_inverse_round_trips_to_a_centimetre() {
        for &(lat, lon) in &[
            (39.915, 116.404),
            (39.63, 118.18),
            (22.54, 114.06),
            (45.75, 126.63),
        ] {
            let (glat, glon) = wgs84_to_gcj02(lat, lon);
            let back = gcj02_to_wgs84(glat, glon);
            let d = GeoPoint::new(lat, lon)
                .unwrap()
                .distance_m(GeoPoint::new(back.0, back.1).unwrap());
            assert!(d < 0.01, "round trip off by {d} m");
            let shift = GeoPoint::new(lat, lon)
                .unwrap()
                .distance_m(GeoPoint::new(glat, glon).unwrap());
            assert!(
                shift > 100.0,
                "GCJ-02 should shift by hundreds of metres, got {shift}"
            );
        }
    }

    #[test]
    fn points_outside_china_are_not_shifted() {
        assert_eq!(gcj02_to_wgs84(50.3, 14.8), (50.3, 14.8));
    }

    #[test]
    fn invalid_points_are_refused() {
        assert_eq!(GeoPoint::new(91.0, 0.0), Err(GeoError::Latitude));
        assert_eq!(GeoPoint::new(0.0, 181.0), Err(GeoError::Longitude));
        assert_eq!(GeoPoint::new(f64::NAN, 0.0), Err(GeoError::Latitude));
        assert!(serde_json::from_str::<GeoPoint>(r#"{"lat":91,"lon":0}"#).is_err());
    }

    #[test]
    fn geodesic_distance_of_one_degree_of_latitude() {
        let a = GeoPoint::new(0.0, 0.0).unwrap();
        let b = GeoPoint::new(1.0, 0.0).unwrap();
        assert!((a.distance_m(b) - 110_574.4).abs() < 1.0);
    }
}
