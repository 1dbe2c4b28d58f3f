//! The tamper-evident audit trail: who did what, when, from where, chained by hash.
//!
//! Each event is written in the same transaction as the change it records, but unchained
//! (`seq` and `hash` empty), so that concurrent writers never wait on one another. A sealer
//! (every replica runs one; they take turns on the chain head's row lock) then gives the
//! committed events their place in the chain: `hash = SHA-256(previous hash, seq, content)`.
//! Editing, deleting or reordering a sealed event breaks the chain at that event; cutting off
//! the newest ones is caught by the checkpoint of the head kept in object storage.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::User;
use crate::ids::{AuditEventId, OrgId, TaskId, UserId};

/// The hash before the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Longest user agent kept, in characters.
const MAX_USER_AGENT_CHARS: usize = 300;

/// Where a request came from, as far as the server can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address (the peer, or the first `X-Forwarded-For` hop when trusted).
    pub ip: Option<String>,
    /// The `User-Agent` header, shortened.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Builds it from raw header values, capping the user agent's length.
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        Self {
            ip,
            user_agent: user_agent.map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_CHARS)
                    .collect()
            }),
        }
    }
}

/// Who did something: the user with their organisation and role, and their client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The user; `None` for the system itself (the worker, the sealer) or an unknown login.
    pub user_id: Option<UserId>,
    /// Their organisation at the time.
    pub org_id: Option<OrgId>,
    /// Their role at the time, by its stored name.
    pub role: Option<String>,
    /// Where they were.
    pub client: ClientInfo,
}

impl Actor {
    /// The system itself.
    pub fn system() -> Self {
        Self::default()
    }

    /// A signed-in user at a client.
    pub fn user(user: &User, client: &ClientInfo) -> Self {
        Self {
            user_id: Some(user.id),
            org_id: user.org_id,
            role: Some(user.role.as_str().to_owned()),
            client: client.clone(),
        }
    }

    /// Someone who is not signed in yet (a failed login), known only by their client.
    pub fn anonymous(client: &ClientInfo) -> Self {
        Self {
            client: client.clone(),
            ..Self::default()
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Its id.
    pub id: AuditEventId,
    /// When it happened, to the microsecond (what both databases keep).
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What was done, e.g. `plan.approved`.
    pub action: String,
    /// The kind of entity acted on, e.g. `plan`.
    pub entity_kind: String,
    /// The entity's id.
    pub entity_id: Uuid,
    /// The task it belongs to, so a task's history is one index lookup.
    pub task_id: Option<TaskId>,
    /// What changed, as compact JSON text (hashed exactly as stored).
    pub summary: String,
}

impl AuditEvent {
    /// An event at `at` (truncated to microseconds).
    pub fn new(
        at: DateTime<Utc>,
        actor: &Actor,
        action: &str,
        entity_kind: &str,
        entity_id: Uuid,
        summary: &serde_json::Value,
    ) -> Self {
        Self {
            id: AuditEventId::new(),
            at: truncate_to_micros(at),
            actor: actor.clone(),
            action: action.to_owned(),
            entity_kind: entity_kind.to_owned(),
            entity_id,
            task_id: None,
            summary: summary.to_string(),
        }
    }

    /// The same event, filed under `task` for its history.
    pub fn on_task(mut self, task: TaskId) -> Self {
        self.task_id = Some(task);
        self
    }

    /// The canonical bytes that are hashed: every stored field, as a JSON array so that no
    /// two different events can produce the same text.
    pub fn content(&self) -> String {
        serde_json::json!([
            self.id.0,
            self.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.actor.user_id.map(|u| u.0),
            self.actor.org_id.map(|o| o.0),
            self.actor.role,
            self.actor.client.ip,
            self.actor.client.user_agent,
            self.action,
            self.entity_kind,
            self.entity_id,
            self.task_id.map(|t| t.0),
            self.summary,
        ])
        .to_string()
    }
}

/// `at` without its nanoseconds, so the value hashed is the value PostgreSQL keeps.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.timestamp_subsec_micros();
    at.with_nanosecond(micros * 1000).unwrap_or(at)
}

/// The chain hash of an event at `seq` after `previous`.
pub fn chain_hash(previous: &str, seq: i64, event: &AuditEvent) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(event.content().as_bytes());
    hex::encode(h.finalize())
}

/// A sealed event as stored: its place in the chain and its hash.
#[derive(Debug, Clone)]
pub struct SealedEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// The stored chain hash.
    pub hash: String,
    /// The event.
    pub event: AuditEvent,
}

/// The chain head written to object storage, outside the database's reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last sealed position when it was written.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was written.
    pub at: DateTime<Utc>,
}

/// What is wrong with the chain, at the first place it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The position where it breaks.
    pub seq: i64,
    /// The event there, when one exists.
    pub event_id: Option<Uuid>,
    /// `altered`, `missing`, `truncated` or `rewritten`.
    pub kind: &'static str,
    /// In words.
    pub detail: String,
}

/// Walks sealed events in `seq` order and finds the first break; feed pages with [`Self::push`].
#[derive(Debug)]
pub struct ChainCheck {
    next_seq: i64,
    previous: String,
    checked: u64,
    broken: Option<Break>,
    checkpoint_hash_seen: Option<bool>,
    checkpoint: Option<Checkpoint>,
}

impl ChainCheck {
    /// A walk from the start, checking against `checkpoint` when there is one.
    pub fn new(checkpoint: Option<Checkpoint>) -> Self {
        Self {
            next_seq: 1,
            previous: GENESIS_HASH.to_owned(),
            checked: 0,
            broken: None,
            checkpoint_hash_seen: None,
            checkpoint,
        }
    }

    /// Checks the next event; returns false once the chain is broken (stop feeding).
    pub fn push(&mut self, sealed: &SealedEvent) -> bool {
        if self.broken.is_some() {
            return false;
        }
        if sealed.seq != self.next_seq {
            self.broken = Some(Break {
                seq: self.next_seq,
                event_id: None,
                kind: "missing",
                detail: format!(
                    "events {} to {} are missing (deleted); the next stored event is #{}",
                    self.next_seq,
                    sealed.seq - 1,
                    sealed.seq
                ),
            });
            return false;
        }
        let expected = chain_hash(&self.previous, sealed.seq, &sealed.event);
        if expected != sealed.hash {
            self.broken = Some(Break {
                seq: sealed.seq,
                event_id: Some(sealed.event.id.0),
                kind: "altered",
                detail: format!(
                    "event #{} ({}) does not match its hash: it was edited, or events were reordered",
                    sealed.seq, sealed.event.id
                ),
            });
            return false;
        }
        if let Some(cp) = &self.checkpoint
            && cp.seq == sealed.seq
        {
            self.checkpoint_hash_seen = Some(cp.hash == sealed.hash);
        }
        self.previous = sealed.hash.clone();
        self.next_seq += 1;
        self.checked += 1;
        true
    }

    /// Finishes the walk: the last event must reach the checkpoint and agree with it.
    pub fn finish(mut self) -> ChainReport {
        let last_seq = self.next_seq - 1;
        if self.broken.is_none()
            && let Some(cp) = &self.checkpoint
        {
            if cp.seq > last_seq {
                self.broken = Some(Break {
                    seq: last_seq + 1,
                    event_id: None,
                    kind: "truncated",
                    detail: format!(
                        "the checkpoint of {} records event #{}, but the chain ends at #{last_seq}: \
                         the newest events were cut off",
                        cp.at, cp.seq
                    ),
                });
            } else if self.checkpoint_hash_seen == Some(false) {
                self.broken = Some(Break {
                    seq: cp.seq,
                    event_id: None,
                    kind: "rewritten",
                    detail: format!(
                        "event #{} no longer has the hash the checkpoint of {} recorded: the chain was \
                         rebuilt after that point",
                        cp.seq, cp.at
                    ),
                });
            }
        }
        ChainReport {
            ok: self.broken.is_none(),
            checked: self.checked,
            last_seq,
            last_hash: self.previous,
            checkpoint: self.checkpoint,
            first_break: self.broken,
        }
    }
}

/// The outcome of a whole-chain check.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Whether nothing is wrong.
    pub ok: bool,
    /// How many events were checked before the end or the break.
    pub checked: u64,
    /// The last position checked.
    pub last_seq: i64,
    /// Its hash.
    pub last_hash: String,
    /// The checkpoint compared against.
    pub checkpoint: Option<Checkpoint>,
    /// The first break, if any.
    pub first_break: Option<Break>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> AuditEvent {
        AuditEvent::new(
            Utc::now(),
            &Actor::system(),
            "test.done",
            "test",
            Uuid::from_u128(u128::from(n)),
            &serde_json::json!({ "n": n }),
        )
    }

    fn sealed_chain(n: u32) -> Vec<SealedEvent> {
        let mut previous = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|i| {
                let event = event(i);
                let seq = i64::from(i);
                let hash = chain_hash(&previous, seq, &event);
                previous = hash.clone();
                SealedEvent { seq, hash, event }
            })
            .collect()
    }

    fn check(events: &[SealedEvent], checkpoint: Option<Checkpoint>) -> ChainReport {
        let mut walk = ChainCheck::new(checkpoint);
        for e in events {
            if !walk.push(e) {
                break;
            }
        }
        walk.finish()
    }

    #[test]
    fn an_intact_chain_passes() {
        let chain = sealed_chain(5);
        let cp = Checkpoint {
            seq: 5,
            hash: chain[4].hash.clone(),
            at: Utc::now(),
        };
        let report = check(&chain, Some(cp));
        assert!(report.ok, "{report:?}");
        assert_eq!(report.checked, 5);
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_its_place() {
        let chain = sealed_chain(5);
        let mut edited = chain.clone();
        edited[2].event.summary = r#"{"n":99}"#.into();
        let b = check(&edited, None).first_break.unwrap();
        assert_eq!((b.kind, b.seq), ("altered", 3));

        let mut deleted = chain.clone();
        deleted.remove(1);
        let b = check(&deleted, None).first_break.unwrap();
        assert_eq!((b.kind, b.seq), ("missing", 2));

        let mut swapped = chain.clone();
        swapped.swap(1, 2);
        swapped[1].seq = 2;
        swapped[2].seq = 3;
        let b = check(&swapped, None).first_break.unwrap();
        assert_eq!((b.kind, b.seq), ("altered", 2));

        let cp = Checkpoint {
            seq: 5,
            hash: chain[4].hash.clone(),
            at: Utc::now(),
        };
        let b = check(&chain[..3], Some(cp.clone())).first_break.unwrap();
        assert_eq!((b.kind, b.seq), ("truncated", 4));

        let rebuilt = sealed_chain(5);
        let b = check(&rebuilt, Some(cp)).first_break.unwrap();
        assert_eq!(b.kind, "rewritten");
    }

    #[test]
    fn the_content_covers_every_field() {
        let e = event(1);
        let mut other = e.clone();
        other.actor.client.ip = Some("10.0.0.1".into());
        assert_ne!(e.content(), other.content());
        let mut other = e.clone();
        other.task_id = Some(TaskId::new());
        assert_ne!(e.content(), other.content());
    }
}
