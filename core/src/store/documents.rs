//! Documents: stored once uploaded, attached to plans and reports, readable through tasks.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, audit, in_tx, on_pool};
use crate::audit::{Actor, AuditEvent};
use crate::domain::Document;
use crate::ids::{DocumentId, OrgId, TaskId, UserId};

const DOCUMENT_COLUMNS: &str =
    "id, sha256, size_bytes, content_type, file_name, object_key, org_id, uploaded_by, uploaded_at";

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: DocumentId,
    sha256: String,
    size_bytes: i64,
    content_type: String,
    file_name: String,
    object_key: String,
    org_id: Option<OrgId>,
    uploaded_by: UserId,
    uploaded_at: DateTime<Utc>,
}

impl From<DocumentRow> for Document {
    fn from(r: DocumentRow) -> Self {
        Document {
            id: r.id,
            sha256: r.sha256,
            size_bytes: r.size_bytes,
            content_type: r.content_type,
            file_name: r.file_name,
            object_key: r.object_key,
            org_id: r.org_id,
            uploaded_by: r.uploaded_by,
            uploaded_at: r.uploaded_at,
        }
    }
}

impl Store {
    /// Records an uploaded document whose bytes are already in object storage.
    pub async fn create_document(&self, doc: &Document, actor: &Actor) -> StoreResult<()> {
        let event = AuditEvent::new(
            doc.uploaded_at,
            actor,
            "document.uploaded",
            "document",
            doc.id.0,
            &serde_json::json!({
                "file_name": doc.file_name, "content_type": doc.content_type,
                "sha256": doc.sha256, "size_bytes": doc.size_bytes,
            }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO documents (id, sha256, size_bytes, content_type, file_name, object_key, org_id, \
                 uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(doc.id)
            .bind(&doc.sha256)
            .bind(doc.size_bytes)
            .bind(&doc.content_type)
            .bind(&doc.file_name)
            .bind(&doc.object_key)
            .bind(doc.org_id)
            .bind(doc.uploaded_by)
            .bind(doc.uploaded_at)
            .execute(&mut *tx)
            .await?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// One document.
    pub async fn find_document(&self, id: DocumentId) -> StoreResult<Option<Document>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1");
        let row: Option<DocumentRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(Document::from))
    }

    /// The tasks a document is attached to (through a plan or a report).
    pub async fn document_tasks(&self, id: DocumentId) -> StoreResult<Vec<TaskId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT DISTINCT task_id FROM attachments WHERE document_id = $1")
                .bind(id)
                .fetch_all(pool)
                .await?
        }))
    }
}
