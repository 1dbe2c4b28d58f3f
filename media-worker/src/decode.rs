//! Decodes a photo at the smallest scale its thumbnails allow, within a pixel and a memory
//! limit: JPEG through libjpeg-turbo's DCT scaling (the entropy decode is the only full-size
//! work), HEIC/HEIF through libheif, PNG and WebP through the `image` crate.

use std::io::Cursor;

use fieldproof_core::imageinfo::{ImageFormat, ImageInfo};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use turbojpeg::{Colorspace, DecompressHeader, Decompressor, PixelFormat, ScalingFactor, Subsamp};

use crate::colour;

/// Why pixels could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Corrupt data, or a variant the decoder does not handle (12-bit JPEG, say).
    #[error("the image cannot be decoded: {0}")]
    Decode(String),
    /// More pixels than the limit.
    #[error("the image has {pixels} pixels, more than the limit of {limit}")]
    TooLarge {
        /// Declared pixels.
        pixels: u64,
        /// The configured limit.
        limit: u64,
    },
    /// Decoding would need more memory than one photo may use.
    #[error("decoding needs about {needed_mib} MiB, more than the limit of {limit_mib} MiB")]
    NeedsTooMuchMemory {
        /// Estimated need.
        needed_mib: u64,
        /// The configured limit.
        limit_mib: u64,
    },
}

/// Limits on one decode.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest image, in pixels.
    pub max_pixels: u64,
    /// Most memory the decoder may use, in bytes.
    pub max_bytes: u64,
}

/// Pixels at reduced scale, as stored (not yet turned upright).
pub struct Decoded {
    /// Interleaved RGB, 8 bits per channel, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// Decoded width.
    pub width: u32,
    /// Decoded height.
    pub height: u32,
    /// The full stored width.
    pub full_width: u32,
    /// The full stored height.
    pub full_height: u32,
    /// Whether the decoder already turned the image upright (HEIF carries its rotation in the
    /// container and libheif applies it; the EXIF tag must then be ignored).
    pub upright: bool,
    /// The embedded ICC profile of an RGB image, to be converted to sRGB.
    pub icc: Option<Vec<u8>>,
}

/// Bytes per pixel a full-size decode of PNG, WebP or HEIF holds at its peak: the decoder's
/// own planes, an RGB(A) image and the 8-bit copy.
const FULL_DECODE_BYTES_PER_PIXEL: u64 = 10;

/// What decoding this photo for a `min_edge` thumbnail will need, in bytes, read from the
/// header alone: the worker reserves it from its memory budget before decoding.
pub fn memory_needed(bytes: &[u8], info: &ImageInfo, min_edge: u32) -> u64 {
    let full = info.pixels() * FULL_DECODE_BYTES_PER_PIXEL;
    match info.format {
        ImageFormat::Jpeg => Decompressor::new()
            .and_then(|mut d| d.read_header(bytes))
            .map_or(full, |header| jpeg_memory(&header, min_edge)),
        ImageFormat::Png | ImageFormat::Webp | ImageFormat::Heif => full,
    }
}

/// Decodes `bytes` of `format` so that the long edge is at least `min_edge` where the decoder
/// can scale, else at full size.
pub fn decode(
    bytes: &[u8],
    format: ImageFormat,
    min_edge: u32,
    limits: DecodeLimits,
) -> Result<Decoded, DecodeError> {
    match format {
        ImageFormat::Jpeg => jpeg(bytes, min_edge, limits),
        ImageFormat::Heif => heif(bytes, limits),
        ImageFormat::Png | ImageFormat::Webp => generic(bytes, limits),
    }
}

/// Refuses a declared size above the pixel limit, before any decoder allocates for it.
pub fn check_pixels(width: u64, height: u64, limits: DecodeLimits) -> Result<(), DecodeError> {
    let pixels = width * height;
    if pixels > limits.max_pixels {
        return Err(DecodeError::TooLarge {
            pixels,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

fn check_memory(needed: u64, limits: DecodeLimits) -> Result<(), DecodeError> {
    if needed > limits.max_bytes {
        return Err(DecodeError::NeedsTooMuchMemory {
            needed_mib: needed.div_ceil(1 << 20),
            limit_mib: limits.max_bytes >> 20,
        });
    }
    Ok(())
}

/// The smallest `n/8` that keeps the long edge at or above `min_edge`.
fn scaling_for(width: u32, height: u32, min_edge: u32) -> ScalingFactor {
    let long = u64::from(width.max(height));
    (1..=8)
        .map(|n| ScalingFactor::new(n, 8))
        .find(|f| scaled(u32::try_from(long).unwrap_or(u32::MAX), *f) >= u64::from(min_edge))
        .unwrap_or(ScalingFactor::ONE)
}

fn scaled(dimension: u32, factor: ScalingFactor) -> u64 {
    factor.scale(dimension as usize) as u64
}

/// Stops a hostile progressive JPEG with thousands of tiny scans (libjpeg-turbo's advice).
const MAX_SCANS: u32 = 500;

fn jpeg(bytes: &[u8], min_edge: u32, limits: DecodeLimits) -> Result<Decoded, DecodeError> {
    let fail = |e: turbojpeg::Error| DecodeError::Decode(e.to_string());
    let mut decompressor = Decompressor::new().map_err(fail)?;
    let header = decompressor.read_header(bytes).map_err(fail)?;
    let (width, height) = (dimension(header.width)?, dimension(header.height)?);
    check_pixels(u64::from(width), u64::from(height), limits)?;
    check_memory(jpeg_memory(&header, min_edge), limits)?;
    let factor = if header.is_lossless {
        ScalingFactor::ONE
    } else {
        scaling_for(width, height, min_edge)
    };
    decompressor.set_scaling_factor(factor).map_err(fail)?;
    decompressor.set_scan_limit(MAX_SCANS).map_err(fail)?;
    let out = header.scaled(factor);
    let cmyk = matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK);
    let format = if cmyk { PixelFormat::CMYK } else { PixelFormat::RGB };
    let mut pixels = vec![0u8; out.width * out.height * format.size()];
    decompressor
        .decompress(
            bytes,
            turbojpeg::Image {
                pixels: pixels.as_mut_slice(),
                width: out.width,
                pitch: out.width * format.size(),
                height: out.height,
                format,
            },
        )
        .map_err(fail)?;
    let icc = colour::jpeg_icc(bytes);
    let (rgb, icc) = if cmyk {
        (colour::cmyk_to_srgb(&pixels, icc.as_deref()), None)
    } else {
        (pixels, icc)
    };
    Ok(Decoded {
        rgb,
        width: dimension(out.width)?,
        height: dimension(out.height)?,
        full_width: width,
        full_height: height,
        upright: false,
        icc,
    })
}

fn jpeg_memory(header: &DecompressHeader, min_edge: u32) -> u64 {
    let (w, h) = (header.width as u64, header.height as u64);
    let factor = scaling_for(
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
        min_edge,
    );
    let out = factor.scale(header.width) as u64 * factor.scale(header.height) as u64 * 4;
    if !header.is_progressive {
        return out;
    }
    let chroma = match header.subsamp {
        Subsamp::Gray => 0.0,
        Subsamp::Sub2x2 => 0.5,
        Subsamp::Sub2x1 | Subsamp::Sub1x2 => 1.0,
        Subsamp::Sub4x1 | Subsamp::Sub1x4 => 0.5,
        _ => 2.0,
    };
    let components = if matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        4.0
    } else {
        1.0 + chroma
    };
    out + (w as f64 * h as f64 * components * 2.0) as u64
}

fn dimension(v: usize) -> Result<u32, DecodeError> {
    u32::try_from(v).map_err(|_| DecodeError::Decode("dimension out of range".into()))
}

fn heif(bytes: &[u8], limits: DecodeLimits) -> Result<Decoded, DecodeError> {
    use libheif_rs::{ColorSpace, HeifContext, RgbChroma};
    let fail = |e: libheif_rs::HeifError| DecodeError::Decode(e.to_string());
    let patched = without_metadata_links(bytes);
    let context = HeifContext::read_from_bytes(patched.as_deref().unwrap_or(bytes)).map_err(fail)?;
    let handle = context.primary_image_handle().map_err(fail)?;
    let (width, height) = (handle.width(), handle.height());
    check_pixels(u64::from(width), u64::from(height), limits)?;
    check_memory(
        u64::from(width) * u64::from(height) * FULL_DECODE_BYTES_PER_PIXEL,
        limits,
    )?;
    let icc = handle.color_profile_raw().map(|p| p.data);
    let image = handle
        .decode(ColorSpace::Rgb(RgbChroma::Rgb), None)
        .map_err(fail)?;
    let plane = image
        .planes()
        .interleaved
        .ok_or_else(|| DecodeError::Decode("libheif returned no interleaved plane".into()))?;
    let (w, h) = (plane.width as usize, plane.height as usize);
    if plane.storage_bits_per_pixel != 24 || plane.stride < w * 3 {
        return Err(DecodeError::Decode("unexpected HEIF pixel layout".into()));
    }
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in plane.data.chunks(plane.stride).take(h) {
        rgb.extend_from_slice(
            row.get(..w * 3)
                .ok_or_else(|| DecodeError::Decode("short HEIF row".into()))?,
        );
    }
    Ok(Decoded {
        rgb,
        width: plane.width,
        height: plane.height,
        full_width: width,
        full_height: height,
        upright: true,
        icc,
    })
}

/// The boxes in `data` as (type, offset of the body, end), for a walk over ISO media boxes.
fn iso_boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], usize, usize)> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let head = data.get(at..at.checked_add(8)?)?;
        let kind = [head[4], head[5], head[6], head[7]];
        let (header, len) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
            0 => (8, data.len() - at),
            1 => {
                let large = data.get(at + 8..at + 16)?;
                (
                    16,
                    usize::try_from(u64::from_be_bytes(large.try_into().ok()?)).ok()?,
                )
            }
            n => (8, usize::try_from(n).ok()?),
        };
        let end = at.checked_add(len)?;
        if len < header || end > data.len() {
            return None;
        }
        let item = (kind, at + header, end);
        at = end;
        Some(item)
    })
}

/// A copy of a HEIF file whose metadata links (`cdsc` item references) are renamed to a type
/// libheif ignores, or `None` when there are none. libheif 1.15 (Debian 12's) refuses a file
/// whose EXIF also describes an item type it does not know, as iOS 26 does with its HDR gain
/// map (`tmap`); EXIF is read from the original bytes by our own reader, so nothing is lost.
/// Box sizes do not change, so every offset in the file stays valid.
fn without_metadata_links(bytes: &[u8]) -> Option<Vec<u8>> {
    let (_, meta_body, meta_end) = iso_boxes(bytes).find(|(kind, ..)| kind == b"meta")?;
    // `meta` and `iref` are full boxes: four bytes of version and flags first.
    let meta = bytes.get(meta_body + 4..meta_end)?;
    let (_, iref_body, iref_end) = iso_boxes(meta).find(|(kind, ..)| kind == b"iref")?;
    let iref_at = meta_body + 4 + iref_body + 4;
    let links: Vec<usize> = iso_boxes(bytes.get(iref_at..meta_body + 4 + iref_end)?)
        .filter(|(kind, ..)| kind == b"cdsc")
        .map(|(_, body, _)| iref_at + body - 4)
        .collect();
    if links.is_empty() {
        return None;
    }
    let mut patched = bytes.to_vec();
    for at in links {
        patched[at..at + 4].copy_from_slice(b"fpxx");
    }
    Some(patched)
}

fn generic(bytes: &[u8], limits: DecodeLimits) -> Result<Decoded, DecodeError> {
    let fail = |e: image::ImageError| DecodeError::Decode(e.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Decode(e.to_string()))?;
    let mut image_limits = Limits::default();
    image_limits.max_alloc = Some(limits.max_bytes);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(fail)?;
    let (width, height) = decoder.dimensions();
    check_pixels(u64::from(width), u64::from(height), limits)?;
    // The decoded image at its own depth, then the 8-bit RGB copy.
    let per_pixel = u64::from(decoder.color_type().bytes_per_pixel()) + 3;
    check_memory(u64::from(width) * u64::from(height) * per_pixel, limits)?;
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(fail)?;
    Ok(Decoded {
        rgb: image.into_rgb8().into_raw(),
        width,
        height,
        full_width: width,
        full_height: height,
        upright: false,
        icc,
    })
}
