//! Reminders: the scan that creates them from the schedule (once per event, by unique key),
//! the sender that drains the outbox through the SMS provider (leases, back-off, quiet
//! hours, the daily cap), delivery receipts, and the list on a task.
//!
//! Every replica runs the scan and the sender: a second scan finds the keys taken, and a
//! message is leased to one sender at a time.

use std::collections::{HashMap, HashSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{Caller, visible_task};
use crate::app::App;
use crate::audit::{Actor, AuditEvent};
use crate::domain::org::normalise_mobile;
use crate::domain::reminder::{MessageFacts, ReminderKind, Step, mask_mobile, render};
use crate::domain::{Org, Role, Urge};
use crate::error::ApiError;
use crate::ids::{OrgId, PhaseId, TaskId, UserId};
use crate::sms::{Outgoing, SendError, Sms, receipts, verify_body};
use crate::store::{
    MessageOutcome, MessageRow, NewMessage, NewReminder, Receipt, ReceiptTarget, ReminderRow,
};

/// Messages one sender leases at a time, and sends this many at once.
const CLAIM_BATCH: i64 = 32;
const SEND_CONCURRENCY: usize = 8;

/// The unique key of a scheduled reminder: a new due date (an extension) is a new event.
fn dedup_key(phase: PhaseId, step: Step, due: DateTime<Utc>) -> String {
    format!("{phase}:{}:{}:{}", step.kind.as_str(), step.step, due.timestamp())
}

/// One person a reminder goes to.
struct Person {
    org: Option<OrgId>,
    name: String,
    number: String,
    mobile: Option<String>,
}

/// A user as a reminder needs them: name, mobile number and organisation.
type Addressee = (String, Option<String>, Option<OrgId>);

/// Organisations and users read once per scan.
struct Book<'a> {
    app: &'a App,
    orgs: HashMap<OrgId, Option<Org>>,
    users: HashMap<UserId, Option<Addressee>>,
}

impl<'a> Book<'a> {
    fn new(app: &'a App) -> Self {
        Self {
            app,
            orgs: HashMap::new(),
            users: HashMap::new(),
        }
    }

    async fn org(&mut self, id: OrgId) -> Result<Option<&Org>, ApiError> {
        if !self.orgs.contains_key(&id) {
            let org = self.app.store.find_org(id).await?;
            self.orgs.insert(id, org);
        }
        Ok(self.orgs.get(&id).and_then(Option::as_ref))
    }

    /// The contacts of `org` (only its leaders when `leaders`); an organisation with none is
    /// one unreachable entry, so that the gap shows.
    async fn contacts(
        &mut self,
        org: Option<OrgId>,
        leaders: bool,
        out: &mut Vec<Person>,
    ) -> Result<(), ApiError> {
        let Some(id) = org else { return Ok(()) };
        let Some(o) = self.org(id).await? else {
            return Ok(());
        };
        let mut any = false;
        for c in o.contacts.iter().filter(|c| !leaders || c.leader) {
            any = true;
            out.push(Person {
                org: Some(id),
                name: c.name.clone(),
                number: c.mobile.clone(),
                mobile: normalise_mobile(&c.mobile),
            });
        }
        if !any {
            out.push(Person {
                org: Some(id),
                name: format!(
                    "{}（{}）",
                    o.name,
                    if leaders {
                        "无领导联系人"
                    } else {
                        "无联系人"
                    }
                ),
                number: String::new(),
                mobile: None,
            });
        }
        Ok(())
    }

    async fn user(&mut self, id: UserId, out: &mut Vec<Person>) -> Result<(), ApiError> {
        if !self.users.contains_key(&id) {
            let u = self.app.store.reminder_contact(id).await?;
            self.users.insert(id, u);
        }
        if let Some(Some((name, mobile, org))) = self.users.get(&id) {
            let number = mobile.clone().unwrap_or_default();
            out.push(Person {
                org: *org,
                name: name.clone(),
                mobile: normalise_mobile(&number),
                number,
            });
        }
        Ok(())
    }

    /// Who a reminder of `kind` goes to: the agency's contacts and the supervisor in charge;
    /// escalations also to the group's leaders. One message per number.
    async fn people(
        &mut self,
        kind: ReminderKind,
        group: Option<OrgId>,
        agency: Option<OrgId>,
        supervisor: UserId,
    ) -> Result<Vec<Person>, ApiError> {
        let mut out = Vec::new();
        self.contacts(agency, false, &mut out).await?;
        self.user(supervisor, &mut out).await?;
        if kind == ReminderKind::Escalation {
            self.contacts(group, true, &mut out).await?;
        }
        let mut seen = HashSet::new();
        out.retain(|p| p.mobile.as_ref().is_none_or(|m| seen.insert(m.clone())));
        Ok(out)
    }
}

/// What a reminder is about.
struct About<'a> {
    task: TaskId,
    phase: Option<(PhaseId, &'a str)>,
    due_at: Option<DateTime<Utc>>,
    tz: Tz,
}

/// Builds one reminder with its messages and its `reminder.created` event.
fn build(
    about: &About<'_>,
    step: Step,
    dedup_key: String,
    urge: Option<&Urge>,
    people: Vec<Person>,
    now: DateTime<Utc>,
) -> NewReminder {
    let id = uuid::Uuid::now_v7();
    let due = about.due_at.unwrap_or(now);
    let rendered = render(
        step.kind,
        &MessageFacts {
            task: about.task,
            phase_title: about.phase.map(|(_, t)| t),
            due_at: due,
            tz: about.tz,
            days_over: crate::domain::task::overdue_days(Some(due), now),
        },
    );
    let params = serde_json::to_string(&rendered.params).unwrap_or_else(|_| "[]".into());
    let messages: Vec<NewMessage> = people
        .into_iter()
        .map(|p| {
            let (status, error, mobile) = match p.mobile {
                Some(m) => ("queued", None, m),
                None if p.number.is_empty() => (
                    "unreachable",
                    Some("no mobile number on record".to_owned()),
                    p.number,
                ),
                None => (
                    "unreachable",
                    Some("not a mainland mobile number".to_owned()),
                    p.number,
                ),
            };
            NewMessage {
                id: uuid::Uuid::now_v7(),
                org_id: p.org,
                recipient_name: p.name,
                mobile,
                timezone: about.tz.name().to_owned(),
                params: params.clone(),
                body: rendered.text.clone(),
                status,
                error,
            }
        })
        .collect();
    let recipients: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::json!({ "message_id": m.id, "name": m.recipient_name, "to": mask_mobile(&m.mobile), "status": m.status }))
        .collect();
    let event = AuditEvent::new(
        now,
        &Actor::system(),
        "reminder.created",
        "reminder",
        id,
        &serde_json::json!({
            "kind": step.kind.as_str(),
            "step": step.step,
            "phase_id": about.phase.map(|(p, _)| p),
            "due_at": about.due_at,
            "urge_id": urge.map(|u| u.id),
            "text": rendered.text,
            "recipients": recipients,
        }),
    )
    .on_task(about.task);
    NewReminder {
        id,
        task_id: about.task,
        phase_id: about.phase.map(|(p, _)| p),
        kind: step.kind.as_str(),
        step: step.step,
        due_at: about.due_at,
        urge_id: urge.map(|u| u.id),
        dedup_key,
        created_at: now,
        messages,
        event,
    }
}

fn site_tz(app: &App, name: &str) -> Tz {
    name.parse()
        .or_else(|_| app.settings.default_timezone())
        .unwrap_or(Tz::Asia__Shanghai)
}

/// Creates the reminders the schedule calls for now; how many. Phases are read by the
/// partial due-date index, keys already taken are skipped before anything is built, and the
/// insert skips a key another scheduler took meanwhile.
pub async fn scan(app: &App, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let schedule = app.settings.schedule();
    let candidates = app.store.reminder_candidates(now + schedule.horizon()).await?;
    let mut wanted: Vec<(usize, Step, String)> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        for step in schedule.due_steps(c.due_at, now) {
            wanted.push((i, step, dedup_key(c.phase_id, step, c.due_at)));
        }
    }
    let taken: HashSet<String> = app
        .store
        .existing_reminder_keys(now + schedule.horizon())
        .await?
        .into_iter()
        .collect();
    wanted.retain(|w| !taken.contains(&w.2));
    if wanted.is_empty() {
        return Ok(0);
    }
    let mut book = Book::new(app);
    let mut reminders = Vec::with_capacity(wanted.len());
    for (i, step, key) in wanted {
        let c = &candidates[i];
        let people = book
            .people(step.kind, c.group_id, c.agency_id, c.created_by)
            .await?;
        let about = About {
            task: c.task_id,
            phase: Some((c.phase_id, c.title.as_str())),
            due_at: Some(c.due_at),
            tz: site_tz(app, &c.timezone),
        };
        reminders.push(build(&about, step, key, None, people, now));
    }
    let created = app.store.create_reminders(&reminders).await?;
    if created > 0 {
        tracing::info!(created, "reminders created");
        app.reminder_queued.notify_one();
    }
    Ok(created)
}

/// The reminder that carries a manual urge to the agency's contacts by SMS (created in the
/// urge's own transaction). Its key names the task (and phase) and the urge window it falls
/// in, so a task or phase is urged by SMS at most once per `urge_window_secs`, on every
/// replica.
pub async fn urge_reminder(
    app: &App,
    urge: &Urge,
    agency: Option<OrgId>,
    phase: Option<(PhaseId, &str, DateTime<Utc>)>,
    tz: Tz,
) -> Result<NewReminder, ApiError> {
    let mut book = Book::new(app);
    let mut people = Vec::new();
    book.contacts(agency, false, &mut people).await?;
    let about = About {
        task: urge.task_id,
        phase: phase.map(|(id, title, _)| (id, title)),
        due_at: phase.map(|(_, _, due)| due),
        tz,
    };
    let step = Step {
        kind: ReminderKind::Urge,
        step: 0,
    };
    let window = i64::try_from(app.settings.urge_window_secs.max(1)).unwrap_or(i64::MAX);
    let about_what = urge.phase_id.map_or_else(|| "task".to_owned(), |p| p.to_string());
    let bucket = urge.created_at.timestamp().div_euclid(window);
    let key = format!("urge:{}:{about_what}:{bucket}", urge.task_id);
    Ok(build(&about, step, key, Some(urge), people, urge.created_at))
}

/// The start of the next site-local day, when a capped organisation may be sent to again.
fn next_local_day(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let tomorrow = now.with_timezone(&tz).date_naive().succ_opt();
    tomorrow
        .and_then(|d| tz.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest())
        .map_or(now + Duration::hours(24), |t| t.with_timezone(&Utc))
}

/// Sends one leased message and records what happened.
async fn deliver(
    app: &App,
    sms: &Sms,
    owner: &str,
    m: MessageRow,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let s = &app.settings;
    let tz = site_tz(app, &m.timezone);
    if let Some(until) = s.quiet_hours().ok().flatten().and_then(|q| q.resume_at(now, tz)) {
        app.store
            .defer_message(m.id, owner, until, "waiting for the end of quiet hours", false)
            .await?;
        return Ok(());
    }
    // The claim counted this attempt.
    let attempt = m.attempts;
    let to = mask_mobile(&m.mobile);
    let event = |action: &str, extra: serde_json::Value| {
        let mut summary = serde_json::json!({
            "message_id": m.id, "to": to, "provider": sms.name(), "attempt": attempt,
        });
        if let (Some(o), Some(e)) = (summary.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        AuditEvent::new(
            Utc::now(),
            &Actor::system(),
            action,
            "reminder",
            m.reminder_id,
            &summary,
        )
        .on_task(m.task_id)
    };
    if !app.store.reminder_stands(m.reminder_id).await? {
        let reason = "the phase was accepted, its due date moved or its task ended before it was sent";
        let e = event("reminder.cancelled", serde_json::json!({ "reason": reason }));
        app.store
            .finish_message(m.id, owner, sms.name(), MessageOutcome::Cancelled { reason }, &e)
            .await?;
        return Ok(());
    }
    if attempt > s.sms_max_attempts {
        let why = format!(
            "gave up after {} attempts (the sender stopped during the last ones)",
            s.sms_max_attempts
        );
        let e = event("reminder.failed", serde_json::json!({ "error": why }));
        app.store
            .finish_message(
                m.id,
                owner,
                sms.name(),
                MessageOutcome::Failed { error: &why },
                &e,
            )
            .await?;
        return Ok(());
    }
    let day = now.with_timezone(&tz).format("%Y-%m-%d").to_string();
    let payer = m.org_id.unwrap_or(OrgId(uuid::Uuid::nil()));
    if !app
        .store
        .take_sms_quota(payer, &day, s.reminder_daily_cap)
        .await?
    {
        let why = format!(
            "daily cap of {} SMS for the organisation reached",
            s.reminder_daily_cap
        );
        app.store
            .defer_message(m.id, owner, next_local_day(now, tz), &why, false)
            .await?;
        return Ok(());
    }
    let kind = ReminderKind::parse(&m.kind).unwrap_or(ReminderKind::Overdue);
    let params: Vec<(String, String)> = serde_json::from_str(&m.params).unwrap_or_default();
    let outgoing = Outgoing {
        id: m.id,
        mobile: &m.mobile,
        kind,
        params: &params,
        text: &m.body,
    };
    match sms.send(&outgoing).await {
        Ok(provider_id) => {
            let e = event(
                "reminder.sent",
                serde_json::json!({ "provider_message_id": provider_id }),
            );
            app.store
                .finish_message(
                    m.id,
                    owner,
                    sms.name(),
                    MessageOutcome::Sent {
                        provider_message_id: &provider_id,
                    },
                    &e,
                )
                .await?;
            tracing::info!(id = %m.id, to = %to, "SMS sent");
        }
        Err(SendError::Transient(why)) if attempt < s.sms_max_attempts => {
            let shift = u32::try_from((attempt - 1).clamp(0, 16)).unwrap_or(16);
            let delay = s.sms_backoff_secs.saturating_mul(1u64 << shift).min(6 * 3600);
            let until = Utc::now() + Duration::seconds(i64::try_from(delay).unwrap_or(3600));
            tracing::warn!(id = %m.id, to = %to, attempt, error = %why, "SMS failed; will retry");
            app.store.defer_message(m.id, owner, until, &why, true).await?;
        }
        Err(e) => {
            let why = e.to_string();
            let ev = event("reminder.failed", serde_json::json!({ "error": why }));
            app.store
                .finish_message(
                    m.id,
                    owner,
                    sms.name(),
                    MessageOutcome::Failed { error: &why },
                    &ev,
                )
                .await?;
            tracing::warn!(id = %m.id, to = %to, error = %why, "SMS failed for good");
        }
    }
    Ok(())
}

/// Leases due messages and sends them; how many were leased.
pub async fn send_due(app: &App, sms: &Sms, owner: &str, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let per_send = i64::try_from(app.settings.sms_timeout_secs).unwrap_or(60) + 5;
    let rounds = CLAIM_BATCH / i64::try_from(SEND_CONCURRENCY).unwrap_or(1) + 1;
    let lease = Duration::seconds(per_send * rounds + 30);
    let claimed = app.store.claim_messages(owner, now, lease, CLAIM_BATCH).await?;
    let n = claimed.len();
    futures_util::stream::iter(claimed)
        .for_each_concurrent(SEND_CONCURRENCY, |m| async move {
            if let Err(e) = deliver(app, sms, owner, m, now).await {
                tracing::warn!(error = %e, "recording an SMS outcome failed; its lease will expire and it is retried");
            }
        })
        .await;
    Ok(n)
}

/// Scans and sends every `reminder_scan_secs` (sooner when an urge is queued) until
/// `shutdown`.
pub async fn run(app: App, shutdown: CancellationToken) {
    let sms = match Sms::new(app.settings.clone()) {
        Ok(sms) => sms,
        Err(e) => {
            tracing::error!(error = %e, "the SMS provider cannot start; no reminders will be sent");
            return;
        }
    };
    let owner = format!("reminders-{}", uuid::Uuid::new_v4());
    let every = StdDuration::from_secs(app.settings.reminder_scan_secs.max(1));
    loop {
        let now = Utc::now();
        if let Err(e) = scan(&app, now).await {
            tracing::warn!(error = %e, "reminder scan failed; will retry");
        }
        loop {
            match send_due(&app, &sms, &owner, Utc::now()).await {
                Ok(n) if n as i64 == CLAIM_BATCH && !shutdown.is_cancelled() => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "sending reminders failed; will retry");
                    break;
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
            () = app.reminder_queued.notified() => {}
        }
    }
}

/// A task's reminders with their messages; numbers are shown whole to supervisors and
/// admins, masked to the agency.
pub async fn list(
    app: &App,
    caller: &Caller,
    task: TaskId,
) -> Result<Vec<(ReminderRow, Vec<MessageRow>)>, ApiError> {
    visible_task(app, &caller.user, task).await?;
    let mut all = app.store.list_reminders(task).await?;
    if !matches!(caller.user.role, Role::Supervisor | Role::Admin) {
        for (_, messages) in &mut all {
            for m in messages {
                m.mobile = mask_mobile(&m.mobile);
            }
        }
    }
    Ok(all)
}

/// Signed delivery receipts from `provider`: the signature (HMAC-SHA256 over
/// `<timestamp>.<body>` with `sms_callback_secret`, within five minutes) is checked before the
/// body is read; each receipt is filed on its message with an audit event. Returns
/// (receipts read, receipts matched).
pub async fn receive(
    app: &App,
    provider: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(usize, usize), ApiError> {
    if !matches!(provider, "webhook" | "aliyun" | "tencent") {
        return Err(ApiError::NotFound("provider"));
    }
    let Some(secret) = &app.settings.sms_callback_secret else {
        return Err(ApiError::BadSignature(
            "receipts are not accepted: no sms_callback_secret is configured",
        ));
    };
    let now = Utc::now();
    let ts = timestamp.and_then(|t| t.trim().parse::<i64>().ok());
    let ok = match (ts, signature) {
        (Some(ts), Some(sig)) => verify_body(secret.expose().as_bytes(), ts, now.timestamp(), body, sig),
        _ => false,
    };
    if !ok {
        return Err(ApiError::BadSignature(
            "X-Fieldproof-Signature does not sign this body with X-Fieldproof-Timestamp (within five minutes)",
        ));
    }
    let parsed: Vec<Receipt> = receipts::parse(provider, body, now).map_err(ApiError::Malformed)?;
    let matched = app
        .store
        .record_receipts(provider, &parsed, |m: &ReceiptTarget, delivered| {
            AuditEvent::new(
                now,
                &Actor::system(),
                if delivered {
                    "reminder.delivered"
                } else {
                    "reminder.undelivered"
                },
                "reminder",
                m.reminder_id,
                &serde_json::json!({ "message_id": m.id, "to": mask_mobile(&m.mobile), "provider": provider }),
            )
            .on_task(m.task_id)
        })
        .await?;
    Ok((parsed.len(), matched))
}
