//! Made-up evidence: textured JPEGs with the EXIF a scenario needs (capture time, UTC offset,
//! GPS with hemisphere refs, orientation, software). Used by `fieldproof demo-photo` for demos
//! and smoke tests, and by the test suite so that it runs without anyone's real photos.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{ImageBuffer, Rgb};

/// Why a photo could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The JPEG encoder failed.
    #[error("encoding the JPEG failed: {0}")]
    Encode(String),
    /// The EXIF writer failed or the block is too large for a JPEG segment.
    #[error("writing EXIF failed: {0}")]
    Exif(String),
}

/// The EXIF to write.
#[derive(Debug, Clone, Default)]
pub struct SynthExif {
    /// `YYYY:MM:DD HH:MM:SS`.
    pub datetime_original: Option<String>,
    /// `+08:00`.
    pub offset_time_original: Option<String>,
    /// Latitude and longitude in degrees, signed; the refs are derived.
    pub gps: Option<(f64, f64)>,
    /// Orientation 1–8.
    pub orientation: Option<u16>,
    /// `Software` tag.
    pub software: Option<String>,
}

/// A textured, shaded `width`×`height` JPEG whose top-left quadrant is red and the rest blue,
/// so that orientation shows in a thumbnail, carrying `exif`. Always the same scene, so two
/// of them are `similar_photo`; [`scene_jpeg`] makes different ones.
pub fn jpeg(width: u32, height: u32, exif: &SynthExif) -> Result<Vec<u8>, SynthError> {
    scene_jpeg(width, height, 0, exif)
}

/// Like [`jpeg`], with shading that differs from scene to scene as far as a perceptual hash
/// can tell.
pub fn scene_jpeg(width: u32, height: u32, scene: u32, exif: &SynthExif) -> Result<Vec<u8>, SynthError> {
    // Low frequencies (a perceptual hash sees a 9×8 grid) with a phase of its own per scene.
    let (a, b) = (5.0 + (scene % 5) as f32 * 1.1, 2.5 + (scene % 3) as f32 * 1.4);
    let phase = scene as f32 * 2.399_963;
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        let noise = ((x.wrapping_mul(31) ^ y.wrapping_mul(17)) % 23) as u8;
        // Smooth, lopsided shading, so the picture has structure a perceptual hash can see
        // (and that changes when it is turned).
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let shade = ((fx * a + fy * b + phase).sin() * (fy * 5.7 - fx * 2.3 - phase).cos() + 1.0) / 2.0;
        let lift = |range: f32| (shade * range) as u8;
        if x < width / 2 && y < height / 2 {
            Rgb([170 + lift(60.0) + noise, 20 + lift(40.0), 20])
        } else {
            Rgb([20, 40 + lift(60.0) + noise, 150 + lift(80.0)])
        }
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .map_err(|e| SynthError::Encode(e.to_string()))?;
    with_exif(&plain, exif)
}

/// A valid JPEG of about `size` bytes: a small photo behind application segments full of
/// incompressible bytes, for uploads that must take several chunks or many megabytes.
pub fn padded_jpeg(size: usize, exif: &SynthExif) -> Result<Vec<u8>, SynthError> {
    let photo = jpeg(320, 240, exif)?;
    let mut out = photo[..2].to_vec();
    let mut state: u32 = 0x9e37_79b9;
    while out.len() + photo.len() < size {
        // Each APP15 segment holds at most 65,533 bytes after its length.
        let len = (size - out.len() - photo.len()).clamp(16, 65_533);
        out.extend_from_slice(&[0xFF, 0xEF]);
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        for _ in 2..len {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            out.push(state.to_le_bytes()[0]);
        }
    }
    out.extend_from_slice(&photo[2..]);
    Ok(out)
}

/// Inserts an APP1 EXIF segment right after the start-of-image marker of `plain_jpeg`.
pub fn with_exif(plain_jpeg: &[u8], exif: &SynthExif) -> Result<Vec<u8>, SynthError> {
    let ascii = |tag, s: &str| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    };
    let mut fields = Vec::new();
    if let Some(dt) = &exif.datetime_original {
        fields.push(ascii(Tag::DateTimeOriginal, dt));
    }
    if let Some(off) = &exif.offset_time_original {
        fields.push(ascii(Tag::OffsetTimeOriginal, off));
    }
    if let Some(o) = exif.orientation {
        fields.push(Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![o]),
        });
    }
    if let Some(s) = &exif.software {
        fields.push(ascii(Tag::Software, s));
    }
    if let Some((lat, lon)) = exif.gps {
        fields.push(ascii(Tag::GPSLatitudeRef, if lat < 0.0 { "S" } else { "N" }));
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lat.abs())),
        });
        fields.push(ascii(Tag::GPSLongitudeRef, if lon < 0.0 { "W" } else { "E" }));
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lon.abs())),
        });
    }
    if fields.is_empty() || plain_jpeg.len() < 2 {
        return Ok(plain_jpeg.to_vec());
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer
        .write(&mut tiff, false)
        .map_err(|e| SynthError::Exif(e.to_string()))?;
    let tiff = tiff.into_inner();
    let segment_len =
        u16::try_from(tiff.len() + 8).map_err(|_| SynthError::Exif("EXIF block too large".into()))?;
    let mut out = Vec::with_capacity(plain_jpeg.len() + tiff.len() + 16);
    out.extend_from_slice(&plain_jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&segment_len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&plain_jpeg[2..]);
    Ok(out)
}

/// Degrees as the three rationals EXIF stores (degrees, minutes, seconds to 1/10000 s).
fn dms(deg: f64) -> Vec<Rational> {
    let d = deg.trunc();
    let m = ((deg - d) * 60.0).trunc();
    let s = (deg - d - m / 60.0) * 3600.0;
    vec![
        Rational {
            num: d as u32,
            denom: 1,
        },
        Rational {
            num: m as u32,
            denom: 1,
        },
        Rational {
            num: (s * 10_000.0).round() as u32,
            denom: 10_000,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_exif_reads_back() {
        let exif = SynthExif {
            datetime_original: Some("2026:12:03 10:00:00".into()),
            offset_time_original: Some("+08:00".into()),
            gps: Some((39.6305, -118.1804)),
            orientation: Some(6),
            software: None,
        };
        let bytes = jpeg(64, 48, &exif).unwrap();
        let reading = crate::exif::read(&bytes, chrono_tz::UTC);
        assert_eq!(reading.summary.orientation, Some(6));
        assert_eq!(
            reading.summary.captured_at.unwrap().to_rfc3339(),
            "2026-12-03T02:00:00+00:00"
        );
        let gps = reading.summary.gps.unwrap();
        assert!((gps.lat - 39.6305).abs() < 1e-6 && (gps.lon + 118.1804).abs() < 1e-6);
    }
}
