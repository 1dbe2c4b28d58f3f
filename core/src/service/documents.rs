//! Documents attached to plans and reports: uploaded once, checked against their claimed
//! type, stored content-addressed, read by whoever may see a task they are attached to.

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::Caller;
use super::upload::StagedUpload;
use crate::app::App;
use crate::audit::AuditEvent;
use crate::docinfo;
use crate::domain::{Document, Role, ValidationError, document::clean_file_name};
use crate::error::ApiError;
use crate::ids::{DocumentId, TaskId};
use crate::storage::{ObjectBody, StorageError};

/// Bytes read from each end of a staged file to check its type.
const PROBE_BYTES: u64 = 64 * 1024;

/// Where a document's bytes live: by content, like photo originals.
pub fn document_key(sha256_hex: &str) -> String {
    format!(
        "documents/{}/{}/{sha256_hex}",
        &sha256_hex[..2],
        &sha256_hex[2..4]
    )
}

/// 403 unless the caller may upload documents (agency staff and supervisors, who attach them to
/// plans and reports); asked before any byte of the body is read.
pub fn may_upload(caller: &Caller) -> Result<(), ApiError> {
    super::require_role(
        &caller.user,
        &[Role::Agency, Role::Supervisor],
        "only agency staff and supervisors upload documents",
    )
}

/// Stores an uploaded document after checking its bytes are the claimed kind.
pub async fn upload(
    app: &App,
    caller: &Caller,
    claimed_type: &str,
    file_name: &str,
    staged: StagedUpload,
) -> Result<Document, ApiError> {
    may_upload(caller)?;
    let kind = probe(&staged, claimed_type).await?;
    let key = document_key(&staged.sha256);
    let content_type = kind.media_type();
    let (sha256, size) = (staged.sha256.clone(), staged.size);
    app.objects
        .put_staged_once(&key, staged.into_temp_path(), content_type)
        .await?;
    let doc = Document {
        id: DocumentId::new(),
        sha256,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        content_type: content_type.to_owned(),
        file_name: clean_file_name(file_name),
        object_key: key,
        org_id: caller.user.org_id,
        uploaded_by: caller.user.id,
        uploaded_at: Utc::now(),
    };
    app.store.create_document(&doc, &caller.actor()).await?;
    Ok(doc)
}

async fn probe(staged: &StagedUpload, claimed: &str) -> Result<docinfo::DocKind, ApiError> {
    let io = |e: std::io::Error| ApiError::Internal(format!("reading staged document: {e}"));
    let mut file = tokio::fs::File::open(staged.path()).await.map_err(io)?;
    let len = staged.size;
    let mut head = vec![0; usize::try_from(len.min(PROBE_BYTES)).unwrap_or(0)];
    file.read_exact(&mut head).await.map_err(io)?;
    let tail_len = len.min(PROBE_BYTES);
    file.seek(std::io::SeekFrom::Start(len - tail_len))
        .await
        .map_err(io)?;
    let mut tail = vec![0; usize::try_from(tail_len).unwrap_or(0)];
    file.read_exact(&mut tail).await.map_err(io)?;
    Ok(docinfo::check(claimed, &head, &tail, len)?)
}

/// Checks that every listed document exists and was uploaded by the caller's organisation
/// (or the caller), so nobody attaches someone else's file.
pub async fn check_attachable(app: &App, caller: &Caller, ids: &[DocumentId]) -> Result<(), ApiError> {
    let mut errors = ValidationError::default();
    for (i, id) in ids.iter().enumerate() {
        let ours = app.store.find_document(*id).await?.is_some_and(|d| {
            d.uploaded_by == caller.user.id || (d.org_id.is_some() && d.org_id == caller.user.org_id)
        });
        if !ours {
            errors.add(format!("document_ids[{i}]"), "no such document");
        }
    }
    Ok(errors.into_result()?)
}

/// A document the caller may see: their organisation's upload, or attached to a task they
/// may see.
pub async fn find(app: &App, caller: &Caller, id: DocumentId) -> Result<Document, ApiError> {
    let doc = app
        .store
        .find_document(id)
        .await?
        .ok_or(ApiError::NotFound("document"))?;
    let own = doc.uploaded_by == caller.user.id || (doc.org_id.is_some() && doc.org_id == caller.user.org_id);
    if own || caller.user.role == Role::Admin {
        return Ok(doc);
    }
    for task in app.store.document_tasks(id).await? {
        if visible_task(app, caller, task).await {
            return Ok(doc);
        }
    }
    Err(ApiError::NotFound("document"))
}

async fn visible_task(app: &App, caller: &Caller, task: TaskId) -> bool {
    super::visible_task(app, &caller.user, task).await.is_ok()
}

/// Opens a document's bytes and records who downloaded it.
pub async fn open(app: &App, caller: &Caller, doc: &Document) -> Result<ObjectBody, ApiError> {
    let body = match app.objects.get_stream(&doc.object_key).await {
        Ok(body) => body,
        Err(StorageError::NotFound) => return Err(ApiError::NotFound("object")),
        Err(e) => return Err(e.into()),
    };
    let event = AuditEvent::new(
        Utc::now(),
        &caller.actor(),
        "document.downloaded",
        "document",
        doc.id.0,
        &serde_json::json!({ "file_name": doc.file_name }),
    );
    app.store.append_audit(&event).await?;
    Ok(body)
}
