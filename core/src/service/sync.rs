//! Offline sync for phones: what changed for the caller since their cursor — tasks with their
//! site, phases (due and overdue), urges and the review decisions on the caller's own
//! records — plus the tasks that left their list, and the next cursor.
//!
//! A first sync (no cursor) pages through every unfinished task the caller sees in id order,
//! remembering the audit chain's sealed head from its start; later syncs read the sealed
//! events after that position. Events are numbered by the sealer after they commit, one at a
//! time, so no change is skipped however commits interleave; tasks whose phases fell due since
//! the last sync are sent again because their overdue state changed with no event at all.
//! Cursors are sealed with an HMAC under a key the replicas share, and name their user.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{Caller, can_see_task, circulars, scope_of};
use crate::app::App;
use crate::domain::circular::Circular;
use crate::domain::{Phase, Record, Site, Task, TaskStatus, Urge, ValidationError};
use crate::error::ApiError;
use crate::ids::{SiteId, TaskId, UserId};
use crate::store::Scope;

/// Tasks in one sync answer when the client does not say.
pub const DEFAULT_SYNC_PAGE: i64 = 100;
/// Most tasks one sync answer may hold.
pub const MAX_SYNC_PAGE: i64 = 500;
/// Audit events read for one incremental page; more are left for the next page.
const EVENTS_PER_PAGE: i64 = 5_000;
/// Longest cursor accepted; ours are about 150 characters.
/// Circulars sent on a first sync.
const FIRST_SYNC_CIRCULARS: i64 = 50;
/// How far before the last check circulars are read again, for one committed late.
const CIRCULAR_OVERLAP: chrono::Duration = chrono::Duration::minutes(1);
const MAX_CURSOR_LEN: usize = 1024;

/// One task as a phone holds it.
#[derive(Debug, Clone)]
pub struct TaskSnapshot {
    /// The task.
    pub task: Task,
    /// Its site, with the geofence the phone checks against.
    pub site: Site,
    /// Its phases in order.
    pub phases: Vec<Phase>,
    /// Urges sent about it.
    pub urges: Vec<Urge>,
    /// The caller's own records on it, with their review decisions.
    pub own_records: Vec<Record>,
}

/// One sync answer.
#[derive(Debug, Clone)]
pub struct SyncPage {
    /// Tasks new or changed since the cursor.
    pub tasks: Vec<TaskSnapshot>,
    /// Tasks to drop from the phone: closed or cancelled since the cursor.
    pub removed: Vec<TaskId>,
    /// Circulars to the caller's organisation published since the cursor (the latest ones on
    /// a first sync).
    pub circulars: Vec<Circular>,
    /// Where the next sync starts.
    pub next_cursor: String,
    /// Whether more is waiting right now (ask again with `next_cursor` at once).
    pub has_more: bool,
    /// The server's clock when the page was read; overdue states are as of then.
    pub as_of: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Full,
    Changes,
}

/// What a cursor holds, before sealing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    /// Format version.
    v: u8,
    /// The user it was made for.
    u: UserId,
    m: Mode,
    /// Full sync: the last task sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<TaskId>,
    /// The audit chain position the next changes are read after.
    s: i64,
    /// When phases were last checked for falling due (Unix milliseconds).
    t: i64,
}

/// A page of what changed for the caller after `cursor` (everything, paged, without one).
pub async fn sync(
    app: &App,
    caller: &Caller,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<SyncPage, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_SYNC_PAGE);
    if !(1..=MAX_SYNC_PAGE).contains(&limit) {
        return Err(
            ValidationError::single("limit", format!("must be between 1 and {MAX_SYNC_PAGE}")).into(),
        );
    }
    let scope = scope_of(&caller.user).ok_or(ApiError::Forbidden("the account has no organisation"))?;
    let key = cursor_key(app).await?;
    let now = Utc::now();
    let position = match cursor {
        Some(cursor) => open(&key, cursor, caller.user.id)?,
        None => Position {
            v: 1,
            u: caller.user.id,
            m: Mode::Full,
            a: None,
            s: app.store.audit_head().await?.seq,
            t: now.timestamp_millis(),
        },
    };
    let (ids, next, has_more) = match position.m {
        Mode::Full => {
            let after = position.a.unwrap_or(TaskId(uuid::Uuid::nil()));
            let mut ids = app.store.active_task_ids(scope, after, limit + 1).await?;
            let has_more = ids.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let next = if has_more {
                Position {
                    a: ids.last().copied(),
                    ..position.clone()
                }
            } else {
                Position {
                    m: Mode::Changes,
                    a: None,
                    ..position.clone()
                }
            };
            (ids, next, has_more)
        }
        Mode::Changes => changes(app, scope, &position, limit, now).await?,
    };
    // Circulars: the latest on a first sync; afterwards those published since the time the
    // last page reached the head (with a minute's overlap for a slow commit; phones keep them
    // by id, so one seen twice is kept once).
    let circulars = match position.m {
        _ if cursor.is_none() => circulars::for_caller(app, caller, None, FIRST_SYNC_CIRCULARS).await?,
        Mode::Changes if next.t != position.t => {
            let since = DateTime::from_timestamp_millis(position.t).unwrap_or(now) - CIRCULAR_OVERLAP;
            circulars::for_caller(app, caller, Some(since), circulars::LIST_LIMIT).await?
        }
        _ => Vec::new(),
    };
    let mut page = SyncPage {
        tasks: Vec::new(),
        removed: Vec::new(),
        circulars,
        next_cursor: seal(&key, &next)?,
        has_more,
        as_of: now,
    };
    let mut live = Vec::new();
    for task in app.store.find_tasks(&ids).await? {
        if !can_see_task(&caller.user, &task) {
            continue;
        }
        if matches!(task.status, TaskStatus::Closed | TaskStatus::Cancelled) {
            page.removed.push(task.id);
        } else {
            live.push(task);
        }
    }
    page.tasks = snapshots(app, caller, live).await?;
    // In the order the ids came: task id order for a full sync, change order otherwise.
    let rank: HashMap<TaskId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    page.tasks.sort_by_key(|s| rank.get(&s.task.id).copied());
    page.removed.sort_by_key(|id| rank.get(id).copied());
    Ok(page)
}

/// The tasks in `scope` touched after the cursor's position, at most `limit` of them, and the position
/// after them; when the page reaches the head, also the tasks whose phases fell due since the
/// cursor's time.
async fn changes(
    app: &App,
    scope: Scope,
    position: &Position,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<(Vec<TaskId>, Position, bool), ApiError> {
    let head = app.store.audit_head().await?.seq;
    let events = app
        .store
        .task_changes(scope, position.s, head, EVENTS_PER_PAGE)
        .await?;
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    let mut upto = position.s;
    let mut full = false;
    for (seq, task) in &events {
        if !seen.contains(task) {
            if ids.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
                full = true;
                break;
            }
            seen.insert(*task);
            ids.push(*task);
        }
        upto = *seq;
    }
    let has_more = full || i64::try_from(events.len()).unwrap_or(i64::MAX) == EVENTS_PER_PAGE;
    let mut checked_at = position.t;
    if !has_more {
        upto = head;
        let since = DateTime::from_timestamp_millis(position.t).unwrap_or(now);
        for task in app.store.tasks_falling_due(since, now).await? {
            if seen.insert(task) {
                ids.push(task);
            }
        }
        checked_at = now.timestamp_millis();
    }
    let next = Position {
        s: upto,
        t: checked_at,
        ..position.clone()
    };
    Ok((ids, next, has_more))
}

/// The tasks with everything a phone holds about them, read a page at a time (one query per
/// kind of row, not per task).
async fn snapshots(app: &App, caller: &Caller, tasks: Vec<Task>) -> Result<Vec<TaskSnapshot>, ApiError> {
    let ids: Vec<TaskId> = tasks.iter().map(|t| t.id).collect();
    let site_ids: Vec<SiteId> = tasks
        .iter()
        .map(|t| t.site_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let sites: HashMap<SiteId, Site> = app
        .store
        .find_sites(&site_ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut phases = group_by_task(app.store.list_phases_of(&ids).await?, |p| p.task_id);
    let mut urges = group_by_task(app.store.list_urges_of(&ids).await?, |u| u.task_id);
    let mut records = group_by_task(app.store.list_records_by(caller.user.id, &ids).await?, |r| {
        r.task_id
    });
    tasks
        .into_iter()
        .map(|task| {
            let site = sites
                .get(&task.site_id)
                .cloned()
                .ok_or_else(|| ApiError::Internal(format!("task {} has no site", task.id)))?;
            Ok(TaskSnapshot {
                phases: phases.remove(&task.id).unwrap_or_default(),
                urges: urges.remove(&task.id).unwrap_or_default(),
                own_records: records.remove(&task.id).unwrap_or_default(),
                site,
                task,
            })
        })
        .collect()
}

fn group_by_task<T>(rows: Vec<T>, task: impl Fn(&T) -> TaskId) -> HashMap<TaskId, Vec<T>> {
    let mut groups: HashMap<TaskId, Vec<T>> = HashMap::new();
    for row in rows {
        groups.entry(task(&row)).or_default().push(row);
    }
    groups
}

/// The key that seals cursors, made by the first replica that needs it.
async fn cursor_key(app: &App) -> Result<Vec<u8>, ApiError> {
    let candidate = hex::encode(rand::random::<[u8; 32]>());
    let key = app.store.server_key("sync_cursor", &candidate).await?;
    hex::decode(key).map_err(|e| ApiError::Internal(format!("stored sync key: {e}")))
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> Result<HmacSha256, ApiError> {
    HmacSha256::new_from_slice(key).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `base64url(position) "." base64url(HMAC-SHA256(key, base64url(position)))`.
fn seal(key: &[u8], position: &Position) -> Result<String, ApiError> {
    let json = serde_json::to_vec(position).map_err(|e| ApiError::Internal(e.to_string()))?;
    let payload = URL_SAFE_NO_PAD.encode(json);
    let mut mac = mac(key)?;
    mac.update(payload.as_bytes());
    Ok(format!(
        "{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    ))
}

/// The position in a cursor this server sealed for `user`; 400 for anything else.
fn open(key: &[u8], cursor: &str, user: UserId) -> Result<Position, ApiError> {
    let invalid = || ApiError::InvalidCursor;
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    let mut mac = mac(key)?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&tag).map_err(|_| invalid())?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let position: Position = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if position.v != 1 || position.u != user {
        return Err(invalid());
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(user: UserId) -> Position {
        Position {
            v: 1,
            u: user,
            m: Mode::Changes,
            a: None,
            s: 42,
            t: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_sealed_cursor_opens_for_its_user_only() {
        let key = [7u8; 32];
        let user = UserId::new();
        let cursor = seal(&key, &position(user)).unwrap();
        assert_eq!(open(&key, &cursor, user).unwrap(), position(user));
        assert!(matches!(
            open(&key, &cursor, UserId::new()),
            Err(ApiError::InvalidCursor)
        ));
        assert!(matches!(
            open(&[8u8; 32], &cursor, user),
            Err(ApiError::InvalidCursor)
        ));
    }

    #[test]
    fn an_edited_cursor_is_refused() {
        let key = [7u8; 32];
        let user = UserId::new();
        let cursor = seal(&key, &position(user)).unwrap();
        let (payload, tag) = cursor.split_once('.').unwrap();
        let mut moved = position(user);
        moved.s = 0;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&moved).unwrap());
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            payload.to_owned(),
            String::new(),
            "..".into(),
            format!("{payload}.{tag}x"),
            "a".repeat(MAX_CURSOR_LEN + 1),
        ] {
            assert!(
                matches!(open(&key, &bad, user), Err(ApiError::InvalidCursor)),
                "{bad}"
            );
        }
    }
}
