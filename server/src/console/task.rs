//! The task page: its traffic light and phase timeline, plan versions side by side, reports
//! and inspections with their reviews and photo galleries, the before/after view, the
//! location plot, extension requests, urges, reminders sent and the audit history, with the
//! forms for what the signed-in user may do next.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use chrono::Utc;
use fieldproof_core::App;
use fieldproof_core::domain::record::ReviewStatus;
use fieldproof_core::domain::{PhaseStatus, Role, TaskStatus};
use fieldproof_core::ids::{PhaseId, TaskId, UserId};
use fieldproof_core::service::{orgs, reminders, tasks};
use fieldproof_core::web::Path;

use super::error::ConsoleError;
use super::evidence::{BeforeAfter, PhotoCard, RecordBox, card, is_report, plot_point};
use super::format::{day_in_zone, in_zone};
use super::plot::Plot;
use super::session::ConsoleUser;
use super::{Chrome, render};

/// Task page routes.
pub fn router() -> Router<App> {
    Router::new().route("/tasks/{id}", get(task_page))
}

/// A phase on the timeline.
pub struct PhaseRow {
    id: String,
    seq: i32,
    title: String,
    light: &'static str,
    status: &'static str,
    due: String,
    starts: String,
    overdue_days: i64,
}

/// A plan version, one column of the side-by-side view.
pub struct PlanColumn {
    version: i32,
    status: &'static str,
    submitted: String,
    by: String,
    background: String,
    phases: Vec<(String, String)>,
    decision: String,
    pending: bool,
}

/// An extension request.
pub struct ExtensionRow {
    id: String,
    phase: String,
    reason: String,
    previous_due: String,
    proposed_due: String,
    status: &'static str,
    by: String,
    decision: String,
    open: bool,
}

/// An urge.
pub struct UrgeRow {
    at: String,
    by: String,
    phase: String,
    message: String,
}

/// One SMS of a reminder.
pub struct MessageLine {
    kind: String,
    created: String,
    recipient: String,
    mobile: String,
    text: String,
    status: String,
    error: String,
}

/// One audit event.
pub struct EventRow {
    at: String,
    who: String,
    action: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    c: Chrome,
    id: String,
    title: String,
    description: String,
    light: &'static str,
    status: &'static str,
    site: String,
    site_address: String,
    agency: String,
    due: String,
    overdue_days: i64,
    reminders_sent: i64,
    phases: Vec<PhaseRow>,
    open_phases: Vec<(String, String)>,
    plans: Vec<PlanColumn>,
    records: Vec<RecordBox>,
    pairs: Vec<BeforeAfter>,
    plot: Plot,
    extensions: Vec<ExtensionRow>,
    urges: Vec<UrgeRow>,
    messages: Vec<MessageLine>,
    history: Vec<EventRow>,
    supervising: bool,
    can_end: bool,
    can_close: bool,
    ended: String,
}

async fn task_page(
    State(app): State<App>,
    user: ConsoleUser,
    Path(id): Path<TaskId>,
) -> Result<Html<String>, ConsoleError> {
    let lang = user.lang;
    let view = tasks::task_view(&app, &user.caller, id).await?;
    let sent = reminders::list(&app, &user.caller, id).await?;
    let events = tasks::history(&app, &user.caller, id).await?;
    let tz = view.site.timezone;
    let now = Utc::now();
    let rule = app.settings.light_rule(now);
    let task = &view.task;

    let mut people: Vec<UserId> = view.records.iter().map(|(r, _)| r.created_by).collect();
    people.extend(view.plans.iter().map(|p| p.submitted_by));
    people.extend(view.extensions.iter().map(|e| e.requested_by));
    people.extend(view.urges.iter().map(|u| u.created_by));
    people.extend(events.iter().filter_map(|e| e.event.actor.user_id));
    people.sort();
    people.dedup();
    let names = app
        .store
        .display_names(&people)
        .await
        .map_err(fieldproof_core::ApiError::from)?;
    let name = |id: UserId| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string()[..8].to_owned())
    };
    let agency = match task.agency_id {
        Some(agency) => orgs::list_orgs(&app, &user.caller)
            .await?
            .into_iter()
            .find(|o| o.id == agency)
            .map(|o| o.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let phase_titles: HashMap<PhaseId, String> = view
        .phases
        .iter()
        .map(|p| (p.id, format!("{}. {}", p.seq, p.title)))
        .collect();
    let phase_title = |p: Option<PhaseId>| p.and_then(|p| phase_titles.get(&p).cloned()).unwrap_or_default();

    let phases = view
        .phases
        .iter()
        .map(|p| PhaseRow {
            id: p.id.to_string(),
            seq: p.seq,
            title: p.title.clone(),
            light: rule.of_phase(task.status, p, tz).as_str(),
            status: p.status.as_str(),
            due: in_zone(p.due_at, tz),
            starts: p.starts_at.map(|s| day_in_zone(s, tz)).unwrap_or_default(),
            overdue_days: if p.is_overdue(now) {
                fieldproof_core::domain::task::overdue_days(Some(p.due_at), now)
            } else {
                0
            },
        })
        .collect();
    let open_phases = view
        .phases
        .iter()
        .filter(|p| p.status != PhaseStatus::Accepted)
        .map(|p| (p.id.to_string(), format!("{}. {}", p.seq, p.title)))
        .collect();
    let plans = view
        .plans
        .iter()
        .rev()
        .map(|p| PlanColumn {
            version: p.version,
            status: p.status.as_str(),
            submitted: in_zone(p.submitted_at, tz),
            by: name(p.submitted_by),
            background: p.background.clone(),
            phases: p
                .phases
                .iter()
                .map(|ph| (ph.title.clone(), in_zone(ph.due_at, tz)))
                .collect(),
            decision: p
                .decision
                .as_ref()
                .and_then(|d| d.comment.clone())
                .unwrap_or_default(),
            pending: p.status.as_str() == "submitted",
        })
        .collect();

    let mut number = 0;
    let mut points = Vec::new();
    let mut records = Vec::new();
    let mut before_all: Vec<(Option<PhaseId>, PhotoCard)> = Vec::new();
    let mut after_all: Vec<(Option<PhaseId>, PhotoCard)> = Vec::new();
    for (record, photos) in &view.records {
        let mut cards = Vec::new();
        for photo in photos {
            number += 1;
            points.extend(plot_point(photo, record, number));
            let photo_card = card(photo, number, &view.site, lang);
            let pair_card = photo_card.clone();
            cards.push(photo_card);
            if is_report(record) {
                after_all.push((record.phase_id, pair_card));
            } else {
                before_all.push((record.phase_id, pair_card));
            }
        }
        let review = record.review.as_ref();
        records.push(RecordBox {
            id: record.id.to_string(),
            kind: if is_report(record) { "report" } else { "inspection" },
            phase: phase_title(record.phase_id),
            note: record.note.clone(),
            by: name(record.created_by),
            received: in_zone(record.received_at, tz),
            review: review.map(|r| r.status.as_str()),
            review_comment: review
                .and_then(|r| r.decision.as_ref())
                .and_then(|d| d.comment.clone())
                .unwrap_or_default(),
            reviewable: review.is_some_and(|r| r.status == ReviewStatus::Pending),
            photos: cards,
        });
    }
    let pairs = view
        .phases
        .iter()
        .map(|p| BeforeAfter {
            phase: format!("{}. {}", p.seq, p.title),
            before: take_matching(&mut before_all, p.id, true),
            after: take_matching(&mut after_all, p.id, false),
        })
        .collect();
    let extensions = view
        .extensions
        .iter()
        .map(|e| ExtensionRow {
            id: e.id.to_string(),
            phase: phase_title(Some(e.phase_id)),
            reason: e.reason.clone(),
            previous_due: in_zone(e.previous_due_at, tz),
            proposed_due: in_zone(e.proposed_due_at, tz),
            status: e.status.as_str(),
            by: name(e.requested_by),
            decision: e
                .decision
                .as_ref()
                .and_then(|d| d.comment.clone())
                .unwrap_or_default(),
            open: e.status.as_str() == "requested",
        })
        .collect();
    let urges = view
        .urges
        .iter()
        .map(|u| UrgeRow {
            at: in_zone(u.created_at, tz),
            by: name(u.created_by),
            phase: phase_title(u.phase_id),
            message: u.message.clone(),
        })
        .collect();
    let messages = sent
        .iter()
        .flat_map(|(r, ms)| {
            ms.iter().map(move |m| MessageLine {
                kind: r.kind.clone(),
                created: in_zone(r.created_at, tz),
                recipient: m.recipient_name.clone(),
                mobile: m.mobile.clone(),
                text: m.body.clone(),
                status: m.status.clone(),
                error: m.last_error.clone().unwrap_or_default(),
            })
        })
        .collect();
    let history = events
        .iter()
        .rev()
        .map(|e| EventRow {
            at: in_zone(e.event.at, tz),
            who: e
                .event
                .actor
                .user_id
                .map(name)
                .unwrap_or_else(|| "system".to_owned()),
            action: e.event.action.clone(),
            summary: e.event.summary.chars().take(300).collect(),
        })
        .collect();
    let supervising = matches!(user.caller.user.role, Role::Supervisor | Role::Admin);
    let page = TaskPage {
        c: Chrome::new(&user, &format!("/tasks/{id}")),
        id: id.to_string(),
        title: task.title.clone(),
        description: task.description.clone().unwrap_or_default(),
        light: rule.of_task(task, tz).as_str(),
        status: task.status.as_str(),
        site: view.site.name.clone(),
        site_address: view.site.address.clone().unwrap_or_default(),
        agency,
        due: in_zone(task.due_at, tz),
        overdue_days: task.overdue_days(now),
        reminders_sent: view.reminders_sent,
        phases,
        open_phases,
        plans,
        records,
        pairs,
        plot: Plot::new(&view.site, points),
        extensions,
        urges,
        messages,
        history,
        supervising,
        can_end: supervising && !task.status.is_final(),
        can_close: supervising && task.status == TaskStatus::Completed,
        ended: task
            .ended
            .as_ref()
            .map(|e| format!("{} · {}", in_zone(e.at, tz), e.reason))
            .unwrap_or_default(),
    };
    render(&page)
}

/// Moves the cards of `phase` out of `all`; inspection photos that name no phase belong to
/// every phase's "before" side, so they are copied rather than moved.
fn take_matching(
    all: &mut Vec<(Option<PhaseId>, PhotoCard)>,
    phase: PhaseId,
    shared_when_unphased: bool,
) -> Vec<PhotoCard> {
    let mut taken = Vec::new();
    let mut kept = Vec::new();
    for (p, card) in all.drain(..) {
        if p == Some(phase) {
            taken.push(card);
        } else if p.is_none() && shared_when_unphased {
            taken.push(card.clone());
            kept.push((p, card));
        } else {
            kept.push((p, card));
        }
    }
    *all = kept;
    taken
}
