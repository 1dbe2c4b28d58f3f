//! What a plan or report attachment really is: the claimed Content-Type is checked against the
//! file's magic bytes and, for PDF and ZIP-based office files, against the end marker in the tail,
//! so a renamed web page or a half-uploaded file is refused at the door.
//!
//! Only the head and the tail of the file are read, so the check costs the same for a 200 MB
//! drawing set as for a one-page letter.

/// How far into the head a PDF's `%PDF-` header may sit; readers tolerate a little padding
/// before it, but only whitespace, so an HTML page that merely mentions `%PDF-` is not a PDF.
const PDF_HEADER_WINDOW: usize = 1024;
/// The eight bytes that open every OLE2 / Compound File Binary container.
const OLE2_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const ZIP_LOCAL: &[u8] = b"PK\x03\x04";
const ZIP_CENTRAL: &[u8] = b"PK\x01\x02";
const ZIP_END: &[u8] = b"PK\x05\x06";
/// Enough entries to reach the part folder of any office file; bounds the work on hostile input.
const MAX_ZIP_ENTRIES: usize = 512;

/// The kinds of document accepted as attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// PDF, the usual form of plans and signed reports.
    Pdf,
    /// JPEG image (a scanned page or a photo of one).
    Jpeg,
    /// PNG image.
    Png,
    /// WebP image.
    Webp,
    /// Word document (Office Open XML).
    Docx,
    /// Excel workbook (Office Open XML).
    Xlsx,
    /// PowerPoint presentation (Office Open XML).
    Pptx,
    /// Legacy Word document (OLE2).
    Doc,
    /// Legacy Excel workbook (OLE2).
    Xls,
    /// Legacy PowerPoint presentation (OLE2).
    Ppt,
    /// OpenDocument text.
    Odt,
    /// OpenDocument spreadsheet.
    Ods,
}

impl DocKind {
    /// Every accepted kind, so tests and docs can list them.
    pub const ALL: [DocKind; 12] = [
        DocKind::Pdf,
        DocKind::Jpeg,
        DocKind::Png,
        DocKind::Webp,
        DocKind::Docx,
        DocKind::Xlsx,
        DocKind::Pptx,
        DocKind::Doc,
        DocKind::Xls,
        DocKind::Ppt,
        DocKind::Odt,
        DocKind::Ods,
    ];

    /// The canonical media type, stored with the attachment and served back as its Content-Type.
    pub fn media_type(self) -> &'static str {
        match self {
            DocKind::Pdf => "application/pdf",
            DocKind::Jpeg => "image/jpeg",
            DocKind::Png => "image/png",
            DocKind::Webp => "image/webp",
            DocKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            DocKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            DocKind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            DocKind::Doc => "application/msword",
            DocKind::Xls => "application/vnd.ms-excel",
            DocKind::Ppt => "application/vnd.ms-powerpoint",
            DocKind::Odt => "application/vnd.oasis.opendocument.text",
            DocKind::Ods => "application/vnd.oasis.opendocument.spreadsheet",
        }
    }

    /// Parses a claimed media type (ignoring parameters and case); None if not an accepted kind.
    /// A few common aliases that browsers and phones still send are accepted too.
    pub fn from_media_type(s: &str) -> Option<DocKind> {
        let essence = s.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "application/x-pdf" => Some(DocKind::Pdf),
            "image/jpg" | "image/pjpeg" => Some(DocKind::Jpeg),
            lower => DocKind::ALL.into_iter().find(|kind| kind.media_type() == lower),
        }
    }

    /// Human words for messages: "a PDF", "a Word document (.docx)".
    fn words(self) -> &'static str {
        match self {
            DocKind::Pdf => "a PDF",
            DocKind::Jpeg => "a JPEG image",
            DocKind::Png => "a PNG image",
            DocKind::Webp => "a WebP image",
            DocKind::Docx => "a Word document (.docx)",
            DocKind::Xlsx => "an Excel workbook (.xlsx)",
            DocKind::Pptx => "a PowerPoint presentation (.pptx)",
            DocKind::Doc => "a Word document (.doc)",
            DocKind::Xls => "an Excel workbook (.xls)",
            DocKind::Ppt => "a PowerPoint presentation (.ppt)",
            DocKind::Odt => "an OpenDocument text (.odt)",
            DocKind::Ods => "an OpenDocument spreadsheet (.ods)",
        }
    }

    fn is_zip(self) -> bool {
        matches!(
            self,
            DocKind::Docx | DocKind::Xlsx | DocKind::Pptx | DocKind::Odt | DocKind::Ods
        )
    }

    fn is_ole2(self) -> bool {
        matches!(self, DocKind::Doc | DocKind::Xls | DocKind::Ppt)
    }
}

/// Why a document's bytes were refused.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Zero bytes were uploaded.
    #[error("the file is empty")]
    Empty,
    /// The claimed media type is not one we store.
    #[error("`{0}` is not an accepted document type; send PDF, JPEG, PNG, WebP or an office file")]
    UnsupportedClaim(String),
    /// The bytes are some other kind of file than the one claimed.
    #[error("the file claims to be {claimed} but its bytes are {found}")]
    Mismatch {
        /// The claimed kind, in words.
        claimed: &'static str,
        /// What the bytes look like, in words.
        found: &'static str,
    },
    /// The bytes start right but the file is cut short or broken.
    #[error("the file is truncated or malformed: {0}")]
    Malformed(&'static str),
}

/// What the bytes look like; wider than [`DocKind`] so a refusal can name what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Kind(DocKind),
    /// Any OLE2 container: legacy Word, Excel and PowerPoint all use it.
    Ole2,
    OtherOpenDocument,
    Zip,
    Gif,
    Html,
    Rtf,
    Unknown,
}

impl Found {
    fn words(self) -> &'static str {
        match self {
            Found::Kind(kind) => kind.words(),
            // Password-protected .docx/.xlsx files are OLE2 containers as well.
            Found::Ole2 => "a legacy Office file (.doc, .xls or .ppt) or an encrypted Office file",
            Found::OtherOpenDocument => "an OpenDocument file that is neither text nor a spreadsheet",
            Found::Zip => "a ZIP archive that is not an office document",
            Found::Gif => "a GIF image",
            Found::Html => "HTML",
            Found::Rtf => "an RTF document",
            Found::Unknown => "plain text or unknown data",
        }
    }
}

/// Reads the head (first up to 64 KiB) and tail (last up to 64 KiB) of a file and checks the bytes
/// are of the claimed kind; `len` is the whole file's size. Returns the claimed kind on success.
pub fn check(claimed: &str, head: &[u8], tail: &[u8], len: u64) -> Result<DocKind, DocError> {
    if len == 0 || head.is_empty() {
        return Err(DocError::Empty);
    }
    let kind =
        DocKind::from_media_type(claimed).ok_or_else(|| DocError::UnsupportedClaim(claimed.to_owned()))?;
    let is_zip = head.starts_with(ZIP_LOCAL);
    // A cut-off ZIP loses its central directory, which may be where its part names were; call it
    // truncated rather than guessing at its kind.
    if kind.is_zip() && is_zip && !contains(tail, ZIP_END) {
        return Err(DocError::Malformed(
            "the ZIP archive has no end-of-central-directory record",
        ));
    }
    let found = if is_zip {
        zip_kind(head, tail, len)
    } else {
        sniff(head)
    };
    let accepted = match found {
        Found::Kind(k) => k == kind,
        // An OLE2 file's streams say whether it is Word, Excel or PowerPoint, but finding them means
        // walking the sector allocation table across the whole file; the container alone is
        // accepted for any of the three legacy claims.
        Found::Ole2 => kind.is_ole2(),
        _ => false,
    };
    if !accepted {
        return Err(DocError::Mismatch {
            claimed: kind.words(),
            found: found.words(),
        });
    }
    if kind == DocKind::Pdf && !contains(tail, b"%%EOF") {
        return Err(DocError::Malformed("the PDF has no %%EOF end marker"));
    }
    Ok(kind)
}

/// Recognises everything but ZIP by its first bytes.
fn sniff(head: &[u8]) -> Found {
    if head.starts_with(b"\xFF\xD8\xFF") {
        Found::Kind(DocKind::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Found::Kind(DocKind::Png)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        Found::Kind(DocKind::Webp)
    } else if head.starts_with(OLE2_MAGIC) {
        Found::Ole2
    } else if head.starts_with(b"GIF8") {
        Found::Gif
    } else if pdf_header(head) {
        Found::Kind(DocKind::Pdf)
    } else if head.starts_with(b"{\\rtf") {
        Found::Rtf
    } else if looks_like_html(head) {
        Found::Html
    } else {
        Found::Unknown
    }
}

/// `%PDF-` within the first [`PDF_HEADER_WINDOW`] bytes, after nothing but whitespace.
fn pdf_header(head: &[u8]) -> bool {
    let window = &head[..head.len().min(PDF_HEADER_WINDOW)];
    let padding = window
        .iter()
        .take_while(|b| b.is_ascii_whitespace() || **b == 0)
        .count();
    window[padding..].starts_with(b"%PDF-")
}

fn looks_like_html(head: &[u8]) -> bool {
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let opening = &body[start..body.len().min(start + 64)];
    let lower = opening.to_ascii_lowercase();
    lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") || lower.starts_with(b"<head")
}

/// Tells the office formats apart by the names of their parts. No ZIP crate: only entry names and
/// the stored `mimetype` entry are needed, both readable from the raw headers without inflating
/// anything, and a full reader would want the whole file rather than its two ends.
fn zip_kind(head: &[u8], tail: &[u8], len: u64) -> Found {
    let local = local_entries(head);
    if let Some(first) = local.first()
        && first.name == b"mimetype"
    {
        return match first.stored_data.map(<[u8]>::trim_ascii) {
            Some(b"application/vnd.oasis.opendocument.text") => Found::Kind(DocKind::Odt),
            Some(b"application/vnd.oasis.opendocument.spreadsheet") => Found::Kind(DocKind::Ods),
            _ => Found::OtherOpenDocument,
        };
    }
    // Streaming writers put sizes after the data, which stops the walk over local headers at the
    // first entry; the central directory in the tail still lists every name.
    let central = central_names(tail, len);
    let names = local.iter().map(|entry| entry.name).chain(central);
    for name in names {
        for (folder, kind) in [
            (&b"word/"[..], DocKind::Docx),
            (b"xl/", DocKind::Xlsx),
            (b"ppt/", DocKind::Pptx),
        ] {
            if name.starts_with(folder) {
                return Found::Kind(kind);
            }
        }
    }
    Found::Zip
}

/// One local file header found in the head.
struct LocalEntry<'a> {
    name: &'a [u8],
    /// The entry's bytes when stored uncompressed with its size known up front and inside the head.
    stored_data: Option<&'a [u8]>,
}

/// Walks the local file headers from the start of the head until one does not fit.
fn local_entries(head: &[u8]) -> Vec<LocalEntry<'_>> {
    let mut entries = Vec::new();
    let mut pos = 0usize;
    while entries.len() < MAX_ZIP_ENTRIES && bytes_at(head, pos, 4) == Some(ZIP_LOCAL) {
        let (Some(flags), Some(method), Some(size), Some(name_len), Some(extra_len)) = (
            u16_at(head, pos + 6),
            u16_at(head, pos + 8),
            u32_at(head, pos + 18),
            u16_at(head, pos + 26),
            u16_at(head, pos + 28),
        ) else {
            break;
        };
        let name_start = pos + 30;
        let Some(name) = bytes_at(head, name_start, usize::from(name_len)) else {
            break;
        };
        let data_start = name_start + usize::from(name_len) + usize::from(extra_len);
        // Bit 3: sizes follow the data, so neither the data nor the next header can be found.
        let sized = flags & 0x0008 == 0;
        let data = bytes_at(head, data_start, size as usize);
        entries.push(LocalEntry {
            name,
            stored_data: data.filter(|_| sized && method == 0),
        });
        if !sized || size == u32::MAX {
            break;
        }
        pos = data_start.saturating_add(size as usize);
    }
    entries
}

/// The entry names in the central directory, when the end record and the directory are in the tail.
fn central_names(tail: &[u8], len: u64) -> Vec<&[u8]> {
    let mut names = Vec::new();
    let Some(end) = rfind(tail, ZIP_END) else {
        return names;
    };
    let (Some(count), Some(dir_offset)) = (u16_at(tail, end + 10), u32_at(tail, end + 16)) else {
        return names;
    };
    let Some(tail_start) = len.checked_sub(tail.len() as u64) else {
        return names;
    };
    let Some(Ok(mut pos)) = u64::from(dir_offset).checked_sub(tail_start).map(usize::try_from) else {
        return names;
    };
    while names.len() < usize::from(count).min(MAX_ZIP_ENTRIES) && bytes_at(tail, pos, 4) == Some(ZIP_CENTRAL)
    {
        let (Some(name_len), Some(extra_len), Some(comment_len)) = (
            u16_at(tail, pos + 28),
            u16_at(tail, pos + 30),
            u16_at(tail, pos + 32),
        ) else {
            break;
        };
        let name_start = pos + 46;
        let Some(name) = bytes_at(tail, name_start, usize::from(name_len)) else {
            break;
        };
        names.push(name);
        pos = name_start + usize::from(name_len) + usize::from(extra_len) + usize::from(comment_len);
    }
    names
}

/// `n` bytes at `at`, or `None` when they run past the end (offsets come from the file itself).
fn bytes_at(bytes: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    bytes.get(at..at.checked_add(n)?)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes_at(bytes, at, 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes_at(bytes, at, 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a whole in-memory file, as the caller would with a small upload.
    fn whole(claimed: &str, bytes: &[u8]) -> Result<DocKind, DocError> {
        check(claimed, bytes, bytes, bytes.len() as u64)
    }

    /// Builds a stored ZIP; `streamed` sets the data-descriptor flag with zero sizes in the local
    /// headers, as streaming writers do.
    fn zip(entries: &[(&str, &[u8])], streamed: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in entries {
            let offset = out.len() as u32;
            let (flags, size) = if streamed {
                (8u16, 0u32)
            } else {
                (0, data.len() as u32)
            };
            out.extend_from_slice(ZIP_LOCAL);
            out.extend_from_slice(&[20, 0]);
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&[0; 2 + 4 + 4]); // method (stored), time, date, crc
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            if streamed {
                out.extend_from_slice(&[0; 12]);
            }
            central.extend_from_slice(ZIP_CENTRAL);
            central.extend_from_slice(&[0; 24]);
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let dir_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(ZIP_END);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&dir_offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    fn ooxml(folder: &str, streamed: bool) -> Vec<u8> {
        let part = format!("{folder}document.xml");
        zip(
            &[
                ("[Content_Types].xml", b"<Types/>"),
                ("_rels/.rels", b"<Relationships/>"),
                (&part, b"<x/>"),
            ],
            streamed,
        )
    }

    fn odf(mimetype: &str) -> Vec<u8> {
        zip(
            &[
                ("mimetype", mimetype.as_bytes()),
                ("content.xml", b"<office:document-content/>"),
            ],
            false,
        )
    }

    fn mismatch(result: Result<DocKind, DocError>) -> (&'static str, &'static str) {
        match result {
            Err(DocError::Mismatch { claimed, found }) => (claimed, found),
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    const OLE2: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0\0\0\0\0";

    #[test]
    fn accepts_each_kind() {
        assert_eq!(whole("application/pdf", PDF).unwrap(), DocKind::Pdf);
        assert_eq!(
            whole("image/jpeg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0").unwrap(),
            DocKind::Jpeg
        );
        assert_eq!(
            whole("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap(),
            DocKind::Png
        );
        assert_eq!(
            whole("image/webp", b"RIFF\x24\0\0\0WEBPVP8 ").unwrap(),
            DocKind::Webp
        );
        assert_eq!(
            whole(DocKind::Docx.media_type(), &ooxml("word/", false)).unwrap(),
            DocKind::Docx
        );
        assert_eq!(
            whole(DocKind::Xlsx.media_type(), &ooxml("xl/", false)).unwrap(),
            DocKind::Xlsx
        );
        assert_eq!(
            whole(DocKind::Pptx.media_type(), &ooxml("ppt/", false)).unwrap(),
            DocKind::Pptx
        );
        let odt = odf("application/vnd.oasis.opendocument.text");
        assert_eq!(
            whole("application/vnd.oasis.opendocument.text", &odt).unwrap(),
            DocKind::Odt
        );
        let ods = odf("application/vnd.oasis.opendocument.spreadsheet");
        assert_eq!(
            whole("application/vnd.oasis.opendocument.spreadsheet", &ods).unwrap(),
            DocKind::Ods
        );
    }

    #[test]
    fn ole2_is_accepted_for_any_legacy_office_claim() {
        for kind in [DocKind::Doc, DocKind::Xls, DocKind::Ppt] {
            assert_eq!(whole(kind.media_type(), OLE2).unwrap(), kind);
        }
        let (claimed, found) = mismatch(whole(DocKind::Docx.media_type(), OLE2));
        assert_eq!(claimed, "a Word document (.docx)");
        assert!(found.starts_with("a legacy Office file"), "{found}");
        assert_eq!(mismatch(whole("application/msword", PDF)).1, "a PDF");
    }

    #[test]
    fn pdf_header_may_follow_a_little_junk() {
        let mut bytes = vec![b' '; 1000];
        bytes.extend_from_slice(PDF);
        assert_eq!(whole("application/pdf", &bytes).unwrap(), DocKind::Pdf);
        let mut late = vec![b' '; 2000];
        late.extend_from_slice(PDF);
        assert_eq!(
            mismatch(whole("application/pdf", &late)).1,
            "plain text or unknown data"
        );
        let mut html = b"<!doctype html><script>alert(1)</script><!-- ".to_vec();
        html.extend_from_slice(PDF);
        assert_eq!(mismatch(whole("application/pdf", &html)).1, "HTML");
    }

    #[test]
    fn pdf_is_checked_from_separate_head_and_tail() {
        let head = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
        assert_eq!(
            check("application/pdf", head, b"startxref\n123\n%%EOF\r\n", 10_000_000).unwrap(),
            DocKind::Pdf
        );
        let err = check("application/pdf", head, b"stream\n\x01\x02\x03", 10_000_000).unwrap_err();
        assert!(matches!(err, DocError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn pdf_without_eof_marker_is_malformed() {
        let cut = &PDF[..PDF.len() - 7];
        let err = whole("application/pdf", cut).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is truncated or malformed: the PDF has no %%EOF end marker"
        );
    }

    #[test]
    fn html_claimed_as_pdf_is_refused() {
        let html = b"\xEF\xBB\xBF\n  <!DOCTYPE html><html><body>Error 404</body></html>";
        let err = whole("application/pdf", html).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file claims to be a PDF but its bytes are HTML"
        );
        assert_eq!(mismatch(whole("application/pdf", b"<html><head>")).1, "HTML");
    }

    #[test]
    fn other_mismatches_name_what_was_found() {
        assert_eq!(
            mismatch(whole("application/pdf", b"\x89PNG\r\n\x1a\n\0")).1,
            "a PNG image"
        );
        assert_eq!(
            mismatch(whole("image/png", b"\xFF\xD8\xFF\xDB")),
            ("a PNG image", "a JPEG image")
        );
        assert_eq!(mismatch(whole("image/jpeg", b"GIF89a\x01\0")).1, "a GIF image");
        assert_eq!(
            mismatch(whole("application/msword", b"{\\rtf1\\ansi")).1,
            "an RTF document"
        );
        assert_eq!(
            mismatch(whole("application/pdf", &ooxml("word/", false))).1,
            "a Word document (.docx)"
        );
        let (claimed, found) = mismatch(whole(DocKind::Xlsx.media_type(), &ooxml("word/", false)));
        assert_eq!(
            (claimed, found),
            ("an Excel workbook (.xlsx)", "a Word document (.docx)")
        );
        let odt = odf("application/vnd.oasis.opendocument.text");
        assert_eq!(
            mismatch(whole(DocKind::Ods.media_type(), &odt)).1,
            "an OpenDocument text (.odt)"
        );
        let odp = odf("application/vnd.oasis.opendocument.presentation");
        let found = mismatch(whole(DocKind::Odt.media_type(), &odp)).1;
        assert_eq!(
            found,
            "an OpenDocument file that is neither text nor a spreadsheet"
        );
    }

    #[test]
    fn random_bytes_claimed_as_docx_are_refused() {
        let bytes: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let (claimed, found) = mismatch(whole(DocKind::Docx.media_type(), &bytes));
        assert_eq!(claimed, "a Word document (.docx)");
        assert_eq!(found, "plain text or unknown data");
    }

    #[test]
    fn plain_zip_is_not_an_office_document() {
        let archive = zip(&[("photos/a.jpg", b"\xFF\xD8\xFF"), ("notes.txt", b"hi")], false);
        let found = mismatch(whole(DocKind::Docx.media_type(), &archive)).1;
        assert_eq!(found, "a ZIP archive that is not an office document");
    }

    #[test]
    fn streamed_ooxml_is_recognised_from_the_central_directory() {
        let bytes = ooxml("xl/", true);
        assert_eq!(local_entries(&bytes).len(), 1);
        assert_eq!(whole(DocKind::Xlsx.media_type(), &bytes).unwrap(), DocKind::Xlsx);
        // Same file seen through a head and tail that do not overlap.
        let (head, tail) = (&bytes[..40], &bytes[bytes.len() - 230..]);
        assert_eq!(
            check(DocKind::Xlsx.media_type(), head, tail, bytes.len() as u64).unwrap(),
            DocKind::Xlsx
        );
    }

    #[test]
    fn zip_without_end_record_is_malformed() {
        let bytes = ooxml("word/", false);
        let cut = &bytes[..bytes.len() - 30];
        let err = whole(DocKind::Docx.media_type(), cut).unwrap_err();
        assert!(matches!(err, DocError::Malformed(_)), "{err:?}");
        // Claimed as something else, the bytes are still named.
        assert_eq!(
            mismatch(whole("application/pdf", cut)).1,
            "a Word document (.docx)"
        );
    }

    #[test]
    fn empty_file_is_refused() {
        assert!(matches!(whole("application/pdf", b""), Err(DocError::Empty)));
        assert!(matches!(
            check("application/pdf", b"", b"", 10),
            Err(DocError::Empty)
        ));
        assert_eq!(DocError::Empty.to_string(), "the file is empty");
    }

    #[test]
    fn unaccepted_claims_are_refused() {
        for claim in ["text/plain", "text/html", "application/zip", "image/gif", ""] {
            match whole(claim, PDF) {
                Err(DocError::UnsupportedClaim(c)) => assert_eq!(c, claim),
                other => panic!("{claim}: {other:?}"),
            }
        }
        let err = whole("text/plain", PDF).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`text/plain` is not an accepted document type; send PDF, JPEG, PNG, WebP or an office file"
        );
    }

    #[test]
    fn media_types_ignore_case_and_parameters() {
        assert_eq!(
            DocKind::from_media_type("Application/PDF; charset=binary"),
            Some(DocKind::Pdf)
        );
        assert_eq!(DocKind::from_media_type("  image/JPEG "), Some(DocKind::Jpeg));
        assert_eq!(DocKind::from_media_type("image/jpg"), Some(DocKind::Jpeg));
        assert_eq!(DocKind::from_media_type("application/x-pdf"), Some(DocKind::Pdf));
        assert_eq!(
            DocKind::from_media_type(
                "APPLICATION/VND.OPENXMLFORMATS-OFFICEDOCUMENT.WORDPROCESSINGML.DOCUMENT;x=y"
            ),
            Some(DocKind::Docx)
        );
        assert_eq!(DocKind::from_media_type("application/pdfx"), None);
        for kind in DocKind::ALL {
            assert_eq!(DocKind::from_media_type(kind.media_type()), Some(kind));
        }
        assert_eq!(whole("Application/Pdf; q=1", PDF).unwrap(), DocKind::Pdf);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(
            head in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            len in 0u64..2000,
            zip_head in proptest::bool::ANY,
            claim in 0usize..DocKind::ALL.len(),
        ) {
            let mut head = head;
            if zip_head {
                head.splice(0..0, ZIP_LOCAL.iter().copied());
            }
            let mut tail = tail;
            tail.extend_from_slice(ZIP_END);
            tail.extend_from_slice(&[1, 0, 0, 0, 1, 0, 1, 0, 46, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            let _ = check(DocKind::ALL[claim].media_type(), &head, &tail, len);
        }
    }
}
