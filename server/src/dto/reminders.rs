//! Reminders and their SMS messages, as supervisors review them on a task.

use chrono::{DateTime, Utc};
use fieldproof_core::ids::{OrgId, PhaseId, TaskId, UrgeId};
use fieldproof_core::store::{MessageRow, ReminderRow};
use serde::Serialize;

/// One reminder event with the messages it sent.
#[derive(Debug, Serialize)]
pub struct ReminderDto {
    pub id: uuid::Uuid,
    pub task_id: TaskId,
    pub phase_id: Option<PhaseId>,
    /// `due_soon`, `overdue`, `escalation` or `urge`.
    pub kind: String,
    /// Days before the due date (warnings) or days overdue.
    pub step: i32,
    pub due_at: Option<DateTime<Utc>>,
    pub urge_id: Option<UrgeId>,
    pub created_at: DateTime<Utc>,
    pub messages: Vec<MessageDto>,
}

/// One SMS to one person.
#[derive(Debug, Serialize)]
pub struct MessageDto {
    pub id: uuid::Uuid,
    pub org_id: Option<OrgId>,
    pub recipient: String,
    /// The number it went to (masked for agency staff).
    pub mobile: String,
    /// The text as the recipient reads it.
    pub text: String,
    /// `queued`, `sending`, `sent`, `delivered`, `failed` or `unreachable`.
    pub status: String,
    pub attempts: i32,
    /// When it is next tried, while queued.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed or why it waits.
    pub error: Option<String>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The delivery receipt as the provider sent it.
    pub receipt: Option<serde_json::Value>,
}

impl ReminderDto {
    /// A reminder with its messages.
    pub fn new(r: &ReminderRow, messages: &[MessageRow]) -> Self {
        Self {
            id: r.id,
            task_id: r.task_id,
            phase_id: r.phase_id,
            kind: r.kind.clone(),
            step: r.step,
            due_at: r.due_at,
            urge_id: r.urge_id,
            created_at: r.created_at,
            messages: messages
                .iter()
                .map(|m| MessageDto {
                    id: m.id,
                    org_id: m.org_id,
                    recipient: m.recipient_name.clone(),
                    mobile: m.mobile.clone(),
                    text: m.body.clone(),
                    status: m.status.clone(),
                    attempts: m.attempts,
                    next_attempt_at: (m.status == "queued").then_some(m.next_attempt_at),
                    error: m.last_error.clone(),
                    provider: m.provider.clone(),
                    provider_message_id: m.provider_message_id.clone(),
                    sent_at: m.sent_at,
                    delivered_at: m.delivered_at,
                    receipt: m.receipt.as_deref().and_then(|r| serde_json::from_str(r).ok()),
                })
                .collect(),
        }
    }
}
