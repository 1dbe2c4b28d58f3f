//! The pipeline on real phone files (from `../shared/fixtures/photos` when it is there) and on
//! generated ones: every format, every orientation, colour, limits and hostile bytes.

#![expect(
    clippy::expect_used,
    reason = "a seed that cannot be made fails the test loudly"
)]

use std::path::PathBuf;

use fieldproof_core::config::ThumbFormat;
use fieldproof_media_worker::decode::{DecodeError, DecodeLimits};
use fieldproof_media_worker::phash;
use fieldproof_media_worker::pipeline::{self, Analysed, Options, PipelineError};
use fieldproof_media_worker::synth::{self, SynthExif};
use image::{Rgb, RgbImage};

fn options(format: ThumbFormat) -> Options {
    Options {
        limits: DecodeLimits {
            max_pixels: 120_000_000,
            max_bytes: 512 << 20,
        },
        edges: vec![256, 1280],
        format,
    }
}

fn analyse(bytes: &[u8]) -> Result<Analysed, PipelineError> {
    pipeline::analyse(bytes, chrono_tz::Asia::Shanghai, &options(ThumbFormat::Jpeg))
}

fn fixture(name: &str) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos");
    let bytes = std::fs::read(dir.join(name)).ok();
    if bytes.is_none() {
        eprintln!("skipping {name}: ../shared/fixtures/photos is not there");
    }
    bytes
}

/// Where the red quadrant of the synthetic photo (stored top-left) ends up once upright.
fn red_corner(image: &RgbImage) -> &'static str {
    let (w, h) = (image.width(), image.height());
    let corners = [
        ("top-left", w / 4, h / 4),
        ("top-right", 3 * w / 4, h / 4),
        ("bottom-left", w / 4, 3 * h / 4),
        ("bottom-right", 3 * w / 4, 3 * h / 4),
    ];
    let reds: Vec<_> = corners
        .iter()
        .filter(|(_, x, y)| {
            let Rgb([r, _, b]) = *image.get_pixel(*x, *y);
            r > 150 && b < 100
        })
        .map(|(name, ..)| *name)
        .collect();
    assert_eq!(reds.len(), 1, "expected one red corner, saw {reds:?}");
    reds[0]
}

#[test]
fn all_eight_orientations_come_out_upright() {
    let expected = [
        (1, "top-left", false),
        (2, "top-right", false),
        (3, "bottom-right", false),
        (4, "bottom-left", false),
        (5, "top-left", true),
        (6, "top-right", true),
        (7, "bottom-right", true),
        (8, "bottom-left", true),
    ];
    for (orientation, corner, swapped) in expected {
        let exif = SynthExif {
            orientation: Some(orientation),
            ..SynthExif::default()
        };
        let bytes = synth::jpeg(640, 320, &exif).unwrap();
        let a = analyse(&bytes).unwrap();
        let (w, h) = if swapped { (320, 640) } else { (640, 320) };
        assert_eq!((a.width, a.height), (w, h), "orientation {orientation}");
        for t in &a.thumbnails {
            let expected_edge = t.edge.min(640);
            assert_eq!(t.image.width().max(t.image.height()), expected_edge);
            assert_eq!(
                t.image.width() > t.image.height(),
                !swapped,
                "orientation {orientation}"
            );
            assert_eq!(
                red_corner(&t.image),
                corner,
                "orientation {orientation}, {} px",
                t.edge
            );
            let decoded = image::load_from_memory(&t.bytes).unwrap();
            assert_eq!((decoded.width(), decoded.height()), t.image.dimensions());
        }
    }
}

#[test]
fn large_jpegs_are_decoded_at_reduced_scale_with_exact_thumbnail_sizes() {
    let bytes = synth::jpeg(4000, 3000, &SynthExif::default()).unwrap();
    let a = analyse(&bytes).unwrap();
    let sizes: Vec<_> = a.thumbnails.iter().map(|t| t.image.dimensions()).collect();
    assert_eq!(sizes, vec![(256, 192), (1280, 960)]);
    assert_eq!((a.width, a.height), (4000, 3000));
    assert_eq!(red_corner(&a.thumbnails[0].image), "top-left");
}

#[test]
fn thumbnails_carry_no_metadata() {
    let exif = SynthExif {
        gps: Some((39.63, 118.18)),
        datetime_original: Some("2026:05:01 10:00:00".into()),
        ..SynthExif::default()
    };
    let bytes = synth::jpeg(800, 600, &exif).unwrap();
    assert!(
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&bytes))
            .is_ok()
    );
    for format in [ThumbFormat::Jpeg, ThumbFormat::Webp] {
        let a = pipeline::analyse(&bytes, chrono_tz::UTC, &options(format)).unwrap();
        for t in &a.thumbnails {
            let read = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&t.bytes));
            assert!(read.is_err(), "{format:?} thumbnail kept EXIF");
            match format {
                ThumbFormat::Jpeg => assert!(t.bytes.starts_with(&[0xFF, 0xD8, 0xFF])),
                ThumbFormat::Webp => assert!(t.bytes.starts_with(b"RIFF") && &t.bytes[8..12] == b"WEBP"),
            }
        }
    }
}

#[test]
fn phone_formats_decode_upright_with_their_exif() {
    // (file, displayed width, displayed height, make)
    let cases = [
        ("mei-samsung-s10-o6.heic", 3024, 4032, Some("samsung")),
        ("photoprism-iphone15pro.heic", 0, 0, Some("Apple")),
        ("photoview-iphone15pro-ios26.heic", 3024, 4032, Some("Apple")),
        ("mei-iphonex.webp", 240, 320, Some("Apple")),
        ("exifr-exif-gps.png", 1, 1, None),
        ("sharp-16bit.png", 900, 600, None),
        ("pillow-cmyk.jpg", 100, 100, None),
        ("photoprism-jpeg-named.heic", 0, 0, None),
    ];
    for (name, w, h, make) in cases {
        let Some(bytes) = fixture(name) else { continue };
        let a = analyse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        if w > 0 {
            assert_eq!((a.width, a.height), (w, h), "{name}");
        }
        if let Some(make) = make {
            assert_eq!(a.reading.summary.make.as_deref(), Some(make), "{name}");
        }
        let small = &a.thumbnails[0];
        assert!(small.image.width().max(small.image.height()) <= 256, "{name}");
        assert_eq!(
            a.width >= a.height,
            small.image.width() >= small.image.height(),
            "{name} turned wrongly"
        );
    }
}

#[test]
fn heic_is_sniffed_as_heic_and_a_jpeg_named_heic_as_jpeg() {
    if let Some(bytes) = fixture("mei-samsung-s10-o6.heic") {
        assert_eq!(analyse(&bytes).unwrap().info.format.mime(), "image/heic");
    }
    if let Some(bytes) = fixture("photoprism-jpeg-named.heic") {
        assert_eq!(analyse(&bytes).unwrap().info.format.mime(), "image/jpeg");
    }
}

#[test]
fn cmyk_jpegs_are_not_inverted() {
    let Some(bytes) = fixture("pillow-cmyk.jpg") else {
        return;
    };
    let ours = analyse(&bytes).unwrap().thumbnails.swap_remove(0).image;
    // The image crate's own CMYK conversion is the reference; inverted CMYK would be far off.
    let reference = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let mean = |img: &RgbImage| {
        img.pixels()
            .map(|p| p.0.iter().map(|c| u64::from(*c)).sum::<u64>())
            .sum::<u64>()
            / (3 * u64::from(img.width() * img.height()))
    };
    let (m_ours, m_ref) = (mean(&ours), mean(&reference));
    assert!(
        m_ours.abs_diff(m_ref) < 40,
        "mean brightness {m_ours} against the image crate's {m_ref}"
    );
}

#[test]
fn a_perceptual_hash_survives_resaving_and_resizing() {
    let bytes = synth::jpeg(1600, 1200, &SynthExif::default()).unwrap();
    let original = analyse(&bytes).unwrap();
    let smaller = image::load_from_memory(&bytes)
        .unwrap()
        .resize(800, 600, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut resaved = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut resaved, 60)
        .encode_image(&smaller)
        .unwrap();
    let copy = analyse(&resaved).unwrap();
    assert_ne!(original.sha256, copy.sha256);
    let d = phash::distance(original.perceptual_hash, copy.perceptual_hash);
    assert!(d <= 4, "distance {d}");
    let flipped = analyse(
        &synth::jpeg(
            1600,
            1200,
            &SynthExif {
                orientation: Some(3),
                ..SynthExif::default()
            },
        )
        .unwrap(),
    )
    .unwrap();
    assert!(phash::distance(original.perceptual_hash, flipped.perceptual_hash) > 16);
}

/// A JPEG header declaring `width`×`height` with a tiny scan.
fn declared_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    v.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8]);
    v.extend_from_slice(&height.to_be_bytes());
    v.extend_from_slice(&width.to_be_bytes());
    v.extend_from_slice(&[1, 1, 0x11, 0]);
    v.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0xFF, 0xD9]);
    v
}

#[test]
fn memory_is_estimated_from_the_header_at_the_decode_scale() {
    let baseline = declared_jpeg(12000, 9000);
    let need = pipeline::memory_needed(&baseline, 1280);
    assert!(need < 32 << 20, "108 MP baseline at 1/8 scale: {need} bytes");
    // A progressive JPEG keeps every coefficient until its last scan: no shrinking that.
    let mut progressive = baseline;
    progressive[3] = 0xC2;
    let need = pipeline::memory_needed(&progressive, 1280);
    assert!(need > 200 << 20, "108 MP progressive: {need} bytes");
}

#[test]
fn a_60000_by_60000_declaration_is_refused_before_decoding() {
    let err = analyse(&declared_jpeg(60000, 60000)).err().expect("refused");
    assert!(
        matches!(
            err,
            PipelineError::Decode(DecodeError::TooLarge {
                pixels: 3_600_000_000,
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn a_png_bomb_is_refused_by_the_memory_limit() {
    // 3000×3000 RGBA at 16 bits: 72 MB decoded from a file of a few hundred KB.
    let bomb = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::new(3000, 3000);
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba16(bomb)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(png.len() < 1 << 20);
    let mut tight = options(ThumbFormat::Jpeg);
    tight.limits.max_bytes = 64 << 20;
    let err = pipeline::analyse(&png, chrono_tz::UTC, &tight)
        .err()
        .expect("refused");
    assert!(
        matches!(err, PipelineError::Decode(DecodeError::NeedsTooMuchMemory { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("MiB"), "{err}");
}

#[test]
fn an_image_that_is_not_an_image_fails_with_a_clear_reason() {
    for (bytes, words) in [
        (&b"%PDF-1.7 not a photo"[..], "PDF"),
        (&b""[..], "empty"),
        (&b"\0\0\0\x18ftypavif\0\0\0\0mif1avif"[..], "AVIF"),
    ] {
        let err = analyse(bytes).err().expect("refused");
        assert!(err.to_string().contains(words), "{err}");
    }
    let stored = RgbImage::from_pixel(64, 64, Rgb([1, 2, 3]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode_image(&stored)
        .unwrap();
    let cut = &jpeg[..jpeg.len() / 2];
    assert!(
        analyse(cut)
            .err()
            .expect("refused")
            .to_string()
            .contains("truncated")
    );
}

#[test]
fn an_exif_block_with_an_ifd_loop_and_a_huge_count_is_read_as_far_as_it_goes() {
    // Little-endian TIFF: IFD0 at 8 holds Make (ASCII) claiming 4 GiB far past the end, then
    // points back at itself as the next IFD.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x010Fu16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    tiff.extend_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let plain = synth::jpeg(64, 48, &SynthExif::default()).unwrap();
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    jpeg.extend_from_slice(&app1);
    jpeg.extend_from_slice(&plain[2..]);
    let a = analyse(&jpeg).expect("the pixels are fine");
    assert!(a.reading.present);
    assert_eq!(a.reading.summary.make, None);
    assert!(!a.reading.problems.is_empty(), "the broken block is reported");
    assert_eq!(a.thumbnails[0].image.dimensions(), (64, 48));
}

/// Seeds for mutation: a generated photo with full EXIF, and the real ones when present.
fn seeds() -> Vec<Vec<u8>> {
    let exif = SynthExif {
        datetime_original: Some("2026:05:01 10:00:00".into()),
        offset_time_original: Some("+08:00".into()),
        gps: Some((39.63, 118.18)),
        orientation: Some(6),
        software: Some("HDR+ 1.0".into()),
    };
    let mut seeds = vec![synth::jpeg(320, 240, &exif).expect("generating a JPEG")];
    for name in [
        "exifr-exif-gps.png",
        "mei-iphonex.webp",
        "exifr-pixel-tiny.jpg",
        "pillow-cmyk.jpg",
    ] {
        if let Some(b) = fixture(name) {
            seeds.push(b);
        }
    }
    seeds
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 200, ..Default::default() })]

    /// Truncations, bit flips and overwritten runs (offsets past the end, huge counts, IFD
    /// loops all arise in the EXIF block at the front) never panic: a verdict or a reason.
    #[test]
    fn hostile_mutations_never_panic(
        seed in 0usize..8,
        cut in proptest::num::f64::POSITIVE,
        flips in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 0..12),
    ) {
        let seeds = seeds();
        let mut bytes = seeds[seed % seeds.len()].clone();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        let keep = ((cut.fract() * 1.2).min(1.0) * bytes.len() as f64) as usize;
        bytes.truncate(keep.max(1));
        if let Err(e) = analyse(&bytes) {
            proptest::prop_assert!(!e.to_string().is_empty());
        }
    }
}
