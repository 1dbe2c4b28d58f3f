//! Colour into sRGB, so a thumbnail looks the same in every browser whatever the camera wrote:
//! embedded ICC profiles (Display P3 from iPhones, Adobe RGB from cameras) through qcms, and
//! CMYK JPEGs (as Photoshop writes them) through their profile or the plain formula.

use qcms::{DataType, Intent, Profile, Transform};

/// Largest ICC profile assembled from JPEG segments; real ones are a few KiB.
const MAX_ICC: usize = 1 << 20;

/// The ICC profile carried in a JPEG's `APP2 ICC_PROFILE` segments, reassembled in sequence
/// order. Written by hand: libjpeg-turbo 3's accessor is not exposed by the Rust wrapper, and the
/// marker walk is a few lines.
pub fn jpeg_icc(bytes: &[u8]) -> Option<Vec<u8>> {
    const TAG: &[u8] = b"ICC_PROFILE\0";
    let mut chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut at = 2usize;
    while at + 4 <= bytes.len() && bytes[at] == 0xFF {
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let end = (at + 2).checked_add(len)?.min(bytes.len());
        let body = bytes.get(at + 4..end)?;
        if marker == 0xE2 && body.len() > TAG.len() + 2 && body.starts_with(TAG) {
            chunks.push((body[TAG.len()], &body[TAG.len() + 2..]));
        }
        at = end;
    }
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|(seq, _)| *seq);
    let total: usize = chunks.iter().map(|(_, c)| c.len()).sum();
    (total <= MAX_ICC).then(|| chunks.into_iter().flat_map(|(_, c)| c.iter().copied()).collect())
}

/// Converts interleaved RGB in place from the colour space of `icc` to sRGB; a profile that is
/// sRGB already, or that qcms cannot read, leaves the pixels as they are.
pub fn rgb_to_srgb(rgb: &mut [u8], icc: &[u8]) {
    let Some(input) = Profile::new_from_slice(icc, false) else {
        return;
    };
    if input.is_sRGB() {
        return;
    }
    let output = Profile::new_sRGB();
    if let Some(transform) = Transform::new(&input, &output, DataType::RGB8, Intent::Perceptual) {
        let whole = rgb.len() - rgb.len() % 3;
        transform.apply(&mut rgb[..whole]);
    }
}

/// Converts CMYK as libjpeg-turbo returns it (Adobe's inverted convention) to sRGB: through the
/// embedded profile when qcms can use it, else by the usual formula.
pub fn cmyk_to_srgb(cmyk: &[u8], icc: Option<&[u8]>) -> Vec<u8> {
    let pixels = cmyk.len() / 4;
    let mut rgb = vec![0u8; pixels * 3];
    let transform = icc.and_then(|icc| {
        let input = Profile::new_from_slice(icc, false)?;
        Transform::new_to(
            &input,
            &Profile::new_sRGB(),
            DataType::CMYK,
            DataType::RGB8,
            Intent::Perceptual,
        )
    });
    match transform {
        Some(t) => {
            // Profiles expect ink amounts; Adobe JPEGs store them inverted.
            let ink: Vec<u8> = cmyk[..pixels * 4].iter().map(|v| 255 - v).collect();
            t.convert(&ink, &mut rgb);
        }
        None => {
            for (out, px) in rgb.chunks_exact_mut(3).zip(cmyk.chunks_exact(4)) {
                let k = u16::from(px[3]);
                for (o, c) in out.iter_mut().zip(&px[..3]) {
                    *o = ((u16::from(*c) * k + 127) / 255) as u8;
                }
            }
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icc_segments_are_reassembled_in_sequence_order() {
        let mut jpeg = vec![0xFF, 0xD8];
        for (seq, data) in [(2u8, &b"world"[..]), (1, b"hello ")] {
            let mut body = b"ICC_PROFILE\0".to_vec();
            body.extend_from_slice(&[seq, 2]);
            body.extend_from_slice(data);
            jpeg.extend_from_slice(&[0xFF, 0xE2]);
            jpeg.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
            jpeg.extend_from_slice(&body);
        }
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        assert_eq!(jpeg_icc(&jpeg).as_deref(), Some(&b"hello world"[..]));
        assert_eq!(jpeg_icc(&jpeg[..20]), None);
    }

    #[test]
    fn inverted_cmyk_without_a_profile_uses_the_formula() {
        // Inverted: 255 means no ink. White, then pure cyan at full black = black.
        let rgb = cmyk_to_srgb(&[255, 255, 255, 255, 0, 255, 255, 0], None);
        assert_eq!(rgb, vec![255, 255, 255, 0, 0, 0]);
    }

    #[test]
    fn an_unreadable_profile_leaves_pixels_alone() {
        let mut px = vec![10, 20, 30];
        rgb_to_srgb(&mut px, b"not a profile");
        assert_eq!(px, vec![10, 20, 30]);
    }
}
