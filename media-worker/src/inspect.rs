//! `fieldproof inspect-photo`: one photo through the worker's own [`pipeline`], against a site
//! and a time given on the command line instead of a record in the database, for people who
//! want to know what the pipeline reads and concludes before (or without) uploading.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use chrono_tz::Tz;
use fieldproof_core::domain::{
    ExifSummary, Reason, Record, RecordKind, Site, Task, TaskStatus, Verification,
};
use fieldproof_core::geodesy::{Datum, GeoPoint};
use fieldproof_core::ids::{RecordId, SiteId, TaskId, UserId};
use fieldproof_core::store::PhotoContext;
use serde::Serialize;

use crate::pipeline::{self, Analysed, Inputs, Options, PipelineError};
use crate::verify::Tolerances;

/// Geofence radius when `--site` names none, in metres.
pub const DEFAULT_RADIUS_M: f64 = 200.0;

/// Why the command line's site is unusable.
#[derive(Debug, thiserror::Error)]
#[error("--site must be LAT,LON[,DATUM[,RADIUS]] with DATUM wgs84, gcj02 or bd09 and RADIUS in metres (1–{max}): {0}", max = fieldproof_core::domain::site::MAX_RADIUS_M)]
pub struct SiteArgError(String);

/// The site given as `LAT,LON[,DATUM[,RADIUS]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteArg {
    /// The site in WGS-84.
    pub location: GeoPoint,
    /// The datum it was given in.
    pub datum: Datum,
    /// Geofence radius in metres.
    pub radius_m: f64,
}

impl std::str::FromStr for SiteArg {
    type Err = SiteArgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| SiteArgError(why.to_owned());
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if !(2..=4).contains(&parts.len()) {
            return Err(bad("expected two to four comma-separated values"));
        }
        let number = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| bad(&format!("`{v}` is not a number")))
        };
        let (lat, lon) = (number(parts[0])?, number(parts[1])?);
        let datum = match parts.get(2) {
            Some(d) => {
                Datum::parse(&d.to_ascii_lowercase()).ok_or_else(|| bad(&format!("unknown datum `{d}`")))?
            }
            None => Datum::Wgs84,
        };
        let radius_m = match parts.get(3) {
            Some(r) => number(r)?,
            None => DEFAULT_RADIUS_M,
        };
        if !radius_m.is_finite() || !(1.0..=fieldproof_core::domain::site::MAX_RADIUS_M).contains(&radius_m) {
            return Err(bad("radius out of range"));
        }
        let location = datum.to_wgs84(lat, lon).map_err(|e| bad(&e.to_string()))?;
        Ok(Self {
            location,
            datum,
            radius_m,
        })
    }
}

/// What to judge the photo against.
#[derive(Debug, Clone)]
pub struct Against {
    /// The site; without it, location is not judged.
    pub site: Option<SiteArg>,
    /// When the photo was filed (the inspection's time and the upload); without it, the time
    /// window is not judged and "the future" means now.
    pub at: Option<DateTime<FixedOffset>>,
    /// The site's time zone (the inspection day and local capture times).
    pub zone: Tz,
    /// Check tolerances.
    pub tolerances: Tolerances,
}

/// Which checks had what they need.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Judged {
    /// Location against the site (`--site`).
    pub location: bool,
    /// Capture time against the inspection day (`--at`).
    pub window: bool,
    /// Reuse of the same or similar photos (needs the database: never here).
    pub reuse: bool,
}

/// One written or made thumbnail.
#[derive(Debug, Clone, Serialize)]
pub struct ThumbnailReport {
    /// Long edge asked for.
    pub edge: u32,
    /// Width made.
    pub width: u32,
    /// Height made.
    pub height: u32,
    /// Encoded size.
    pub bytes: usize,
}

/// What the pipeline reads and concludes; `exif` and `verification` are the same objects
/// `GET /api/v1/photos/{id}` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Size of the file.
    pub bytes: usize,
    /// MIME type detected from the bytes.
    pub content_type: String,
    /// Displayed width.
    pub width: u32,
    /// Displayed height.
    pub height: u32,
    /// Allowlisted EXIF fields.
    pub exif: ExifSummary,
    /// Reported horizontal GPS error in metres.
    pub gps_error_m: Option<f64>,
    /// The verdict and its reasons.
    pub verification: Verification,
    /// Which checks were made.
    pub judged: Judged,
    /// Perceptual hash, 16 hex digits.
    pub perceptual_hash: String,
    /// The thumbnails made.
    pub thumbnails: Vec<ThumbnailReport>,
}

/// Runs the pipeline on `bytes`; the thumbnails stay in the returned [`Analysed`].
pub fn inspect(
    bytes: &[u8],
    against: &Against,
    options: &Options,
) -> Result<(Report, Analysed), PipelineError> {
    let analysed = pipeline::analyse(bytes, against.zone, options)?;
    let now = Utc::now();
    let at = against.at.map_or(now, |t| t.with_timezone(&Utc));
    let context = context(against, at);
    let mut analysis = pipeline::conclude(
        &analysed,
        &Inputs {
            context: &context,
            received_at: at,
            duplicate: None,
            similar: None,
            tolerances: against.tolerances,
        },
    );
    let judged = Judged {
        location: against.site.is_some(),
        window: against.at.is_some(),
        reuse: false,
    };
    let reasons = std::mem::take(&mut analysis.verification.reasons)
        .into_iter()
        .filter(|r| judged.location || !is_location(r))
        .filter(|r| judged.window || !is_window(r))
        // There is no task: its creation date would be made up.
        .filter(|r| !matches!(r, Reason::TimeBeforeTask { .. }))
        .collect();
    let report = Report {
        sha256: analysed.sha256.clone(),
        bytes: bytes.len(),
        content_type: analysis.content_type,
        width: analysis.width,
        height: analysis.height,
        exif: analysis.exif,
        gps_error_m: analysed.reading.gps_error_m,
        verification: Verification::from_reasons(reasons),
        judged,
        perceptual_hash: format!("{:016x}", analysed.perceptual_hash),
        thumbnails: analysed
            .thumbnails
            .iter()
            .map(|t| ThumbnailReport {
                edge: t.edge,
                width: t.image.width(),
                height: t.image.height(),
                bytes: t.bytes.len(),
            })
            .collect(),
    };
    Ok((report, analysed))
}

fn is_location(r: &Reason) -> bool {
    matches!(
        r,
        Reason::OutsideSite { .. } | Reason::DeviceFixUsed { .. } | Reason::DeviceLocationMismatch { .. }
    )
}

fn is_window(r: &Reason) -> bool {
    matches!(r, Reason::TimeOutsideWindow { .. })
}

/// An inspection filed at `at` at the given site (or anywhere), by nobody in particular.
fn context(against: &Against, at: DateTime<Utc>) -> PhotoContext {
    let site = against.site.unwrap_or(SiteArg {
        location: GeoPoint::NULL_ISLAND,
        datum: Datum::Wgs84,
        radius_m: DEFAULT_RADIUS_M,
    });
    let user = UserId::new();
    // Long enough before `at` that only the inspection day bounds the window.
    let long_ago = at - Duration::days(3650);
    let task = Task {
        id: TaskId::new(),
        title: "inspect-photo".into(),
        description: None,
        site_id: SiteId::new(),
        due_at: at,
        status: TaskStatus::InProgress,
        created_by: user,
        created_at: long_ago,
        group_id: None,
        agency_id: None,
        region_code: None,
        next_due_at: None,
        acknowledged: None,
        ended: None,
    };
    PhotoContext {
        record: Record {
            id: RecordId::new(),
            task_id: task.id,
            phase_id: None,
            kind: RecordKind::Inspection,
            note: String::new(),
            device_time: at,
            device_location: None,
            created_by: user,
            received_at: at,
            findings: Vec::new(),
            document_ids: Vec::new(),
            review: None,
        },
        site: Site {
            id: task.site_id,
            name: "command line".into(),
            address: None,
            input_lat: site.location.lat(),
            input_lon: site.location.lon(),
            datum: site.datum,
            location: site.location,
            radius_m: site.radius_m,
            timezone: against.zone,
            created_at: long_ago,
        },
        task,
        phase_started_at: None,
        device_clock_offset: None,
    }
}

impl Report {
    /// The report for a terminal: one fact per line, reasons with their numbers.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |label: &str, value: String| {
            out.push_str(&format!("{label:<13}{value}\n"));
        };
        line("sha256", self.sha256.clone());
        line("format", format!("{}, {} bytes", self.content_type, self.bytes));
        line("size", format!("{}×{} (upright)", self.width, self.height));
        let e = &self.exif;
        let or_none = |v: Option<String>| v.unwrap_or_else(|| "—".into());
        line(
            "captured",
            or_none(e.captured_at.map(|t| {
                let local = e.captured_at_local.clone().unwrap_or_default();
                let offset = e.utc_offset.clone().unwrap_or_default();
                let source = e.utc_offset_source.clone().unwrap_or_default();
                format!(
                    "{} UTC (local {local} {offset}, offset from {source})",
                    t.format("%Y-%m-%d %H:%M:%S%.3f")
                )
            })),
        );
        line(
            "gps",
            or_none(e.gps.map(|g| {
                let alt = g.alt.map(|a| format!(", altitude {a:.1} m")).unwrap_or_default();
                let error = self
                    .gps_error_m
                    .map(|m| format!(", ±{m:.0} m"))
                    .unwrap_or_default();
                format!("{:.6}, {:.6}{alt}{error}", g.lat, g.lon)
            })),
        );
        line(
            "gps time",
            or_none(
                e.gps_time
                    .map(|t| format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S"))),
            ),
        );
        line(
            "camera",
            or_none(match (&e.make, &e.model) {
                (None, None) => None,
                (make, model) => Some(
                    format!(
                        "{} {}",
                        make.as_deref().unwrap_or(""),
                        model.as_deref().unwrap_or("")
                    )
                    .trim()
                    .to_owned(),
                ),
            }),
        );
        line("software", or_none(e.software.clone()));
        line("orientation", or_none(e.orientation.map(|o| o.to_string())));
        line("phash", self.perceptual_hash.clone());
        for t in &self.thumbnails {
            line(
                "thumbnail",
                format!("{} px: {}×{}, {} bytes", t.edge, t.width, t.height, t.bytes),
            );
        }
        let mut skipped = Vec::new();
        if !self.judged.location {
            skipped.push("location (no --site)");
        }
        if !self.judged.window {
            skipped.push("time window (no --at)");
        }
        skipped.push("reuse (needs the database)");
        line("verdict", self.verification.verdict.as_str().to_owned());
        line("not judged", skipped.join(", "));
        for reason in &self.verification.reasons {
            line("  reason", describe(reason));
        }
        out
    }
}

/// `code key=value …` from the reason's JSON form, so the text and the API never disagree.
fn describe(reason: &Reason) -> String {
    let value = serde_json::to_value(reason).unwrap_or_default();
    let Some(map) = value.as_object() else {
        return String::new();
    };
    let code = map.get("code").and_then(|c| c.as_str()).unwrap_or("?");
    let details: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != "code")
        .map(|(k, v)| match v.as_str() {
            Some(s) => format!("{k}={s}"),
            None => format!("{k}={v}"),
        })
        .collect();
    format!("{code} {}", details.join(" ")).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_arguments_parse_with_defaults_and_refuse_nonsense() {
        let s: SiteArg = "39.63, 118.18".parse().unwrap();
        assert_eq!((s.datum, s.radius_m), (Datum::Wgs84, DEFAULT_RADIUS_M));
        let s: SiteArg = "39.63,118.18,GCJ02,500".parse().unwrap();
        assert_eq!((s.datum, s.radius_m), (Datum::Gcj02, 500.0));
        assert!(
            (s.location.lat() - 39.63).abs() > 1e-5,
            "GCJ-02 was not converted"
        );
        for bad in [
            "",
            "39.6",
            "91,0",
            "39,118,mars",
            "39,118,wgs84,0",
            "39,118,wgs84,NaN",
            "1,2,wgs84,5,6",
        ] {
            assert!(bad.parse::<SiteArg>().is_err(), "{bad} accepted");
        }
    }
}
