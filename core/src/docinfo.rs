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
mod tests;
