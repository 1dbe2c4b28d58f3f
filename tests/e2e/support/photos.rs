//! Photos for tests: generated JPEGs with chosen EXIF (so the suite runs without `../shared`),
//! and the real phone photos of `../shared/fixtures/photos` with their manifest.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::PathBuf;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{ImageBuffer, Rgb};

/// EXIF to write into a generated photo.
#[derive(Debug, Clone, Default)]
pub struct Exif {
    /// `YYYY:MM:DD HH:MM:SS`.
    pub datetime_original: Option<String>,
    /// `+08:00`.
    pub offset_time_original: Option<String>,
    /// Latitude and longitude in degrees (signed; refs are derived).
    pub gps: Option<(f64, f64)>,
    /// Orientation 1–8.
    pub orientation: Option<u16>,
    /// Software tag.
    pub software: Option<String>,
}

/// A textured `width`×`height` JPEG whose top-left quadrant is red and the rest blue-ish, so
/// orientation can be checked in a thumbnail; with the given EXIF.
pub fn jpeg(width: u32, height: u32, exif: &Exif) -> Vec<u8> {
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        let noise = ((x.wrapping_mul(31) ^ y.wrapping_mul(17)) % 23) as u8;
        if x < width / 2 && y < height / 2 {
            Rgb([220 + noise, 20, 20])
        } else {
            Rgb([20, 40 + noise, 200])
        }
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .expect("encoding a generated JPEG");
    with_exif(&plain, exif)
}

/// Inserts an APP1 EXIF segment right after SOI.
pub fn with_exif(plain_jpeg: &[u8], exif: &Exif) -> Vec<u8> {
    let mut fields = Vec::new();
    let ascii = |tag, s: &str| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    };
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
    if fields.is_empty() {
        return plain_jpeg.to_vec();
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("writing EXIF");
    let tiff = tiff.into_inner();
    let mut out = Vec::with_capacity(plain_jpeg.len() + tiff.len() + 16);
    out.extend_from_slice(&plain_jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(
        &u16::try_from(tiff.len() + 8)
            .expect("EXIF fits a segment")
            .to_be_bytes(),
    );
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&plain_jpeg[2..]);
    out
}

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

/// `../shared/fixtures/photos` beside the repository, when it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos");
    dir.join("MANIFEST.tsv").exists().then_some(dir)
}

/// One row of `MANIFEST.tsv`, by column name.
pub type ManifestRow = HashMap<String, String>;

/// The manifest of the shared photos, by file name.
pub fn manifest() -> Option<HashMap<String, ManifestRow>> {
    let dir = shared_dir()?;
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split('\t').collect();
    Some(
        lines
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let row: ManifestRow = header
                    .iter()
                    .zip(l.split('\t'))
                    .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                    .collect();
                (row["file"].clone(), row)
            })
            .collect(),
    )
}

/// The bytes of a shared photo.
pub fn shared(name: &str) -> Option<Vec<u8>> {
    std::fs::read(shared_dir()?.join(name)).ok()
}
