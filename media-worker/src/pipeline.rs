//! One photo through the whole pipeline, without any I/O. [`analyse`] is the CPU work on the
//! bytes (SHA-256, format, EXIF, one reduced-scale decode, the thumbnails and the perceptual
//! hash); [`conclude`] turns that and what the store knows into the verdict. The worker and
//! `fieldproof inspect-photo` both call these two.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fieldproof_core::config::ThumbFormat;
use fieldproof_core::domain::{PhotoAnalysis, Reason, Task, Verification};
use fieldproof_core::ids::{PhotoId, RecordId, TaskId};
use fieldproof_core::imageinfo::{self, ImageInfo};
use fieldproof_core::store::{DuplicateUse, PhotoContext};
use sha2::{Digest, Sha256};

use crate::decode::{self, DecodeError, DecodeLimits};
use crate::exif::{self, ExifReading};
use crate::phash;
use crate::thumbs::{self, ThumbError, Thumbnail};
use crate::verify::{self, Tolerances};

/// Long edge of the small thumbnail, for lists and galleries.
pub const SMALL_EDGE: u32 = 256;
/// Long edge of the large thumbnail, for review.
pub const LARGE_EDGE: u32 = 1280;

/// Why a photo cannot be processed at all (as opposed to a verdict about it).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Not an accepted image format, or a broken header.
    #[error(transparent)]
    Format(#[from] imageinfo::ImageInfoError),
    /// The pixels could not be decoded within the limits.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The thumbnails could not be made.
    #[error(transparent)]
    Thumb(#[from] ThumbError),
}

/// How to analyse: limits and output.
#[derive(Debug, Clone)]
pub struct Options {
    /// Decode limits.
    pub limits: DecodeLimits,
    /// Long edges of the thumbnails to make (at least one).
    pub edges: Vec<u32>,
    /// Their file format.
    pub format: ThumbFormat,
}

/// What the bytes alone say about a photo.
pub struct Analysed {
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Format and stored size.
    pub info: ImageInfo,
    /// What EXIF says.
    pub reading: ExifReading,
    /// Displayed width (after orientation).
    pub width: u32,
    /// Displayed height.
    pub height: u32,
    /// One thumbnail per asked edge, in the order asked.
    pub thumbnails: Vec<Thumbnail>,
    /// Perceptual hash of the upright image.
    pub perceptual_hash: u64,
}

/// Memory one analysis of `bytes` needs, in bytes, from the headers alone: the decode at the
/// largest edge asked for, the thumbnails, and the original itself.
pub fn memory_needed(bytes: &[u8], largest_edge: u32) -> u64 {
    let original = bytes.len() as u64;
    match imageinfo::inspect(&mut std::io::Cursor::new(bytes)) {
        Ok(info) => {
            original + decode::memory_needed(bytes, &info, largest_edge) + thumbs::memory_needed(largest_edge)
        }
        Err(_) => original,
    }
}

/// Runs the CPU part on a whole original. CPU-bound: call it from a blocking thread.
pub fn analyse(bytes: &[u8], zone: Tz, options: &Options) -> Result<Analysed, PipelineError> {
    // The digest reads the whole file while the decoder works on it: on a second core it is
    // free, and on a busy machine it costs what it would have cost anyway.
    std::thread::scope(|scope| {
        let digest = scope.spawn(|| hex::encode(Sha256::digest(bytes)));
        let sha256 = move || {
            digest
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        analyse_pixels(bytes, zone, options, sha256)
    })
}

fn analyse_pixels(
    bytes: &[u8],
    zone: Tz,
    options: &Options,
    sha256: impl FnOnce() -> String,
) -> Result<Analysed, PipelineError> {
    let info = imageinfo::inspect(&mut std::io::Cursor::new(bytes))?;
    decode::check_pixels(u64::from(info.width), u64::from(info.height), options.limits)?;
    let reading = exif::read(bytes, zone);
    let largest = options.edges.iter().copied().max().unwrap_or(LARGE_EDGE);
    let decoded = decode::decode(bytes, info.format, largest, options.limits)?;
    let orientation = if decoded.upright { 1 } else { reading.orientation() };
    let (width, height) = if orientation >= 5 {
        (decoded.full_height, decoded.full_width)
    } else {
        (decoded.full_width, decoded.full_height)
    };
    let thumbnails = thumbs::make(&decoded, orientation, &options.edges, options.format)?;
    drop(decoded);
    let smallest = thumbnails
        .iter()
        .min_by_key(|t| t.edge)
        .ok_or_else(|| ThumbError::Pixels("no thumbnail size asked for".into()))?;
    let perceptual_hash = phash::dhash(&smallest.image);
    Ok(Analysed {
        sha256: sha256(),
        info,
        reading,
        width,
        height,
        thumbnails,
        perceptual_hash,
    })
}

/// What the store knows about where the photo belongs and where it was seen before.
pub struct Inputs<'a> {
    /// Record, task, phase start and site.
    pub context: &'a PhotoContext,
    /// When the server received the photo.
    pub received_at: DateTime<Utc>,
    /// An earlier use of the same bytes, if any.
    pub duplicate: Option<Sighting>,
    /// The earliest near-identical photo in another record, with the distance in bits.
    pub similar: Option<(Sighting, u32)>,
    /// Check tolerances.
    pub tolerances: Tolerances,
}

/// An earlier use of a photo, as far as the readers of this photo may know it.
#[derive(Debug, Clone, Copy)]
pub enum Sighting {
    /// In a task with the same readers (same group and agency): named.
    Known(DuplicateUse),
    /// In another organisation's task: flagged, but not named.
    Elsewhere,
}

impl Sighting {
    /// Names `earlier` only when its task has the readers of `context`'s task.
    pub fn of(earlier: DuplicateUse, earlier_task: Option<&Task>, context: &PhotoContext) -> Self {
        match earlier_task {
            Some(t) if t.group_id == context.task.group_id && t.agency_id == context.task.agency_id => {
                Sighting::Known(earlier)
            }
            _ => Sighting::Elsewhere,
        }
    }

    fn ids(self) -> (Option<PhotoId>, Option<RecordId>, Option<TaskId>, bool) {
        match self {
            Sighting::Known(d) => (Some(d.photo_id), Some(d.record_id), Some(d.task_id), false),
            Sighting::Elsewhere => (None, None, None, true),
        }
    }
}

/// The verdict and everything stored on the photo row.
pub fn conclude(analysed: &Analysed, inputs: &Inputs<'_>) -> PhotoAnalysis {
    let mut reasons = verify::reasons(
        &analysed.reading,
        inputs.context,
        inputs.received_at,
        &inputs.tolerances,
    );
    if let Some(d) = inputs.duplicate {
        let (photo_id, record_id, task_id, elsewhere) = d.ids();
        reasons.push(Reason::DuplicatePhoto {
            photo_id,
            record_id,
            task_id,
            elsewhere,
        });
    } else if let Some((s, distance)) = inputs.similar {
        let (photo_id, record_id, task_id, elsewhere) = s.ids();
        reasons.push(Reason::SimilarPhoto {
            photo_id,
            record_id,
            task_id,
            elsewhere,
            distance,
        });
    }
    PhotoAnalysis {
        content_type: analysed.info.format.mime().to_owned(),
        width: analysed.width,
        height: analysed.height,
        exif: analysed.reading.summary.clone(),
        verification: Verification::from_reasons(reasons),
        perceptual_hash: Some(analysed.perceptual_hash),
    }
}
