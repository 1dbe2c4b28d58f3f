//! Reading and writing the upload protocols' headers: which dialect a request speaks,
//! offsets, lengths, checksums, metadata, and the headers of the answers.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fieldproof_core::ids::{PhotoId, RecordId};
use fieldproof_core::service::resumable::Checksum;
use fieldproof_core::store::UploadRow;
use fieldproof_core::{ApiError, App};

/// The one tus version served.
pub(super) const TUS_VERSION: &str = "1.0.0";
/// The tus extensions served, as `Tus-Extension` lists them.
pub(super) const TUS_EXTENSIONS: &str = "creation,creation-with-upload,checksum,termination,expiration";
const TUS_CHUNK_TYPE: &str = "application/offset+octet-stream";
const IETF_CHUNK_TYPE: &str = "application/partial-upload";
/// Longest `Upload-Metadata` accepted; ours needs a few ids.
const MAX_METADATA_BYTES: usize = 4096;

/// Which protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// tus 1.0.0.
    Tus,
    /// The IETF resumable-upload draft.
    Ietf,
}

/// Whether the request carries the IETF draft's headers.
pub(super) fn speaks_ietf(headers: &HeaderMap) -> bool {
    headers.contains_key("upload-draft-interop-version") || headers.contains_key("upload-complete")
}

/// The request's protocol; 412 when it is tus without `Tus-Resumable: 1.0.0` (or neither).
pub(super) fn dialect(headers: &HeaderMap) -> Result<Dialect, ApiError> {
    match headers.get("tus-resumable") {
        Some(v) if v == TUS_VERSION => Ok(Dialect::Tus),
        Some(_) => Err(ApiError::TusVersion),
        None if speaks_ietf(headers) => Ok(Dialect::Ietf),
        None => Err(ApiError::TusVersion),
    }
}

/// 415 unless a chunk has its protocol's content type.
pub(super) fn require_chunk_type(headers: &HeaderMap, dialect: Dialect) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let ok = match (dialect, content_type.as_deref()) {
        (Dialect::Tus, Some(t)) => t == TUS_CHUNK_TYPE,
        (Dialect::Tus, None) => false,
        (Dialect::Ietf, Some(t)) => t == IETF_CHUNK_TYPE || t == TUS_CHUNK_TYPE,
        (Dialect::Ietf, None) => true,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::UnsupportedType(match dialect {
            Dialect::Tus => format!("a tus chunk is sent as {TUS_CHUNK_TYPE}"),
            Dialect::Ietf => format!("an upload append is sent as {IETF_CHUNK_TYPE}"),
        }))
    }
}

/// A header holding a non-negative integer, sent at most once; 400 otherwise.
pub(super) fn number_header(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    if headers.get_all(name).iter().count() > 1 {
        return Err(ApiError::Malformed(format!("{name} is sent more than once")));
    }
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::Malformed(format!("{name} must be a non-negative integer")))
}

/// A structured-field boolean (`?1` or `?0`), as the draft's `Upload-Complete` is.
pub(super) fn upload_complete(headers: &HeaderMap) -> Result<Option<bool>, ApiError> {
    match headers.get("upload-complete").map(HeaderValue::as_bytes) {
        None => Ok(None),
        Some(b"?1") => Ok(Some(true)),
        Some(b"?0") => Ok(Some(false)),
        Some(_) => Err(ApiError::Malformed("Upload-Complete must be ?1 or ?0".into())),
    }
}

/// tus's `Upload-Checksum: <algorithm> <base64 digest>`.
pub(super) fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, ApiError> {
    let Some(value) = headers.get("upload-checksum") else {
        return Ok(None);
    };
    let bad = |why: &str| ApiError::Malformed(format!("Upload-Checksum {why}"));
    let value = value.to_str().map_err(|_| bad("is not ASCII"))?;
    let (algorithm, digest) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad("must be `<algorithm> <base64 digest>`"))?;
    let digest = STANDARD
        .decode(digest.trim())
        .map_err(|_| bad("digest is not base64"))?;
    match algorithm {
        "sha1" => Ok(Some(Checksum::Sha1(
            digest
                .try_into()
                .map_err(|_| bad("sha1 digest is not 20 bytes"))?,
        ))),
        "sha256" => Ok(Some(Checksum::Sha256(
            digest
                .try_into()
                .map_err(|_| bad("sha256 digest is not 32 bytes"))?,
        ))),
        _ => Err(bad("algorithm is not supported; use sha1 or sha256")),
    }
}

/// The record and photo named by tus `Upload-Metadata` (`key base64,key base64,…`); a
/// `content_type` (or tus-js-client's `filetype`) that is not an image is refused up front.
pub(super) fn metadata_target(raw: &str) -> Result<(RecordId, PhotoId), ApiError> {
    if raw.len() > MAX_METADATA_BYTES {
        return Err(ApiError::Malformed(format!(
            "Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes"
        )));
    }
    let (mut record, mut photo) = (None, None);
    let mut seen = std::collections::HashSet::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        if !seen.insert(key) {
            return Err(ApiError::Malformed(format!("Upload-Metadata repeats `{key}`")));
        }
        let value = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| ApiError::Malformed(format!("Upload-Metadata `{key}` is not base64 UTF-8")))?;
        let id = |what: &str| {
            value
                .parse::<uuid::Uuid>()
                .map_err(|_| ApiError::Malformed(format!("Upload-Metadata `{what}` is not a UUID")))
        };
        match key {
            "record_id" => record = Some(RecordId(id("record_id")?)),
            "photo_id" => photo = Some(PhotoId(id("photo_id")?)),
            "content_type" | "filetype" if !is_image_type(&value) => {
                return Err(ApiError::UnsupportedType(format!(
                    "`{value}` is not a photo; send a JPEG, PNG, WebP or HEIC image"
                )));
            }
            _ => {}
        }
    }
    match (record, photo) {
        (Some(record), Some(photo)) => Ok((record, photo)),
        _ => Err(ApiError::Malformed(
            "Upload-Metadata must name record_id and photo_id".into(),
        )),
    }
}

/// Whether a declared type could be a photo: the bytes decide in the end, as for the plain
/// `PUT`, so only types that are plainly something else are refused up front.
fn is_image_type(value: &str) -> bool {
    let value = value.trim().to_ascii_lowercase();
    value.is_empty() || value.starts_with("image/") || value == "application/octet-stream"
}

/// The raw `Upload-Metadata`, empty when absent.
pub(super) fn metadata_header(headers: &HeaderMap) -> Result<String, ApiError> {
    Ok(headers
        .get("upload-metadata")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| ApiError::Malformed("Upload-Metadata is not ASCII".into()))?
        .unwrap_or_default())
}

/// The upload's URL, for `Location`.
pub(super) fn location(upload: &UploadRow) -> HeaderValue {
    HeaderValue::from_str(&format!("/mobile/v1/uploads/{}", upload.id))
        .unwrap_or_else(|_| HeaderValue::from_static("/mobile/v1/uploads"))
}

/// Sets a numeric header of an answer.
pub(super) fn put_number(headers: &mut HeaderMap, name: &'static str, value: u64) {
    headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
}

/// Sets the draft's `Upload-Complete` of an answer.
pub(super) fn put_complete(headers: &mut HeaderMap, complete: bool) {
    headers.insert(
        "upload-complete",
        HeaderValue::from_static(if complete { "?1" } else { "?0" }),
    );
}

/// Sets the draft's `Upload-Limit` of an answer.
pub(super) fn put_limit(headers: &mut HeaderMap, app: &App) {
    if let Ok(v) = HeaderValue::from_str(&format!("max-size={}", app.settings.max_upload_bytes)) {
        headers.insert("upload-limit", v);
    }
}

/// tus's expiration extension: when an unfinished upload will be gone (an HTTP date).
pub(super) fn put_expiry(headers: &mut HeaderMap, upload: &UploadRow) {
    if upload.completed_at.is_some() {
        return;
    }
    let date = upload.expires_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        headers.insert("upload-expires", v);
    }
}

/// A stored offset or length as the wire's unsigned number.
pub(super) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                *k,
                HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn metadata_names_the_record_and_photo() {
        let record = uuid::Uuid::new_v4();
        let photo = uuid::Uuid::new_v4();
        let raw = format!(
            "record_id {},photo_id {},filename {},content_type {}",
            STANDARD.encode(record.to_string()),
            STANDARD.encode(photo.to_string()),
            STANDARD.encode("IMG_0001.HEIC"),
            STANDARD.encode("image/heic"),
        );
        let (r, p) = metadata_target(&raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.0, p.0), (record, photo));
    }

    #[test]
    fn bad_metadata_is_refused() {
        let id = STANDARD.encode(uuid::Uuid::new_v4().to_string());
        for raw in [
            String::new(),
            format!("record_id {id}"),
            format!("record_id {id},photo_id !!!"),
            format!("record_id {id},record_id {id},photo_id {id}"),
            format!("record_id {},photo_id {id}", STANDARD.encode("not-a-uuid")),
            "x".repeat(MAX_METADATA_BYTES + 1),
        ] {
            assert!(
                matches!(metadata_target(&raw), Err(ApiError::Malformed(_))),
                "{raw}"
            );
        }
        let video = format!(
            "record_id {id},photo_id {id},filetype {}",
            STANDARD.encode("video/mp4")
        );
        assert!(matches!(
            metadata_target(&video),
            Err(ApiError::UnsupportedType(_))
        ));
    }

    #[test]
    fn checksums_name_a_supported_algorithm_and_a_whole_digest() {
        let sha1 = STANDARD.encode([7u8; 20]);
        let parsed = checksum(&headers(&[("upload-checksum", &format!("sha1 {sha1}"))]));
        assert!(matches!(parsed, Ok(Some(Checksum::Sha1(d))) if d == [7u8; 20]));
        for bad in ["md5 AAAA", "sha1 !!", &format!("sha256 {sha1}"), "sha1"] {
            assert!(checksum(&headers(&[("upload-checksum", bad)])).is_err(), "{bad}");
        }
    }

    #[test]
    fn dialect_follows_the_headers() {
        assert_eq!(
            dialect(&headers(&[("tus-resumable", "1.0.0")])).ok(),
            Some(Dialect::Tus)
        );
        assert!(matches!(
            dialect(&headers(&[("tus-resumable", "0.2.2")])),
            Err(ApiError::TusVersion)
        ));
        assert!(matches!(dialect(&HeaderMap::new()), Err(ApiError::TusVersion)));
        assert_eq!(
            dialect(&headers(&[("upload-draft-interop-version", "6")])).ok(),
            Some(Dialect::Ietf)
        );
    }

    #[test]
    fn numbers_are_plain_digits() {
        for bad in ["-1", "1e3", " 5", "", "18446744073709551616"] {
            assert!(
                number_header(&headers(&[("upload-offset", bad)]), "upload-offset").is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            number_header(&headers(&[("upload-offset", "42")]), "upload-offset").ok(),
            Some(Some(42))
        );
    }
}
