//! Thumbnails from one decode: SIMD resampling (fast_image_resize) from the reduced-scale
//! pixels, colour into sRGB, all eight EXIF orientations, and a fresh JPEG or WebP file that
//! carries no metadata and no trailing bytes.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use fieldproof_core::config::ThumbFormat;
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

use crate::colour;
use crate::decode::Decoded;

/// Why a thumbnail could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The pixels do not form an image (a decoder bug or a zero-sized image).
    #[error("the decoded pixels are unusable: {0}")]
    Pixels(String),
    /// Encoding the thumbnail failed.
    #[error("the thumbnail cannot be encoded: {0}")]
    Encode(String),
}

/// Encoder quality, 0–100, for both formats.
const QUALITY: u8 = 82;

/// One finished thumbnail.
pub struct Thumbnail {
    /// Long edge asked for.
    pub edge: u32,
    /// The upright pixels, in sRGB (the perceptual hash reads the smallest).
    pub image: RgbImage,
    /// The encoded file.
    pub bytes: Vec<u8>,
}

/// Size of the stored image scaled so that its long edge is `edge` (never enlarged).
fn fit(width: u32, height: u32, edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= edge {
        return (width, height);
    }
    let scale =
        |v: u32| ((u64::from(v) * u64::from(edge) + u64::from(long) / 2) / u64::from(long)).max(1) as u32;
    (scale(width), scale(height))
}

/// Memory the thumbnails of a `largest_edge` need at their peak: the resampled pixels, the
/// turned copy and the encoder's buffers.
pub fn memory_needed(largest_edge: u32) -> u64 {
    u64::from(largest_edge) * u64::from(largest_edge) * 3 * 4
}

/// Makes one thumbnail per `edges` (any order) from `decoded`, turned upright by EXIF
/// `orientation` (1–8; pass 1 when the decoder already turned the image).
pub fn make(
    decoded: &Decoded,
    orientation: u8,
    edges: &[u32],
    format: ThumbFormat,
) -> Result<Vec<Thumbnail>, ThumbError> {
    let pixels = |e: fast_image_resize::ImageBufferError| ThumbError::Pixels(e.to_string());
    let source =
        ImageRef::new(decoded.width, decoded.height, &decoded.rgb, PixelType::U8x3).map_err(pixels)?;
    // Each size is taken from the next larger one: resampling 1280 px down to 256 px costs
    // almost nothing next to resampling the decode again, and looks the same.
    let mut order: Vec<u32> = edges.to_vec();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let mut resizer = Resizer::new();
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    let mut made: Vec<(u32, Image<'static>)> = Vec::with_capacity(order.len());
    for &edge in &order {
        let (w, h) = fit(decoded.full_width, decoded.full_height, edge);
        let (w, h) = (w.min(decoded.width).max(1), h.min(decoded.height).max(1));
        let mut target = Image::new(w, h, PixelType::U8x3);
        let resized = match made.last() {
            Some((_, larger)) => resizer.resize(larger, &mut target, &options),
            None => resizer.resize(&source, &mut target, &options),
        };
        resized.map_err(|e| ThumbError::Pixels(e.to_string()))?;
        made.push((edge, target));
    }
    let mut thumbnails = Vec::with_capacity(made.len());
    for (edge, resized) in made {
        let (w, h) = (resized.width(), resized.height());
        let mut rgb = resized.into_vec();
        if let Some(icc) = &decoded.icc {
            colour::rgb_to_srgb(&mut rgb, icc);
        }
        let image = upright(
            RgbImage::from_raw(w, h, rgb).ok_or_else(|| ThumbError::Pixels("short buffer".into()))?,
            orientation,
        );
        let bytes = encode(&image, format)?;
        thumbnails.push(Thumbnail { edge, image, bytes });
    }
    thumbnails.sort_by_key(|t| edges.iter().position(|e| *e == t.edge));
    Ok(thumbnails)
}

fn upright(image: RgbImage, orientation: u8) -> RgbImage {
    match Orientation::from_exif(orientation) {
        Some(Orientation::NoTransforms) | None => image,
        Some(o) => {
            let mut dynamic = DynamicImage::ImageRgb8(image);
            dynamic.apply_orientation(o);
            dynamic.into_rgb8()
        }
    }
}

/// Encodes upright sRGB pixels as a thumbnail file.
pub fn encode(image: &RgbImage, format: ThumbFormat) -> Result<Vec<u8>, ThumbError> {
    let (w, h) = (image.width(), image.height());
    match format {
        ThumbFormat::Jpeg => {
            let width = w as usize;
            turbojpeg::compress(
                turbojpeg::Image {
                    pixels: image.as_raw().as_slice(),
                    width,
                    pitch: width * 3,
                    height: h as usize,
                    format: turbojpeg::PixelFormat::RGB,
                },
                i32::from(QUALITY),
                turbojpeg::Subsamp::Sub2x2,
            )
            .map(|buf| buf.to_vec())
            .map_err(|e| ThumbError::Encode(e.to_string()))
        }
        ThumbFormat::Webp => Ok(webp::Encoder::from_rgb(image.as_raw(), w, h)
            .encode(f32::from(QUALITY))
            .to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_the_aspect_and_never_enlarges() {
        assert_eq!(fit(4000, 3000, 1280), (1280, 960));
        assert_eq!(fit(3000, 4000, 256), (192, 256));
        assert_eq!(fit(100, 50, 256), (100, 50));
        assert_eq!(fit(60000, 1, 256), (256, 1));
    }
}
