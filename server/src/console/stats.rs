//! Statistics for leaders (tables and bar charts by agency, region or month) and exports: the
//! statistics or the whole task list as CSV or XLSX, built in the background with progress,
//! stored in object storage and downloadable only by whoever asked, every step audited.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use fieldproof_core::App;
use fieldproof_core::service::exports::{self, ExportFormat};
use fieldproof_core::service::orgs;
use fieldproof_core::service::stats::{self, StatsBy, StatsRow};
use fieldproof_core::store::ExportRow;
use fieldproof_core::web::{Path, Query};
use serde::Deserialize;

use super::error::ConsoleError;
use super::format::in_zone;
use super::session::{ConsoleUser, Post};
use super::{Chrome, render};

/// Statistics and export routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/stats", get(stats_page))
        .route("/exports", get(exports_page).post(request_export))
        .route("/exports/{id}", get(export_state))
        .route("/exports/{id}/download", get(download))
}

/// `?by=` of the statistics page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    by: Option<String>,
}

/// One row of the statistics table, formatted.
struct Line {
    group: String,
    tasks: i64,
    open: i64,
    completed: i64,
    on_time: String,
    overdue_phases: i64,
    overdue_days: i64,
    average_days: String,
    suspicious: String,
}

/// A bar of a chart.
struct Bar {
    label: String,
    value: String,
    width: f64,
    y: f64,
}

/// A horizontal bar chart drawn by the server.
struct Chart {
    title: &'static str,
    class: &'static str,
    bars: Vec<Bar>,
    height: f64,
}

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "—".to_owned())
}

/// Bars for `value` of each row, scaled to the largest.
fn chart(title: &'static str, class: &'static str, rows: &[(String, f64, String)]) -> Chart {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max);
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (label, value, text))| Bar {
            label: label.chars().take(14).collect(),
            value: text.clone(),
            width: if max > 0.0 { value / max * 300.0 } else { 0.0 },
            y: 10.0 + i as f64 * 24.0,
        })
        .collect();
    Chart {
        title,
        class,
        bars,
        height: 20.0 + rows.len() as f64 * 24.0,
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    c: Chrome,
    by: &'static str,
    lines: Vec<Line>,
    total: Line,
    charts: Vec<Chart>,
}

fn line(group: String, r: &StatsRow) -> Line {
    Line {
        group,
        tasks: r.tasks,
        open: r.open,
        completed: r.completed,
        on_time: percent(r.on_time_rate()),
        overdue_phases: r.overdue_phases,
        overdue_days: r.overdue_days,
        average_days: r
            .average_days_to_rectify()
            .map(|d| format!("{d:.1}"))
            .unwrap_or_else(|| "—".to_owned()),
        suspicious: percent(r.suspicious_rate()),
    }
}

async fn stats_page(
    State(app): State<App>,
    user: ConsoleUser,
    Query(q): Query<StatsQuery>,
) -> Result<Html<String>, ConsoleError> {
    let by = match q.by.as_deref().filter(|b| !b.is_empty()) {
        None => StatsBy::Agency,
        Some(b) => StatsBy::parse(b).ok_or_else(|| {
            fieldproof_core::domain::ValidationError::single("by", "must be `agency`, `region` or `month`")
        })?,
    };
    let (rows, total) = stats::statistics(&app, &user.caller, by).await?;
    let all_orgs = orgs::list_orgs(&app, &user.caller).await?;
    let group_name = |key: &str| match by {
        StatsBy::Agency => all_orgs
            .iter()
            .find(|o| o.id.to_string() == key)
            .map_or_else(|| key.to_owned(), |o| o.name.clone()),
        _ => key.to_owned(),
    };
    let lang = user.lang;
    let named: Vec<(String, &StatsRow)> = rows.iter().map(|r| (group_name(&r.key), r)).collect();
    let on_time: Vec<(String, f64, String)> = named
        .iter()
        .map(|(n, r)| {
            (
                n.clone(),
                r.on_time_rate().unwrap_or(0.0),
                percent(r.on_time_rate()),
            )
        })
        .collect();
    let overdue: Vec<(String, f64, String)> = named
        .iter()
        .map(|(n, r)| (n.clone(), r.overdue_phases as f64, r.overdue_phases.to_string()))
        .collect();
    let suspicious: Vec<(String, f64, String)> = named
        .iter()
        .map(|(n, r)| {
            (
                n.clone(),
                r.suspicious_rate().unwrap_or(0.0),
                percent(r.suspicious_rate()),
            )
        })
        .collect();
    let page = StatsPage {
        c: Chrome::new(&user, &format!("/stats?by={}", by.as_str())),
        by: by.as_str(),
        lines: named.iter().map(|(n, r)| line(n.clone(), r)).collect(),
        total: line(lang.w("total").to_owned(), &total),
        charts: vec![
            chart("on_time_rate", "bar", &on_time),
            chart("overdue_phases", "bar red", &overdue),
            chart("suspicious_rate", "bar red", &suspicious),
        ],
    };
    render(&page)
}

/// An export as listed.
struct ExportLine {
    id: String,
    what: String,
    format: String,
    status: String,
    progress: i32,
    rows: i64,
    created: String,
    error: String,
    ready: bool,
    running: bool,
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    c: Chrome,
    exports: Vec<ExportLine>,
}

fn export_line(e: &ExportRow) -> ExportLine {
    let by = serde_json::from_str::<exports::ExportParams>(&e.params)
        .ok()
        .and_then(|p| p.by)
        .unwrap_or_default();
    ExportLine {
        id: e.id.to_string(),
        what: if by.is_empty() {
            e.kind.clone()
        } else {
            format!("{} / {by}", e.kind)
        },
        format: e.format.to_uppercase(),
        status: e.status.clone(),
        progress: e.progress,
        rows: e.rows_written,
        created: in_zone(e.created_at, chrono_tz::Asia::Shanghai),
        error: e.error.clone().unwrap_or_default(),
        ready: e.status == "done" && e.object_key.is_some(),
        running: matches!(e.status.as_str(), "queued" | "running"),
    }
}

async fn exports_page(State(app): State<App>, user: ConsoleUser) -> Result<Html<String>, ConsoleError> {
    let all = exports::list(&app, &user.caller).await?;
    let page = ExportsPage {
        c: Chrome::new(&user, "/exports"),
        exports: all.iter().map(export_line).collect(),
    };
    render(&page)
}

/// What to export.
#[derive(Debug, Deserialize)]
struct ExportForm {
    kind: String,
    format: String,
    by: Option<String>,
}

async fn request_export(State(app): State<App>, post: Post<ExportForm>) -> Result<Redirect, ConsoleError> {
    let lang = post.user.lang.tag();
    let by = post.form.by.as_deref().filter(|b| !b.is_empty());
    exports::request(
        &app,
        &post.user.caller,
        &post.form.kind,
        &post.form.format,
        by,
        lang,
    )
    .await?;
    Ok(Redirect::to("/exports"))
}

/// An export's state as JSON, which the exports page polls while it runs.
async fn export_state(
    State(app): State<App>,
    user: ConsoleUser,
    Path(id): Path<uuid::Uuid>,
) -> Result<axum::Json<serde_json::Value>, ConsoleError> {
    let e = exports::find(&app, &user.caller, id).await?;
    Ok(axum::Json(serde_json::json!({
        "status": e.status,
        "status_words": user.lang.w(&e.status),
        "progress": e.progress,
        "rows": e.rows_written,
    })))
}

async fn download(
    State(app): State<App>,
    user: ConsoleUser,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, ConsoleError> {
    let (export, bytes) = exports::download(&app, &user.caller, id).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(ExportFormat::mime(&export.format)),
    );
    let name = format!(
        "fieldproof-{}-{}.{}",
        export.kind,
        export.created_at.format("%Y%m%d-%H%M"),
        export.format
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok((headers, bytes).into_response())
}
