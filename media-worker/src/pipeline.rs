//! One photo through the whole pipeline, without any I/O: format, EXIF, verification and
//! thumbnails. The worker and the command line both call this.

use chrono::{DateTime, Utc};
use fieldproof_core::domain::{PhotoAnalysis, Reason, Verification};
use fieldproof_core::imageinfo;
use fieldproof_core::store::{DuplicateUse, PhotoContext};

use crate::exif;
use crate::thumbs::{self, ThumbError};
use crate::verify::{self, Tolerances};

/// Long edge of the small thumbnail, for lists and galleries.
pub const SMALL_EDGE: u32 = 256;
/// Long edge of the large thumbnail, for review.
pub const LARGE_EDGE: u32 = 1280;

/// Why a photo cannot be processed at all (as opposed to a verdict about it).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Not an accepted image format, or a broken header.
    #[error("{0}")]
    Format(#[from] imageinfo::ImageInfoError),
    /// The pixels could not be decoded or encoded.
    #[error(transparent)]
    Thumb(#[from] ThumbError),
}

/// What the pipeline produced for one photo.
pub struct Processed {
    /// Everything stored on the photo row.
    pub analysis: PhotoAnalysis,
    /// The 256 px JPEG.
    pub small: Vec<u8>,
    /// The 1280 px JPEG.
    pub large: Vec<u8>,
}

/// Inputs besides the bytes.
pub struct Inputs<'a> {
    /// Record, task and site.
    pub context: &'a PhotoContext,
    /// When the server received the photo.
    pub received_at: DateTime<Utc>,
    /// An earlier use of the same bytes, if any.
    pub duplicate: Option<DuplicateUse>,
    /// Check tolerances.
    pub tolerances: Tolerances,
    /// The decoded-pixel limit.
    pub max_pixels: u64,
    /// The decoder's memory limit in bytes.
    pub max_decode_bytes: u64,
}

/// Runs the pipeline on a whole original. CPU-bound: call it from a blocking thread.
pub fn process(bytes: &[u8], inputs: &Inputs<'_>) -> Result<Processed, PipelineError> {
    let info = imageinfo::inspect(&mut std::io::Cursor::new(bytes))?;
    let reading = exif::read(bytes, inputs.context.site.timezone);
    let upright = thumbs::decode_upright(
        bytes,
        reading.orientation(),
        inputs.max_pixels,
        inputs.max_decode_bytes,
    )?;
    let small = thumbs::thumbnail_jpeg(&upright, SMALL_EDGE)?;
    let large = thumbs::thumbnail_jpeg(&upright, LARGE_EDGE)?;
    let mut reasons = verify::reasons(&reading, inputs.context, inputs.received_at, &inputs.tolerances);
    if let Some(d) = inputs.duplicate {
        reasons.push(Reason::DuplicatePhoto {
            photo_id: d.photo_id,
            record_id: d.record_id,
            task_id: d.task_id,
        });
    }
    Ok(Processed {
        analysis: PhotoAnalysis {
            content_type: info.format.mime().to_owned(),
            width: upright.width(),
            height: upright.height(),
            exif: reading.summary,
            verification: Verification::from_reasons(reasons),
        },
        small,
        large,
    })
}
