//! The task list: traffic lights, filters (status, agency, region, light, text), sorting and
//! pages, through the same filter and service as `GET /api/v1/tasks`.

use std::collections::HashMap;

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use chrono::Utc;
use fieldproof_core::App;
use fieldproof_core::domain::{OrgKind, TaskStatus};
use fieldproof_core::ids::OrgId;
use fieldproof_core::service::{orgs, tasks};
use fieldproof_core::store::{Cursor, LightCounts};
use fieldproof_core::web::Query;
use serde::Deserialize;

use super::error::{ConsoleError, urlencode};
use super::format::{in_zone, zone};
use super::i18n::Lang;
use super::session::ConsoleUser;
use super::{Chrome, render};
use crate::dto::TaskListQuery;

/// List routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/lights", get(light_counts))
}

/// The list's query as a form sends it: empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    agency: Option<String>,
    region: Option<String>,
    light: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

fn given(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Rows per page.
const PAGE: i64 = 50;

/// One row of the list, formatted for the page.
pub struct Row {
    id: String,
    title: String,
    light: &'static str,
    status: &'static str,
    agency: String,
    region: String,
    next_due: String,
    overdue_days: i64,
    phases: String,
    reminders_sent: i64,
}

/// An option of a select.
pub struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    statuses: Vec<Choice>,
    agencies: Vec<Choice>,
    lights: Vec<Choice>,
    sorts: Vec<Choice>,
    region: String,
    text: String,
    next_page: Option<String>,
    first_page: Option<String>,
}

fn choices(values: &[(&str, &str)], chosen: Option<&str>, lang: Lang) -> Vec<Choice> {
    values
        .iter()
        .map(|(value, key)| Choice {
            value: (*value).to_owned(),
            label: lang.w(key).to_owned(),
            selected: chosen == Some(*value),
        })
        .collect()
}

/// The query string of this list with another cursor.
fn with_cursor(q: &ListQuery, cursor: Option<&str>) -> String {
    let pairs = [
        ("status", q.status.as_deref()),
        ("agency", q.agency.as_deref()),
        ("region", q.region.as_deref()),
        ("light", q.light.as_deref()),
        ("q", q.q.as_deref()),
        ("sort", q.sort.as_deref()),
        ("cursor", cursor),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", urlencode(v)))
        })
        .collect();
    format!("/tasks?{}", query.join("&"))
}

async fn list(
    State(app): State<App>,
    user: ConsoleUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    let lang = user.lang;
    let agency_id = given(q.agency.as_ref())
        .map(|a| a.parse::<OrgId>())
        .transpose()
        .map_err(|_| {
            fieldproof_core::ApiError::from(fieldproof_core::domain::ValidationError::single(
                "agency",
                "is not an organisation id",
            ))
        })?;
    let api_query = TaskListQuery {
        status: given(q.status.as_ref()),
        agency_id,
        region: given(q.region.as_ref()),
        overdue: None,
        light: given(q.light.as_ref()),
        q: given(q.q.as_ref()),
        sort: given(q.sort.as_ref()),
        limit: Some(PAGE),
        cursor: given(q.cursor.as_ref()),
    };
    let filter = crate::routes::tasks::filter(api_query)?;
    let items = tasks::list_tasks(&app, &user.caller, filter).await?;
    let all_orgs = orgs::list_orgs(&app, &user.caller).await?;
    let names: HashMap<OrgId, &str> = all_orgs.iter().map(|o| (o.id, o.name.as_str())).collect();
    let now = Utc::now();
    let rule = app.settings.light_rule(now);
    let rows = items
        .iter()
        .map(|s| {
            let tz = zone(&s.timezone);
            Row {
                id: s.task.id.to_string(),
                title: s.task.title.clone(),
                light: rule.of_task(&s.task, tz).as_str(),
                status: s.task.status.as_str(),
                agency: s
                    .task
                    .agency_id
                    .and_then(|a| names.get(&a).map(|n| (*n).to_owned()))
                    .unwrap_or_default(),
                region: s.task.region_code.clone().unwrap_or_default(),
                next_due: s.task.next_due_at.map(|d| in_zone(d, tz)).unwrap_or_default(),
                overdue_days: s.task.overdue_days(now),
                phases: format!("{}/{}", s.accepted_phase_count, s.phase_count),
                reminders_sent: s.reminders_sent,
            }
        })
        .collect();
    let next_page = (items.len() as i64 == PAGE)
        .then(|| items.last())
        .flatten()
        .map(|s| {
            with_cursor(
                &q,
                Some(
                    &Cursor {
                        due: s.task.next_due_at,
                        id: s.task.id,
                    }
                    .encode(),
                ),
            )
        });
    let first_page = q.cursor.as_ref().map(|_| with_cursor(&q, None));
    let statuses: Vec<(&str, &str)> = TaskStatus::ALL.iter().map(|s| (s.as_str(), s.as_str())).collect();
    let mut agencies: Vec<Choice> = all_orgs
        .iter()
        .filter(|o| o.kind == OrgKind::Agency)
        .map(|o| Choice {
            value: o.id.to_string(),
            label: o.name.clone(),
            selected: q.agency.as_deref() == Some(o.id.to_string().as_str()),
        })
        .collect();
    agencies.sort_by(|a, b| a.label.cmp(&b.label));
    let here = with_cursor(&q, q.cursor.as_deref());
    let page = ListPage {
        c: Chrome::new(&user, &here),
        rows,
        statuses: choices(&statuses, q.status.as_deref(), lang),
        agencies,
        lights: choices(
            &[
                ("red", "red"),
                ("yellow", "yellow"),
                ("green", "green"),
                ("done", "done"),
            ],
            q.light.as_deref(),
            lang,
        ),
        sorts: choices(
            &[
                ("created", "sort_created"),
                ("-created", "sort_created_desc"),
                ("next_due", "sort_next_due"),
            ],
            q.sort.as_deref(),
            lang,
        ),
        region: q.region.clone().unwrap_or_default(),
        text: q.q.clone().unwrap_or_default(),
        next_page,
        first_page,
    };
    render(&page)
}

/// How many of the user's tasks show each light. Counting every visible task takes far longer
/// than a page of the list, so the list page loads these afterwards (by script) instead of
/// waiting for them.
async fn light_counts(State(app): State<App>, user: ConsoleUser) -> Result<Json<LightCounts>, ConsoleError> {
    Ok(Json(tasks::count_lights(&app, &user.caller).await?))
}
