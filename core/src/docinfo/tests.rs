//! Unit tests of `docinfo`.
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
