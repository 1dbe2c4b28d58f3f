//! What an uploaded file is, from its bytes alone: the format by its magic number, the pixel
//! size from the header, and whether the file is complete — without decoding any pixels, so a
//! decompression bomb or a truncated upload is refused at the door in bounded memory.
//!
//! Written by hand because the crates that read headers (`imagesize`, `image`) say nothing
//! about completeness, and decoding a whole photo on the request path would cost ~100× more.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// The image formats the pipeline accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (JFIF or EXIF).
    Jpeg,
    /// PNG.
    Png,
    /// WebP (RIFF container).
    Webp,
    /// HEIC/HEIF (ISO base media file with HEVC-coded images), as phones write it.
    Heif,
}

impl ImageFormat {
    /// MIME type served with the original.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Heif => "image/heic",
        }
    }
}

/// Format and header size of a complete image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// Detected format.
    pub format: ImageFormat,
    /// Stored width in pixels (before EXIF orientation).
    pub width: u32,
    /// Stored height in pixels.
    pub height: u32,
}

impl ImageInfo {
    /// Decoded pixel count.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Why a file is not an acceptable image.
#[derive(Debug, thiserror::Error)]
pub enum ImageInfoError {
    /// Zero bytes.
    #[error("the file is empty")]
    Empty,
    /// Not one of the accepted formats (named when recognised).
    #[error("unsupported file type: {0}")]
    Unsupported(&'static str),
    /// The file ends before the image does.
    #[error("the image is truncated")]
    Truncated,
    /// The header does not make sense.
    #[error("the image is malformed: {0}")]
    Malformed(&'static str),
    /// Reading the staged file failed.
    #[error("reading the upload failed")]
    Io(#[from] io::Error),
}

/// Sniffs the format from the first bytes; `Err` names what it is when it is something else.
pub fn sniff(head: &[u8]) -> Result<ImageFormat, ImageInfoError> {
    if head.is_empty() {
        return Err(ImageInfoError::Empty);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ImageFormat::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(ImageFormat::Png);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Ok(ImageFormat::Webp);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return heif_brand(head);
    }
    let name = if head.starts_with(b"%PDF") {
        "PDF"
    } else if head.starts_with(b"MZ") || head.starts_with(b"\x7fELF") {
        "executable"
    } else if head.starts_with(b"PK\x03\x04") {
        "ZIP"
    } else if head.starts_with(b"GIF8") {
        "GIF"
    } else if head
        .iter()
        .take(512)
        .all(|b| b.is_ascii() && (*b >= 0x20 || b"\t\r\n".contains(b)))
    {
        "text (HTML, SVG, JSON or similar)"
    } else {
        "unknown"
    };
    Err(ImageInfoError::Unsupported(name))
}

/// Inspects a staged upload on disk.
pub fn inspect_file(path: &Path) -> Result<ImageInfo, ImageInfoError> {
    let mut reader = BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?);
    inspect(&mut reader)
}

/// Inspects an image from any seekable reader.
pub fn inspect<R: Read + Seek>(reader: &mut R) -> Result<ImageInfo, ImageInfoError> {
    let mut head = [0u8; 32];
    let n = read_up_to(reader, &mut head)?;
    let format = sniff(&head[..n])?;
    reader.seek(SeekFrom::Start(0))?;
    let (width, height) = match format {
        ImageFormat::Jpeg => jpeg(reader)?,
        ImageFormat::Png => png(reader)?,
        ImageFormat::Webp => webp(reader)?,
        ImageFormat::Heif => heif(reader)?,
    };
    if width == 0 || height == 0 {
        return Err(ImageInfoError::Malformed("zero width or height"));
    }
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn exact<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<(), ImageInfoError> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ImageInfoError::Truncated,
        _ => ImageInfoError::Io(e),
    })
}

fn byte<R: Read>(reader: &mut R) -> Result<u8, ImageInfoError> {
    let mut b = [0u8; 1];
    exact(reader, &mut b)?;
    Ok(b[0])
}

fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Walks the marker segments to the frame header and the first scan, then looks for the end
/// of image marker in the entropy-coded data (which cannot contain `FF D9` by construction).
fn jpeg<R: Read + Seek>(reader: &mut R) -> Result<(u32, u32), ImageInfoError> {
    reader.seek(SeekFrom::Start(2))?;
    let mut size = None;
    loop {
        if byte(reader)? != 0xFF {
            return Err(ImageInfoError::Malformed("expected a JPEG marker"));
        }
        let mut marker = byte(reader)?;
        while marker == 0xFF {
            marker = byte(reader)?;
        }
        match marker {
            0xD0..=0xD7 | 0x01 => continue,
            0xD8 => return Err(ImageInfoError::Malformed("second start of image")),
            0xD9 => return Err(ImageInfoError::Truncated),
            _ => {}
        }
        let mut len = [0u8; 2];
        exact(reader, &mut len)?;
        let len = u16::from_be_bytes(len);
        if len < 2 {
            return Err(ImageInfoError::Malformed("segment length below 2"));
        }
        if is_sof(marker) {
            let mut sof = [0u8; 5];
            if len < 7 {
                return Err(ImageInfoError::Malformed("short frame header"));
            }
            exact(reader, &mut sof)?;
            let height = u32::from(u16::from_be_bytes([sof[1], sof[2]]));
            let width = u32::from(u16::from_be_bytes([sof[3], sof[4]]));
            size = Some((width, height));
            reader.seek(SeekFrom::Current(i64::from(len) - 7))?;
            continue;
        }
        reader.seek(SeekFrom::Current(i64::from(len) - 2))?;
        if marker == 0xDA {
            let size = size.ok_or(ImageInfoError::Malformed("scan before frame header"))?;
            return if find_eoi(reader)? {
                Ok(size)
            } else {
                Err(ImageInfoError::Truncated)
            };
        }
    }
}

fn find_eoi<R: Read>(reader: &mut R) -> Result<bool, ImageInfoError> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut previous_ff = false;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        let chunk = &buf[..n];
        // SIMD search: a 100-megapixel photo has tens of megabytes of entropy-coded data.
        if (previous_ff && chunk[0] == 0xD9) || memchr::memmem::find(chunk, &[0xFF, 0xD9]).is_some() {
            return Ok(true);
        }
        previous_ff = chunk[n - 1] == 0xFF;
    }
}

/// Reads IHDR and walks the chunks to IEND without reading their data.
fn png<R: Read + Seek>(reader: &mut R) -> Result<(u32, u32), ImageInfoError> {
    reader.seek(SeekFrom::Start(8))?;
    let mut size = None;
    loop {
        let mut header = [0u8; 8];
        exact(reader, &mut header)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = &header[4..8];
        if kind == b"IHDR" {
            let mut ihdr = [0u8; 8];
            if len < 8 {
                return Err(ImageInfoError::Malformed("short IHDR"));
            }
            exact(reader, &mut ihdr)?;
            size = Some((
                u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]),
                u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]),
            ));
            reader.seek(SeekFrom::Current(i64::from(len) - 8 + 4))?;
        } else if size.is_none() {
            return Err(ImageInfoError::Malformed("first chunk is not IHDR"));
        } else if kind == b"IEND" {
            // The end chunk's CRC must be there too: a cut-off upload is not complete.
            exact(reader, &mut [0u8; 4])?;
            return size.ok_or(ImageInfoError::Malformed("no IHDR"));
        } else {
            // Seeking past the end succeeds, so check that the chunk's bytes are really there.
            let end = reader.seek(SeekFrom::Current(i64::from(len) + 4))?;
            let file_len = reader.seek(SeekFrom::End(0))?;
            if end > file_len {
                return Err(ImageInfoError::Truncated);
            }
            reader.seek(SeekFrom::Start(end))?;
        }
    }
}

/// Checks the RIFF length against the file and reads the canvas size of VP8X, VP8L or VP8.
fn webp<R: Read + Seek>(reader: &mut R) -> Result<(u32, u32), ImageInfoError> {
    let mut head = [0u8; 30];
    exact(reader, &mut head)?;
    let riff_len = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    let file_len = reader.seek(SeekFrom::End(0))?;
    if riff_len + 8 > file_len {
        return Err(ImageInfoError::Truncated);
    }
    let le24 = |b: &[u8]| u32::from(b[0]) | (u32::from(b[1]) << 8) | (u32::from(b[2]) << 16);
    match &head[12..16] {
        b"VP8X" => Ok((le24(&head[24..27]) + 1, le24(&head[27..30]) + 1)),
        b"VP8L" => {
            let bits = u32::from_le_bytes([head[21], head[22], head[23], head[24]]);
            Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8 " => Ok((
            u32::from(u16::from_le_bytes([head[26], head[27]]) & 0x3FFF),
            u32::from(u16::from_le_bytes([head[28], head[29]]) & 0x3FFF),
        )),
        _ => Err(ImageInfoError::Malformed("unknown WebP chunk")),
    }
}

/// Brands of HEVC-coded HEIF files (ISO/IEC 23008-12 Annex B) and of the generic image
/// brands phones put first while listing `heic` among the compatible ones.
const HEIC_BRANDS: [&[u8; 4]; 4] = [b"heic", b"heix", b"heim", b"heis"];
const GENERIC_BRANDS: [&[u8; 4]; 1] = [b"mif1"];
/// Image sequences (bursts, animations): not a photo.
const SEQUENCE_BRANDS: [&[u8; 4]; 3] = [b"msf1", b"hevc", b"hevx"];

/// Decides from the `ftyp` box in `head` whether an ISO media file is a HEIC image.
fn heif_brand(head: &[u8]) -> Result<ImageFormat, ImageInfoError> {
    let box_len = usize::try_from(u32::from_be_bytes([head[0], head[1], head[2], head[3]])).unwrap_or(0);
    let major = &head[8..12];
    // Compatible brands follow the minor version; only those within `head` are seen.
    let compatible = head
        .get(16..box_len.min(head.len()))
        .unwrap_or(&[])
        .chunks_exact(4);
    let is = |brands: &[&[u8; 4]], b: &[u8]| brands.iter().any(|x| x.as_slice() == b);
    if is(&HEIC_BRANDS, major)
        || (is(&GENERIC_BRANDS, major) && compatible.clone().any(|b| is(&HEIC_BRANDS, b)))
    {
        return Ok(ImageFormat::Heif);
    }
    if is(&SEQUENCE_BRANDS, major) {
        return Err(ImageInfoError::Unsupported("a HEIF image sequence"));
    }
    if major == b"avif" || compatible.clone().any(|b| b == b"avif") {
        return Err(ImageInfoError::Unsupported("AVIF"));
    }
    if is(&GENERIC_BRANDS, major) {
        return Ok(ImageFormat::Heif);
    }
    Err(ImageInfoError::Unsupported("video or another ISO media file"))
}

/// Largest `meta` box read into memory; a phone's is a few KiB (a few hundred for a grid).
const MAX_HEIF_META: u64 = 4 << 20;

/// Walks the top-level boxes to the end of the file (each must fit, so a truncated upload is
/// refused) and takes the size from the largest `ispe` property in `meta`: a grid image's
/// tiles are smaller than the image they make up.
fn heif<R: Read + Seek>(reader: &mut R) -> Result<(u32, u32), ImageInfoError> {
    let file_len = reader.seek(SeekFrom::End(0))?;
    let mut at = 0u64;
    let mut size = None;
    let mut seen_mdat = false;
    while at < file_len {
        reader.seek(SeekFrom::Start(at))?;
        let (kind, header, len) = box_header(reader, file_len - at)?;
        if at.checked_add(len).is_none_or(|end| end > file_len) {
            return Err(ImageInfoError::Truncated);
        }
        match &kind {
            b"meta" => {
                if len > MAX_HEIF_META {
                    return Err(ImageInfoError::Malformed("HEIF meta box too large"));
                }
                let mut body = vec![0u8; usize::try_from(len - header).unwrap_or(0)];
                exact(reader, &mut body)?;
                // `meta` is a full box: version and flags come first.
                size = largest_ispe(body.get(4..).unwrap_or(&[]), 0);
            }
            b"mdat" => seen_mdat = true,
            _ => {}
        }
        at += len;
    }
    if !seen_mdat {
        return Err(ImageInfoError::Truncated);
    }
    size.ok_or(ImageInfoError::Malformed("HEIF without image size"))
}

/// Reads a box header: type, header length and whole length (`0` means to the end).
fn box_header<R: Read>(reader: &mut R, remaining: u64) -> Result<([u8; 4], u64, u64), ImageInfoError> {
    let mut head = [0u8; 8];
    exact(reader, &mut head)?;
    let kind = [head[4], head[5], head[6], head[7]];
    let (header, len) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
        0 => (8, remaining),
        1 => {
            let mut large = [0u8; 8];
            exact(reader, &mut large)?;
            (16, u64::from_be_bytes(large))
        }
        n => (8, u64::from(n)),
    };
    if len < header {
        return Err(ImageInfoError::Malformed("HEIF box shorter than its header"));
    }
    Ok((kind, header, len))
}

/// Boxes whose children hold image properties: `iprp` › `ipco` › `ispe`.
fn largest_ispe(mut data: &[u8], depth: u8) -> Option<(u32, u32)> {
    let mut best: Option<(u32, u32)> = None;
    while data.len() >= 8 {
        let len = usize::try_from(u32::from_be_bytes([data[0], data[1], data[2], data[3]])).ok()?;
        if len < 8 || len > data.len() {
            break;
        }
        let (kind, body) = (&data[4..8], &data[8..len]);
        let found = match kind {
            b"iprp" | b"ipco" if depth < 4 => largest_ispe(body, depth + 1),
            b"ispe" if body.len() >= 12 => Some((
                u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
                u32::from_be_bytes([body[8], body[9], body[10], body[11]]),
            )),
            _ => None,
        };
        let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
        if let Some(size) = found
            && best.is_none_or(|b| area(size) > area(b))
        {
            best = Some(size);
        }
        data = &data[len..];
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn tiny_jpeg() -> Vec<u8> {
        // SOI, a minimal SOF0 for 3×2, an SOS header, one entropy byte and EOI.
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 2, 0, 3, 1, 1, 0x11, 0]);
        v.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        v.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9]);
        v
    }

    #[test]
    fn reads_jpeg_size_and_requires_end_of_image() {
        let full = tiny_jpeg();
        let info = inspect(&mut Cursor::new(&full)).unwrap();
        assert_eq!((info.format, info.width, info.height), (ImageFormat::Jpeg, 3, 2));
        for cut in 3..full.len() - 1 {
            let r = inspect(&mut Cursor::new(&full[..cut]));
            assert!(r.is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn a_png_cut_inside_its_end_chunk_is_truncated() {
        let mut png = Vec::new();
        image::RgbImage::new(4, 4)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(inspect(&mut Cursor::new(&png)).is_ok());
        for cut in 1..=4 {
            let r = inspect(&mut Cursor::new(&png[..png.len() - cut]));
            assert!(matches!(r, Err(ImageInfoError::Truncated)), "cut {cut}: {r:?}");
        }
    }

    #[test]
    fn trailing_bytes_after_end_of_image_are_kept_acceptable() {
        let mut poly = tiny_jpeg();
        poly.extend_from_slice(b"PK\x03\x04 zip payload");
        assert!(inspect(&mut Cursor::new(&poly)).is_ok());
    }

    #[test]
    fn sniffs_by_magic_not_by_name() {
        assert!(matches!(sniff(b""), Err(ImageInfoError::Empty)));
        assert!(matches!(
            sniff(b"%PDF-1.7"),
            Err(ImageInfoError::Unsupported("PDF"))
        ));
        assert!(matches!(
            sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"),
            Err(ImageInfoError::Unsupported(_))
        ));
        assert!(matches!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Ok(ImageFormat::Heif)
        ));
        assert!(matches!(
            sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic"),
            Ok(ImageFormat::Heif)
        ));
        assert!(matches!(
            sniff(b"\0\0\0\x18ftypmsf1\0\0\0\0msf1hevc"),
            Err(ImageInfoError::Unsupported("a HEIF image sequence"))
        ));
        assert!(matches!(
            sniff(b"\0\0\0\x18ftypavif\0\0\0\0mif1avif"),
            Err(ImageInfoError::Unsupported("AVIF"))
        ));
        assert!(matches!(
            sniff(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2"),
            Err(ImageInfoError::Unsupported(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(mut bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512), prefix in 0usize..4) {
            let magic: [&[u8]; 4] = [&[0xFF, 0xD8, 0xFF], b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBP", b"\0\0\0\x10ftypheic\0\0\0\0"];
            let mut v = magic[prefix].to_vec();
            v.append(&mut bytes);
            let _ = inspect(&mut Cursor::new(&v));
        }
    }
}
