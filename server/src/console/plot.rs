//! The plot of where photos were taken: the site, its geofence and each photo, drawn as SVG by
//! the server in metres east and north of the site, so it works with no online map at all.
//! Points carry only their number on the page, never user text.

use fieldproof_core::domain::Site;

/// Side of the drawing in SVG units.
const SIZE: f64 = 480.0;
/// Metres per degree of latitude (close enough for a drawing; distances in words are geodesic).
const M_PER_DEG_LAT: f64 = 110_574.0;
/// Metres per degree of longitude at the equator.
const M_PER_DEG_LON: f64 = 111_320.0;

/// A photo's position, before it is placed.
pub struct PlotPoint {
    lat: f64,
    lon: f64,
    class: &'static str,
    number: usize,
    device_fix: bool,
}

impl PlotPoint {
    /// A point at `lat`/`lon` (WGS-84) coloured by `class`, labelled `number`; `device_fix`
    /// when it is the phone's position rather than the photo's own GPS.
    pub fn new(lat: f64, lon: f64, class: &'static str, number: usize, device_fix: bool) -> Self {
        Self {
            lat,
            lon,
            class,
            number,
            device_fix,
        }
    }
}

/// A placed point.
pub struct Placed {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
    /// Verdict class.
    pub class: &'static str,
    /// Its number on the page.
    pub number: usize,
    /// Drawn hollow: the phone's fix, weaker than photo GPS.
    pub device_fix: bool,
}

/// The drawing, ready for the template.
pub struct Plot {
    /// Side length.
    pub size: f64,
    /// The centre (the site).
    pub centre: f64,
    /// The geofence radius in drawing units.
    pub fence_r: f64,
    /// The photos.
    pub points: Vec<Placed>,
    /// The distance from the centre to the edge, in words.
    pub extent: String,
    /// The fence radius in metres.
    pub radius_m: String,
}

impl Plot {
    /// Places `points` around `site`, scaled so the fence and the farthest photo both fit.
    pub fn new(site: &Site, points: Vec<PlotPoint>) -> Plot {
        let (lat0, lon0) = (site.location.lat(), site.location.lon());
        let cos = lat0.to_radians().cos();
        let offsets: Vec<(f64, f64, PlotPoint)> = points
            .into_iter()
            .map(|p| {
                (
                    (p.lon - lon0) * M_PER_DEG_LON * cos,
                    (p.lat - lat0) * M_PER_DEG_LAT,
                    p,
                )
            })
            .collect();
        let farthest = offsets
            .iter()
            .map(|(e, n, _)| e.hypot(*n))
            .fold(0.0_f64, f64::max);
        let extent_m = (site.radius_m * 1.5).max(farthest * 1.1).max(50.0);
        let centre = SIZE / 2.0;
        let scale = (centre - 16.0) / extent_m;
        Plot {
            size: SIZE,
            centre,
            fence_r: site.radius_m * scale,
            points: offsets
                .into_iter()
                .map(|(e, n, p)| Placed {
                    x: centre + e * scale,
                    y: centre - n * scale,
                    class: p.class,
                    number: p.number,
                    device_fix: p.device_fix,
                })
                .collect(),
            extent: if extent_m >= 1000.0 {
                format!("{:.1} km", extent_m / 1000.0)
            } else {
                format!("{extent_m:.0} m")
            },
            radius_m: format!("{:.0} m", site.radius_m),
        }
    }
}
