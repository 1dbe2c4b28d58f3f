//! Circulars (通报) in the console: the ones the user's organisation published or received,
//! and for supervisors the form to publish one to chosen organisations.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{Html, Redirect};
use axum::routing::get;
use fieldproof_core::App;
use fieldproof_core::domain::{Role, ValidationError};
use fieldproof_core::ids::{OrgId, TaskId};
use fieldproof_core::service::circulars::{self, LIST_LIMIT, NewCircular};
use fieldproof_core::service::orgs;

use super::error::ConsoleError;
use super::format::in_zone;
use super::session::{ConsoleUser, Post, read_pairs};
use super::{Chrome, render};

/// Circular routes.
pub fn router() -> Router<App> {
    Router::new().route("/circulars", get(list).post(publish))
}

/// A circular as listed.
struct Line {
    title: String,
    body: String,
    published: String,
    by_group: String,
    to: String,
    task: Option<String>,
}

/// An organisation the form can send to.
struct Recipient {
    id: String,
    name: String,
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "circulars.html")]
struct CircularsPage {
    c: Chrome,
    lines: Vec<Line>,
    recipients: Vec<Recipient>,
    can_publish: bool,
}

async fn list(State(app): State<App>, user: ConsoleUser) -> Result<Html<String>, ConsoleError> {
    let all = circulars::for_caller(&app, &user.caller, None, LIST_LIMIT).await?;
    let orgs = orgs::list_orgs(&app, &user.caller).await?;
    let names: HashMap<OrgId, &str> = orgs.iter().map(|o| (o.id, o.name.as_str())).collect();
    let name = |id: &OrgId| names.get(id).map_or_else(|| id.to_string(), |n| (*n).to_owned());
    let lines = all
        .iter()
        .map(|c| Line {
            title: c.title.clone(),
            body: c.body.clone(),
            published: in_zone(c.created_at, chrono_tz::Asia::Shanghai),
            by_group: c.group_id.as_ref().map(name).unwrap_or_default(),
            to: c.recipients.iter().map(name).collect::<Vec<_>>().join("、"),
            task: c.task_id.map(|t| t.to_string()),
        })
        .collect();
    let mut recipients: Vec<Recipient> = orgs
        .iter()
        .filter(|o| o.active)
        .map(|o| Recipient {
            id: o.id.to_string(),
            name: o.name.clone(),
            kind: o.kind.as_str(),
        })
        .collect();
    recipients.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let page = CircularsPage {
        c: Chrome::new(&user, "/circulars"),
        lines,
        recipients,
        can_publish: matches!(user.caller.user.role, Role::Supervisor | Role::Admin),
    };
    render(&page)
}

/// The publish form; `recipient` repeats, once per ticked organisation.
#[derive(Debug, serde::Deserialize)]
struct PublishForm {
    title: String,
    body: String,
    task: Option<String>,
}

async fn publish(State(app): State<App>, post: Post<PublishForm>) -> Result<Redirect, ConsoleError> {
    let mut errors = ValidationError::default();
    let parsed: Result<Vec<OrgId>, _> = read_pairs(&post.pairs, "recipient").map(str::parse).collect();
    let recipients = parsed.unwrap_or_else(|_| {
        errors.add("recipient", "is not an organisation id");
        Vec::new()
    });
    let task_id = match post.form.task.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let parsed = t.parse::<TaskId>().ok();
            if parsed.is_none() {
                errors.add("task", "is not a task id");
            }
            parsed
        }
    };
    errors.into_result()?;
    let new = NewCircular {
        title: post.form.title,
        body: post.form.body,
        recipients,
        task_id,
    };
    circulars::publish(&app, &post.user.caller, new).await?;
    Ok(Redirect::to("/circulars"))
}
