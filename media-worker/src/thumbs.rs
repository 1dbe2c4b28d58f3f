//! Thumbnails: decode once within the pixel limit, apply the EXIF orientation, shrink to each
//! size and re-encode as JPEG, which carries no metadata and no trailing bytes.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageReader, Limits};

/// Why a photo could not be turned into thumbnails.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The pixels could not be decoded (corrupt data, unsupported variant).
    #[error("the image cannot be decoded: {0}")]
    Decode(String),
    /// The image is larger than the pixel limit.
    #[error("the image has more pixels than the limit of {0}")]
    TooLarge(u64),
    /// Encoding the thumbnail failed.
    #[error("the thumbnail cannot be encoded: {0}")]
    Encode(String),
}

/// A decoded photo, upright.
pub struct Upright {
    image: DynamicImage,
}

impl Upright {
    /// Displayed width.
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    /// Displayed height.
    pub fn height(&self) -> u32 {
        self.image.height()
    }
}

/// Decodes `bytes` within `max_pixels` and `max_alloc` bytes of decoder memory, and turns it
/// upright by EXIF `orientation` (1–8).
pub fn decode_upright(
    bytes: &[u8],
    orientation: u8,
    max_pixels: u64,
    max_alloc: u64,
) -> Result<Upright, ThumbError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ThumbError::Decode(e.to_string()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| ThumbError::Decode(e.to_string()))?;
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(ThumbError::TooLarge(max_pixels));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ThumbError::Decode(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    let mut image = reader.decode().map_err(|e| ThumbError::Decode(e.to_string()))?;
    if let Some(o) = Orientation::from_exif(orientation) {
        image.apply_orientation(o);
    }
    Ok(Upright { image })
}

/// A JPEG whose long edge is `long_edge` pixels (or the photo's own size when smaller).
pub fn thumbnail_jpeg(upright: &Upright, long_edge: u32) -> Result<Vec<u8>, ThumbError> {
    let (w, h) = (upright.image.width(), upright.image.height());
    let resized;
    let source = if w.max(h) > long_edge {
        let (tw, th) = if w >= h {
            (
                long_edge,
                ((u64::from(h) * u64::from(long_edge) + u64::from(w) / 2) / u64::from(w)).max(1) as u32,
            )
        } else {
            (
                ((u64::from(w) * u64::from(long_edge) + u64::from(h) / 2) / u64::from(h)).max(1) as u32,
                long_edge,
            )
        };
        resized = upright
            .image
            .resize_exact(tw, th, image::imageops::FilterType::Triangle);
        &resized
    } else {
        &upright.image
    };
    let rgb = source.to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(&rgb)
        .map_err(|e| ThumbError::Encode(e.to_string()))?;
    Ok(out)
}
