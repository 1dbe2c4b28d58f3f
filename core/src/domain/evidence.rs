//! Photo evidence: processing state, what EXIF says, and the verdict with its reasons.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{PhotoId, RecordId, TaskId};

/// Where a photo is in the pipeline; the photo row is its own job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoStatus {
    /// Stored and queued.
    Received,
    /// Leased by a worker.
    Processing,
    /// Verified and thumbnailed.
    Done,
    /// Could not be processed; `last_error` says why.
    Failed,
}

impl PhotoStatus {
    /// The stable name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoStatus::Received => "received",
            PhotoStatus::Processing => "processing",
            PhotoStatus::Done => "done",
            PhotoStatus::Failed => "failed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "received" => Some(PhotoStatus::Received),
            "processing" => Some(PhotoStatus::Processing),
            "done" => Some(PhotoStatus::Done),
            "failed" => Some(PhotoStatus::Failed),
            _ => None,
        }
    }
}

/// A GPS position read from EXIF (always WGS-84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsFix {
    /// Latitude, north positive.
    pub lat: f64,
    /// Longitude, east positive.
    pub lon: f64,
    /// Altitude in metres above sea level, negative below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<f64>,
}

/// The allowlisted EXIF fields kept for a photo (never the whole EXIF block).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExifSummary {
    /// Capture time in UTC.
    pub captured_at: Option<DateTime<Utc>>,
    /// Capture time as the camera wrote it, local and without zone.
    pub captured_at_local: Option<String>,
    /// The UTC offset used: from `OffsetTimeOriginal`, or the site's time zone.
    pub utc_offset: Option<String>,
    /// `exif` when the offset came from the photo, `site_timezone` otherwise.
    pub utc_offset_source: Option<String>,
    /// Position.
    pub gps: Option<GpsFix>,
    /// The GPS receiver's UTC time stamp.
    pub gps_time: Option<DateTime<Utc>>,
    /// EXIF orientation 1–8; anything else is treated as 1.
    pub orientation: Option<u16>,
    /// Camera maker.
    pub make: Option<String>,
    /// Camera model.
    pub model: Option<String>,
    /// The software that last wrote the file.
    pub software: Option<String>,
}

/// The conclusion reviewers see next to a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Time and place check out.
    Verified,
    /// Something contradicts the claim.
    Suspicious,
    /// The photo carries too little to check.
    Unverifiable,
}

impl Verdict {
    /// The stable name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Suspicious => "suspicious",
            Verdict::Unverifiable => "unverifiable",
        }
    }
}

/// One machine-readable reason with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// The file carries no EXIF at all.
    NoExif,
    /// The EXIF block is present but could not be parsed.
    ExifInvalid {
        /// What the parser reported.
        detail: String,
    },
    /// No `DateTimeOriginal`.
    NoCaptureTime,
    /// `DateTimeOriginal` is present but not a real time (e.g. `0000:00:00 00:00:00`).
    TimeInvalid {
        /// The raw value, truncated.
        value: String,
    },
    /// No GPS position in the photo.
    NoGps,
    /// GPS values that cannot be a position (lat 213°, missing refs).
    GpsInvalid {
        /// What is wrong.
        detail: String,
    },
    /// The photo's position is farther from the site than allowed.
    OutsideSite {
        /// Geodesic distance to the site, metres.
        distance_m: f64,
        /// Site radius plus reported GPS error, metres.
        allowed_m: f64,
    },
    /// The capture time falls outside the record's window.
    TimeOutsideWindow {
        /// Capture time.
        captured_at: DateTime<Utc>,
        /// Window start.
        window_start: DateTime<Utc>,
        /// Window end.
        window_end: DateTime<Utc>,
    },
    /// The capture time lies after the upload.
    TimeInFuture {
        /// Capture time.
        captured_at: DateTime<Utc>,
        /// When the server received the photo.
        received_at: DateTime<Utc>,
    },
    /// The capture time lies before the task was opened (an old photo reused).
    TimeBeforeTask {
        /// Capture time.
        captured_at: DateTime<Utc>,
        /// When the task was opened.
        task_created_at: DateTime<Utc>,
    },
    /// The GPS clock and the camera clock disagree.
    GpsTimeMismatch {
        /// Absolute difference in seconds.
        difference_s: i64,
    },
    /// The photo has no GPS; the phone's own fix was checked instead. That is weaker evidence,
    /// so such a photo is at best unverifiable.
    DeviceFixUsed {
        /// Distance from the device fix to the site, metres.
        distance_m: f64,
        /// Allowed distance, metres.
        allowed_m: f64,
    },
    /// The photo's GPS is far from the phone's own fix.
    DeviceLocationMismatch {
        /// Distance between the two, metres.
        distance_m: f64,
    },
    /// The `Software` tag names an image editor.
    EditedBySoftware {
        /// The tag's value.
        software: String,
    },
    /// The phone's clock was off by more than the tolerance when it uploaded the photo, so
    /// the camera's time was corrected by that offset before it was judged.
    DeviceClockCorrected {
        /// How far the phone's clock ran ahead of the server's, in seconds (negative: behind).
        offset_s: i64,
        /// The capture time as the camera wrote it.
        camera_time: DateTime<Utc>,
        /// The capture time after the correction, which the time checks used.
        corrected_time: DateTime<Utc>,
    },
    /// The same bytes are already evidence elsewhere. The ids are left out when the earlier
    /// use belongs to tasks with other readers (another organisation's), which the readers of
    /// this photo may not see.
    DuplicatePhoto {
        /// The earlier photo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        photo_id: Option<PhotoId>,
        /// Its record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record_id: Option<RecordId>,
        /// Its task.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_id: Option<TaskId>,
        /// The earlier use is in another organisation's task (so no ids are given).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        elsewhere: bool,
    },
    /// A photo that looks the same (perceptual hash within the threshold) is already evidence
    /// in another record: the same scene re-shot, or the old photo re-saved or resized. Ids as
    /// for [`Reason::DuplicatePhoto`].
    SimilarPhoto {
        /// The earlier photo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        photo_id: Option<PhotoId>,
        /// Its record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record_id: Option<RecordId>,
        /// Its task.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_id: Option<TaskId>,
        /// The earlier use is in another organisation's task (so no ids are given).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        elsewhere: bool,
        /// Bits of the 64-bit hashes that differ.
        distance: u32,
    },
}

impl Reason {
    /// Whether this reason contradicts the claim (suspicious) rather than only weakening it.
    pub fn is_suspicious(&self) -> bool {
        matches!(
            self,
            Reason::OutsideSite { .. }
                | Reason::TimeOutsideWindow { .. }
                | Reason::TimeInFuture { .. }
                | Reason::TimeBeforeTask { .. }
                | Reason::GpsTimeMismatch { .. }
                | Reason::DeviceLocationMismatch { .. }
                | Reason::EditedBySoftware { .. }
                | Reason::DuplicatePhoto { .. }
                | Reason::SimilarPhoto { .. }
        )
    }
}

/// The verdict and every reason behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The conclusion.
    pub verdict: Verdict,
    /// Why, with numbers.
    pub reasons: Vec<Reason>,
}

impl Verification {
    /// Derives the verdict from the reasons: any contradiction is suspicious, any missing or
    /// weaker evidence (such as the phone's own fix instead of photo GPS) unverifiable, and only
    /// a photo without any reason is verified.
    pub fn from_reasons(reasons: Vec<Reason>) -> Self {
        let verdict = if reasons.iter().any(Reason::is_suspicious) {
            Verdict::Suspicious
        } else if !reasons.is_empty() {
            Verdict::Unverifiable
        } else {
            Verdict::Verified
        };
        Self { verdict, reasons }
    }
}

/// Everything the pipeline learned about one photo, written back in one step.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoAnalysis {
    /// Detected MIME type.
    pub content_type: String,
    /// Displayed width (after orientation).
    pub width: u32,
    /// Displayed height (after orientation).
    pub height: u32,
    /// Allowlisted EXIF fields.
    pub exif: ExifSummary,
    /// The verdict.
    pub verification: Verification,
    /// The 64-bit perceptual hash of the upright image, for `similar_photo` lookups.
    pub perceptual_hash: Option<u64>,
}

/// Longest file name kept for a photo.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// A file name a phone gave for a photo, as it is kept: its last path segment, without control
/// characters, at most [`MAX_FILE_NAME_CHARS`]; `None` when nothing is left. Bidirectional
/// overrides are kept so that a reviewer can be shown that the name tries to disguise itself.
pub fn clean_file_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let name: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod file_name_tests {
    use super::clean_file_name;

    #[test]
    fn names_lose_paths_and_control_characters_but_not_overrides() {
        assert_eq!(
            clean_file_name("C:\\DCIM\\IMG_0001.JPG").as_deref(),
            Some("IMG_0001.JPG")
        );
        assert_eq!(clean_file_name("a\u{0}b\r\n.jpg").as_deref(), Some("ab.jpg"));
        assert_eq!(
            clean_file_name("x\u{202e}gpj.exe").as_deref(),
            Some("x\u{202e}gpj.exe")
        );
        assert_eq!(clean_file_name("../"), None);
        assert_eq!(
            clean_file_name(&"長".repeat(300)).map(|n| n.chars().count()),
            Some(255)
        );
    }
}
