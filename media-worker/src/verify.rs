//! Turns what a photo says (EXIF) and what the phone said (the record) into reasons, by the
//! rules of DESIGN.md: location against the site's geofence, capture time against the record's
//! window and the upload, the GPS clock against the camera clock, and editing software.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use fieldproof_core::config::Settings;
use fieldproof_core::domain::{Reason, RecordKind};
use fieldproof_core::geodesy::GeoPoint;
use fieldproof_core::store::PhotoContext;

use crate::exif::ExifReading;

/// Tolerances of the checks, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Tolerances {
    /// How far a capture time may lie after the upload.
    pub clock_skew: Duration,
    /// How far around the inspection day a capture time may lie.
    pub inspection_window: Duration,
    /// How far the GPS clock and the camera clock may disagree.
    pub gps_time: Duration,
}

impl Tolerances {
    /// The tolerances an operator configured.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            clock_skew: Duration::seconds(settings.clock_skew_secs),
            inspection_window: Duration::minutes(settings.inspection_window_tolerance_mins),
            gps_time: Duration::seconds(settings.gps_time_tolerance_secs),
        }
    }
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            clock_skew: Duration::minutes(5),
            inspection_window: Duration::hours(2),
            gps_time: Duration::minutes(10),
        }
    }
}

/// Most a reported GPS or device-fix error may widen the geofence, in metres: the error is
/// claimed by the same file or phone being checked, so it cannot be trusted without bound.
pub const MAX_CLAIMED_ERROR_M: f64 = 100.0;

fn claimed_error(m: Option<f64>) -> f64 {
    m.filter(|e| e.is_finite() && *e > 0.0)
        .unwrap_or(0.0)
        .min(MAX_CLAIMED_ERROR_M)
}

/// Editors whose name in the `Software` tag means the file was re-saved after capture.
/// Lower-case substrings; phone firmware names never contain them.
const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "gimp",
    "paint.net",
    "affinity",
    "pixelmator",
    "snapseed",
    "picsart",
    "vsco",
    "facetune",
    "canva",
    "photoscape",
    "acdsee",
    "luminar",
    "capture one",
    "darktable",
    "meitu",
    "美图",
    "醒图",
    "美颜",
    "polarr",
    "泼辣修图",
    "photo viewer",
    "photo gallery",
    "picasa",
    "photos 1.",
    "fotor",
    "snapchat",
    "remini",
    "beautycam",
    "beautyplus",
    "hypic",
    "xingtu",
    "轻颜",
    "faceu",
    "b612",
    "wink",
    "inshot",
    "pixlr",
    "afterlight",
    "prisma",
    "lensa",
    "airbrush",
    "youcam",
    "camera360",
    "天天p图",
];

/// The time window a record's photos must be taken in.
pub fn window(ctx: &PhotoContext, tol: &Tolerances) -> (DateTime<Utc>, DateTime<Utc>) {
    match ctx.record.kind {
        RecordKind::Inspection => {
            // The inspection day, as the site's clock sees it.
            let zone = ctx.site.timezone;
            let day = ctx.record.device_time.with_timezone(&zone).date_naive();
            let start = zone
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .earliest()
                .map_or(ctx.record.device_time, |t| t.with_timezone(&Utc));
            (
                start - tol.inspection_window,
                start + Duration::days(1) + tol.inspection_window,
            )
        }
        // From the phase going live (its plan's approval, or the task's creation when the
        // supervision group set the phases) to the report's submission.
        RecordKind::Rectification => (
            ctx.phase_started_at.unwrap_or(ctx.task.created_at) - tol.clock_skew,
            ctx.record.received_at + tol.clock_skew,
        ),
    }
}

/// Every reason that applies to a photo, in a stable order.
pub fn reasons(
    reading: &ExifReading,
    ctx: &PhotoContext,
    received_at: DateTime<Utc>,
    tol: &Tolerances,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if !reading.present {
        reasons.push(Reason::NoExif);
    }
    reasons.extend(
        reading
            .problems
            .iter()
            .filter(|r| !matches!(r, Reason::NoGps))
            .cloned(),
    );
    time_reasons(reading, ctx, received_at, tol, &mut reasons);
    location_reasons(reading, ctx, &mut reasons);
    if let Some(software) = &reading.summary.software {
        let lower = software.to_lowercase();
        if EDITORS.iter().any(|e| lower.contains(e)) {
            reasons.push(Reason::EditedBySoftware {
                software: software.clone(),
            });
        }
    }
    reasons
}

fn time_reasons(
    reading: &ExifReading,
    ctx: &PhotoContext,
    received_at: DateTime<Utc>,
    tol: &Tolerances,
    reasons: &mut Vec<Reason>,
) {
    let Some(camera_time) = reading.summary.captured_at else {
        if reading.present
            && !reading
                .problems
                .iter()
                .any(|r| matches!(r, Reason::NoCaptureTime | Reason::TimeInvalid { .. }))
        {
            reasons.push(Reason::NoCaptureTime);
        }
        return;
    };
    // A phone whose clock is known to be off wrote its own wrong time into the photo: judge
    // the corrected time, and say so (the verdict cannot be better than unverifiable then).
    let captured_at = match ctx.device_clock_offset {
        Some(offset) if offset.abs() > tol.clock_skew => {
            let corrected_time = camera_time - offset;
            reasons.push(Reason::DeviceClockCorrected {
                offset_s: offset.num_seconds(),
                camera_time,
                corrected_time,
            });
            corrected_time
        }
        _ => camera_time,
    };
    if captured_at > received_at + tol.clock_skew {
        reasons.push(Reason::TimeInFuture {
            captured_at,
            received_at,
        });
    } else if captured_at < ctx.task.created_at - tol.clock_skew {
        // Evidence for a task cannot predate it: an old photo is being reused.
        reasons.push(Reason::TimeBeforeTask {
            captured_at,
            task_created_at: ctx.task.created_at,
        });
    } else {
        let (window_start, window_end) = window(ctx, tol);
        if captured_at < window_start || captured_at > window_end {
            reasons.push(Reason::TimeOutsideWindow {
                captured_at,
                window_start,
                window_end,
            });
        }
    }
    if let Some(gps_time) = reading.summary.gps_time {
        let difference = (gps_time - captured_at).abs();
        if difference > tol.gps_time {
            reasons.push(Reason::GpsTimeMismatch {
                difference_s: difference.num_seconds(),
            });
        }
    }
}

fn round_m(m: f64) -> f64 {
    (m * 10.0).round() / 10.0
}

fn location_reasons(reading: &ExifReading, ctx: &PhotoContext, reasons: &mut Vec<Reason>) {
    let site = ctx.site.location;
    let fix = ctx.record.device_location;
    let gps = reading.summary.gps.and_then(|g| GeoPoint::new(g.lat, g.lon).ok());
    match gps {
        Some(point) => {
            let distance = point.distance_m(site);
            let allowed = ctx.site.radius_m + claimed_error(reading.gps_error_m);
            if distance > allowed {
                reasons.push(Reason::OutsideSite {
                    distance_m: round_m(distance),
                    allowed_m: round_m(allowed),
                });
            }
            if let Some(fix) = fix {
                let apart = point.distance_m(fix.point);
                let allowed = ctx.site.radius_m.max(100.0)
                    + claimed_error(fix.accuracy_m)
                    + claimed_error(reading.gps_error_m);
                if apart > allowed {
                    reasons.push(Reason::DeviceLocationMismatch {
                        distance_m: round_m(apart),
                    });
                }
            }
        }
        None => {
            let gps_invalid = reading
                .problems
                .iter()
                .any(|r| matches!(r, Reason::GpsInvalid { .. }));
            match fix {
                Some(fix) => {
                    let distance = fix.point.distance_m(site);
                    let allowed = ctx.site.radius_m + claimed_error(fix.accuracy_m);
                    if distance > allowed {
                        reasons.push(Reason::OutsideSite {
                            distance_m: round_m(distance),
                            allowed_m: round_m(allowed),
                        });
                    }
                    reasons.push(Reason::DeviceFixUsed {
                        distance_m: round_m(distance),
                        allowed_m: round_m(allowed),
                    });
                }
                None if !gps_invalid => reasons.push(Reason::NoGps),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldproof_core::domain::{DeviceFix, ExifSummary, GpsFix, Record, Site, Task, TaskStatus};
    use fieldproof_core::geodesy::Datum;
    use fieldproof_core::ids::{RecordId, SiteId, TaskId, UserId};

    fn context(fix: Option<DeviceFix>) -> PhotoContext {
        let now = Utc::now();
        let site_id = SiteId::new();
        let task = Task {
            id: TaskId::new(),
            title: "t".into(),
            description: None,
            site_id,
            due_at: now + Duration::days(9),
            status: TaskStatus::InProgress,
            created_by: UserId::new(),
            created_at: now - Duration::hours(1),
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
                device_time: now,
                device_location: fix,
                created_by: task.created_by,
                received_at: now,
                findings: Vec::new(),
                document_ids: Vec::new(),
                review: None,
            },
            site: Site {
                id: site_id,
                name: "s".into(),
                address: None,
                input_lat: 39.6,
                input_lon: 118.2,
                datum: Datum::Wgs84,
                location: GeoPoint::new(39.6, 118.2).unwrap(),
                radius_m: 300.0,
                timezone: chrono_tz::Asia::Shanghai,
                created_at: now,
            },
            task,
            phase_started_at: None,
            device_clock_offset: None,
        }
    }

    fn reading(gps: Option<(f64, f64)>, gps_error_m: Option<f64>) -> ExifReading {
        ExifReading {
            present: true,
            summary: ExifSummary {
                captured_at: Some(Utc::now()),
                gps: gps.map(|(lat, lon)| GpsFix { lat, lon, alt: None }),
                ..ExifSummary::default()
            },
            gps_error_m,
            problems: vec![],
        }
    }

    #[test]
    fn a_huge_claimed_gps_error_cannot_stretch_the_geofence() {
        let r = reasons(
            &reading(Some((45.0, 118.2)), Some(1e6)),
            &context(None),
            Utc::now(),
            &Tolerances::default(),
        );
        assert!(
            matches!(r.as_slice(), [Reason::OutsideSite { allowed_m, .. }] if *allowed_m == 400.0),
            "{r:?}"
        );
    }

    #[test]
    fn a_device_fix_alone_never_verifies() {
        let fix = DeviceFix {
            point: GeoPoint::new(39.6, 118.2).unwrap(),
            accuracy_m: Some(1e9),
        };
        let r = reasons(
            &reading(None, None),
            &context(Some(fix)),
            Utc::now(),
            &Tolerances::default(),
        );
        assert!(
            matches!(r.as_slice(), [Reason::DeviceFixUsed { allowed_m, .. }] if *allowed_m == 400.0),
            "{r:?}"
        );
        assert_eq!(
            fieldproof_core::domain::Verification::from_reasons(r).verdict,
            fieldproof_core::domain::Verdict::Unverifiable
        );
    }

    #[test]
    fn a_rectification_photo_from_before_its_phase_went_live_is_outside_the_window() {
        let mut ctx = context(None);
        ctx.record.kind = RecordKind::Rectification;
        ctx.phase_started_at = Some(Utc::now() - Duration::minutes(30));
        let mut early = reading(Some((39.6, 118.2)), None);
        early.summary.captured_at = Some(Utc::now() - Duration::minutes(50));
        let r = reasons(&early, &ctx, Utc::now(), &Tolerances::default());
        assert!(
            matches!(r.as_slice(), [Reason::TimeOutsideWindow { .. }]),
            "{r:?}"
        );
        early.summary.captured_at = Some(Utc::now() - Duration::minutes(20));
        assert!(reasons(&early, &ctx, Utc::now(), &Tolerances::default()).is_empty());
    }

    #[test]
    fn a_photo_older_than_its_task_is_reuse() {
        let mut old = reading(Some((39.6, 118.2)), None);
        old.summary.captured_at = Some(Utc::now() - Duration::days(400));
        let r = reasons(&old, &context(None), Utc::now(), &Tolerances::default());
        assert!(matches!(r.as_slice(), [Reason::TimeBeforeTask { .. }]), "{r:?}");
    }

    #[test]
    fn a_phone_clock_known_to_be_off_is_corrected_and_said() {
        let two_hours = Duration::hours(2);
        let mut ahead = reading(Some((39.6, 118.2)), None);
        // The phone runs two hours fast: its camera wrote a time two hours in the future.
        ahead.summary.captured_at = Some(Utc::now() + two_hours);
        let r = reasons(&ahead, &context(None), Utc::now(), &Tolerances::default());
        assert!(matches!(r.as_slice(), [Reason::TimeInFuture { .. }]), "{r:?}");
        let mut ctx = context(None);
        ctx.device_clock_offset = Some(two_hours);
        let r = reasons(&ahead, &ctx, Utc::now(), &Tolerances::default());
        assert!(
            matches!(
                r.as_slice(),
                [Reason::DeviceClockCorrected { offset_s: 7200, .. }]
            ),
            "{r:?}"
        );
        assert_eq!(
            fieldproof_core::domain::Verification::from_reasons(r).verdict,
            fieldproof_core::domain::Verdict::Unverifiable
        );
        // Within the tolerance nothing is corrected.
        ctx.device_clock_offset = Some(Duration::seconds(30));
        ahead.summary.captured_at = Some(Utc::now());
        assert!(reasons(&ahead, &ctx, Utc::now(), &Tolerances::default()).is_empty());
    }
}
