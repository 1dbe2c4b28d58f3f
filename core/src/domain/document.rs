//! Documents attached to plans and reports (PDF, images, office files).

use chrono::{DateTime, Utc};

use crate::ids::{DocumentId, OrgId, UserId};

/// A stored document; its bytes live in object storage under `object_key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Its id.
    pub id: DocumentId,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// The media type checked against the bytes.
    pub content_type: String,
    /// The file name as uploaded (shown, never used as a path).
    pub file_name: String,
    /// Where the bytes are.
    pub object_key: String,
    /// The uploader's organisation.
    pub org_id: Option<OrgId>,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

/// Longest file name kept, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// A file name made safe to show: path parts and control characters dropped, length capped.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        "document".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::clean_file_name;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\x\\整改方案.pdf"), "整改方案.pdf");
        assert_eq!(clean_file_name("a\u{0}b\nc.pdf"), "abc.pdf");
        assert_eq!(clean_file_name(".."), "document");
        assert_eq!(clean_file_name(""), "document");
    }
}
