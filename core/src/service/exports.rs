//! Exports of the statistics and of the task list as CSV or XLSX. Asking queues a job row
//! (audited); a runner on any replica leases it, builds the file with progress, writes it to
//! object storage and marks it done (audited); only the requester may download it (audited).
//! A runner that dies leaves a lease that runs out, and another takes the job over.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use rust_xlsxwriter::{Format, Workbook};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::stats::{self, StatsBy, StatsRow};
use super::{Caller, scope_of};
use crate::app::App;
use crate::domain::ValidationError;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::store::{Cursor, ExportRow, Scope, TaskFilter, TaskSort};

/// How long a runner holds an export before another may take it over.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// How often an idle runner looks for work.
const POLL: Duration = Duration::from_secs(2);
/// Task rows read per page while exporting the list.
const PAGE: i64 = 200;
/// Exports one user may have queued or running at once.
const MAX_EXPORTS_IN_PROGRESS: i64 = 2;
/// How long a finished export's file is kept.
pub const EXPORT_LIFE: chrono::Duration = chrono::Duration::days(7);
/// Key prefix of export files.
const PREFIX: &str = "exports/";

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The statistics table, grouped.
    Statistics,
    /// Every visible task, one row each.
    Tasks,
}

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated, UTF-8 with a byte-order mark so spreadsheet programs read Chinese.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ExportFormat {
    fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    /// The MIME type of the file.
    pub fn mime(format: &str) -> &'static str {
        match format {
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _ => "text/csv; charset=utf-8",
        }
    }
}

/// An export's parameters, stored with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportParams {
    /// The statistics' grouping (`agency`, `region`, `month`).
    pub by: Option<String>,
    /// `zh` or `en`, for the column headers.
    pub lang: String,
}

/// Queues an export of `kind` as `format` for the caller, who will only ever get the rows
/// they may see.
pub async fn request(
    app: &App,
    caller: &Caller,
    kind: &str,
    format: &str,
    by: Option<&str>,
    lang: &str,
) -> Result<ExportRow, ApiError> {
    let mut errors = ValidationError::default();
    if !matches!(kind, "statistics" | "tasks") {
        errors.add("kind", "must be `statistics` or `tasks`");
    }
    if !matches!(format, "csv" | "xlsx") {
        errors.add("format", "must be `csv` or `xlsx`");
    }
    if kind == "statistics" && by.and_then(StatsBy::parse).is_none() {
        errors.add("by", "must be `agency`, `region` or `month`");
    }
    errors.into_result()?;
    scope_of(&caller.user).ok_or(ApiError::Forbidden("the account has no organisation"))?;
    if app.store.exports_in_progress(caller.user.id).await? >= MAX_EXPORTS_IN_PROGRESS {
        return Err(ApiError::Conflict {
            code: "export_in_progress",
            detail: format!(
                "{MAX_EXPORTS_IN_PROGRESS} of your exports are still being built; wait for one to finish"
            ),
        });
    }
    let params = ExportParams {
        by: by.filter(|_| kind == "statistics").map(str::to_owned),
        lang: if lang == "en" { "en" } else { "zh" }.to_owned(),
    };
    let export = ExportRow {
        id: Uuid::now_v7(),
        requested_by: caller.user.id,
        kind: kind.to_owned(),
        format: format.to_owned(),
        params: serde_json::to_string(&params).map_err(|e| ApiError::Internal(e.to_string()))?,
        status: "queued".to_owned(),
        progress: 0,
        rows_written: 0,
        object_key: None,
        size_bytes: None,
        error: None,
        attempts: 0,
        created_at: Utc::now(),
        finished_at: None,
    };
    app.store.create_export(&export, &caller.actor()).await?;
    Ok(export)
}

/// The caller's own export; 404 for anyone else's.
pub async fn find(app: &App, caller: &Caller, id: Uuid) -> Result<ExportRow, ApiError> {
    app.store
        .find_export(id)
        .await?
        .filter(|e| e.requested_by == caller.user.id)
        .ok_or(ApiError::NotFound("export"))
}

/// The caller's latest exports.
pub async fn list(app: &App, caller: &Caller) -> Result<Vec<ExportRow>, ApiError> {
    Ok(app.store.list_exports(caller.user.id, 20).await?)
}

/// The file of the caller's finished export, its download audited.
pub async fn download(app: &App, caller: &Caller, id: Uuid) -> Result<(ExportRow, Bytes), ApiError> {
    let export = find(app, caller, id).await?;
    let key = export
        .object_key
        .clone()
        .filter(|_| export.status == "done")
        .ok_or(ApiError::NotFound("finished export"))?;
    let bytes = app.objects.get_bytes(&key).await?;
    app.store
        .audit_export_download(&export, &caller.actor(), Utc::now())
        .await?;
    Ok((export, bytes))
}

/// Deletes the files of exports finished longer than [`EXPORT_LIFE`] ago; how many.
pub async fn remove_expired(app: &App, now: chrono::DateTime<Utc>) -> Result<usize, ApiError> {
    let keys = app.store.expire_exports(now - EXPORT_LIFE).await?;
    for key in &keys {
        app.objects.delete(key).await?;
    }
    Ok(keys.len())
}

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number with decimals (rates, averages).
    Number(f64),
    /// Nothing (a rate without a base).
    Empty,
}

/// A table to write: headers and rows.
#[derive(Debug, Default)]
pub struct Sheet {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Organisation names by id, for the agency column.
pub type Names = std::collections::HashMap<String, String>;

/// The name of organisation `id`, or the id when it is unknown.
fn name(names: &Names, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_owned())
}

/// Column headers in both languages.
fn headers(lang: &str, pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .map(|(zh, en)| if lang == "en" { *en } else { *zh }.to_owned())
        .collect()
}

/// Rounded to two places, for rates and averages.
fn rounded(value: Option<f64>) -> Cell {
    value.map_or(Cell::Empty, |v| Cell::Number((v * 100.0).round() / 100.0))
}

/// The statistics as a sheet; agency ids are replaced by names.
pub fn statistics_sheet(
    rows: &[StatsRow],
    total: &StatsRow,
    by: StatsBy,
    names: &Names,
    lang: &str,
) -> Sheet {
    let group = match by {
        StatsBy::Agency => ("办理机构", "Agency"),
        StatsBy::Region => ("区域", "Region"),
        StatsBy::Month => ("月份", "Month"),
    };
    let headers = headers(
        lang,
        &[
            group,
            ("任务数", "Tasks"),
            ("未办结", "Open"),
            ("已完成", "Completed"),
            ("按期率", "On-time rate"),
            ("超期阶段", "Overdue phases"),
            ("超期天数", "Overdue days"),
            ("平均整改天数", "Average days to rectify"),
            ("存疑照片率", "Suspicious-evidence rate"),
        ],
    );
    let line = |key: String, r: &StatsRow| {
        vec![
            Cell::Text(key),
            Cell::Int(r.tasks),
            Cell::Int(r.open),
            Cell::Int(r.completed),
            rounded(r.on_time_rate()),
            Cell::Int(r.overdue_phases),
            Cell::Int(r.overdue_days),
            rounded(r.average_days_to_rectify()),
            rounded(r.suspicious_rate()),
        ]
    };
    let mut out: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            line(
                if by == StatsBy::Agency {
                    name(names, &r.key)
                } else {
                    r.key.clone()
                },
                r,
            )
        })
        .collect();
    out.push(line(
        if lang == "en" { "Total" } else { "合计" }.to_owned(),
        total,
    ));
    Sheet { headers, rows: out }
}

/// Writes `sheet` as CSV, UTF-8 with a byte-order mark. Text cells that a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@` first) are prefixed with `'`.
pub fn to_csv(sheet: &Sheet) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let fail = |e: csv::Error| ApiError::Internal(e.to_string());
        w.write_record(&sheet.headers).map_err(fail)?;
        for row in &sheet.rows {
            let fields: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => defuse(t),
                    Cell::Int(n) => n.to_string(),
                    Cell::Number(n) => n.to_string(),
                    Cell::Empty => String::new(),
                })
                .collect();
            w.write_record(&fields).map_err(fail)?;
        }
        w.flush().map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(out)
}

/// Text that starts like a formula, quoted so spreadsheets show it instead of running it.
fn defuse(text: &str) -> String {
    let first = text.trim_start_matches([' ', '\u{3000}']);
    if first.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Writes `sheet` as an XLSX workbook, rows streamed to temporary files as they are added so
/// memory stays flat for large exports. Text is always written as text, never as a formula.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, ApiError> {
    let fail = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.to_string());
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = workbook.add_worksheet_with_constant_memory().map_err(fail)?;
    for (col, header) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(0, col as u16, header, &bold)
            .map_err(fail)?;
    }
    for (i, row) in sheet.rows.iter().enumerate() {
        let r = (i + 1) as u32;
        for (col, cell) in row.iter().enumerate() {
            let c = col as u16;
            match cell {
                Cell::Text(t) => ws.write_string(r, c, t).map(|_| ()),
                Cell::Int(n) => ws.write_number(r, c, *n as f64).map(|_| ()),
                Cell::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                Cell::Empty => Ok(()),
            }
            .map_err(fail)?;
        }
    }
    workbook.save_to_buffer().map_err(fail)
}

/// Runs exports until `shutdown`; every replica may run one.
pub async fn run(app: App, shutdown: CancellationToken) {
    let owner = format!("exports-{}", Uuid::new_v4());
    loop {
        match run_one(&app, &owner).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "running an export failed; its lease will run out"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Runs every waiting export once, as a runner would (for tests and the CLI).
pub async fn drain(app: &App) -> Result<usize, ApiError> {
    let owner = format!("exports-{}", Uuid::new_v4());
    let mut done = 0;
    while run_one(app, &owner).await? {
        done += 1;
    }
    Ok(done)
}

/// Claims the oldest waiting export for `owner`, builds it and records its end; `false` when
/// none was waiting.
async fn run_one(app: &App, owner: &str) -> Result<bool, ApiError> {
    let Some(export) = app.store.claim_export(owner, Utc::now(), LEASE).await? else {
        return Ok(false);
    };
    let outcome = produce(app, &export, owner).await;
    let result = match &outcome {
        Ok((key, rows, size)) => Ok((key.as_str(), *rows, *size)),
        Err(e) => Err(e.as_str()),
    };
    app.store
        .finish_export(&export, owner, result, Utc::now())
        .await?;
    Ok(true)
}

/// Logs why building an export failed and returns words safe to show its requester.
fn failure(e: impl std::fmt::Debug) -> String {
    tracing::warn!(error = ?e, "building an export failed");
    "the file could not be built (the server log has the cause)".to_owned()
}

/// Builds and stores one export's file: its key, rows and size, or why it failed (in words
/// safe to show its requester).
async fn produce(app: &App, export: &ExportRow, owner: &str) -> Result<(String, i64, i64), String> {
    let params: ExportParams =
        serde_json::from_str(&export.params).map_err(|_| "unreadable parameters".to_owned())?;
    let user = app
        .store
        .find_user(export.requested_by)
        .await
        .map_err(failure)?
        .ok_or_else(|| "the requester no longer exists".to_owned())?;
    let caller = Caller {
        user,
        client: crate::audit::ClientInfo::new(None, Some("export runner")),
    };
    let scope = scope_of(&caller.user).ok_or_else(|| "the requester has no organisation".to_owned())?;
    let orgs = app.store.list_orgs().await.map_err(failure)?;
    let names: Names = orgs.into_iter().map(|o| (o.id.to_string(), o.name)).collect();
    let sheet = match export.kind.as_str() {
        "statistics" => {
            let by = params
                .by
                .as_deref()
                .and_then(StatsBy::parse)
                .ok_or("no grouping")?;
            let (rows, total) = stats::statistics(app, &caller, by).await.map_err(failure)?;
            statistics_sheet(&rows, &total, by, &names, &params.lang)
        }
        _ => tasks_sheet(app, &caller, scope, export, owner, &names, &params.lang).await?,
    };
    let rows = sheet.rows.len() as i64;
    let format = if export.format == "xlsx" {
        ExportFormat::Xlsx
    } else {
        ExportFormat::Csv
    };
    // Writing a large workbook is CPU work: off the async threads.
    let bytes = tokio::task::spawn_blocking(move || match format {
        ExportFormat::Csv => to_csv(&sheet),
        ExportFormat::Xlsx => to_xlsx(&sheet),
    })
    .await
    .map_err(failure)?
    .map_err(failure)?;
    let size = bytes.len() as i64;
    let key = format!("{PREFIX}{}.{}", export.id, format.as_str());
    app.objects
        .put_bytes(&key, Bytes::from(bytes), ExportFormat::mime(format.as_str()))
        .await
        .map_err(failure)?;
    Ok((key, rows, size))
}

/// Every task `scope` may see, one row each, read page by page with progress.
async fn tasks_sheet(
    app: &App,
    caller: &Caller,
    scope: Scope,
    export: &ExportRow,
    owner: &str,
    names: &Names,
    lang: &str,
) -> Result<Sheet, String> {
    let now = Utc::now();
    let counts = super::tasks::count_lights(app, caller).await.map_err(failure)?;
    let expected = (counts.red + counts.yellow + counts.green + counts.done).max(1);
    let rule = app.settings.light_rule(now);
    let mut sheet = Sheet {
        headers: headers(
            lang,
            &[
                ("任务", "Task"),
                ("编号", "Id"),
                ("状态", "Status"),
                ("状态灯", "Light"),
                ("办理机构", "Agency"),
                ("区域", "Region"),
                ("截止", "Due"),
                ("超期天数", "Overdue days"),
                ("阶段", "Phases"),
                ("已通过阶段", "Accepted phases"),
                ("短信提醒", "SMS reminders"),
            ],
        ),
        rows: Vec::new(),
    };
    let mut after: Option<Cursor> = None;
    loop {
        let filter = TaskFilter {
            status: None,
            agency_id: None::<OrgId>,
            region_prefix: None,
            overdue: None,
            text: None,
            light: None,
            sort: TaskSort::Created,
            limit: PAGE,
            after,
        };
        let page = app.store.list_tasks(scope, &filter, now).await.map_err(failure)?;
        for s in &page {
            let tz: chrono_tz::Tz = s.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
            sheet.rows.push(vec![
                Cell::Text(s.task.title.clone()),
                Cell::Text(s.task.id.to_string()),
                Cell::Text(s.task.status.as_str().to_owned()),
                Cell::Text(rule.of_task(&s.task, tz).as_str().to_owned()),
                Cell::Text(
                    s.task
                        .agency_id
                        .map(|a| name(names, &a.to_string()))
                        .unwrap_or_default(),
                ),
                Cell::Text(s.task.region_code.clone().unwrap_or_default()),
                Cell::Text(
                    s.task
                        .due_at
                        .with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M")
                        .to_string(),
                ),
                Cell::Int(s.task.overdue_days(now)),
                Cell::Int(s.phase_count),
                Cell::Int(s.accepted_phase_count),
                Cell::Int(s.reminders_sent),
            ]);
        }
        let written = sheet.rows.len() as i64;
        let progress = ((written * 100) / expected).min(99) as i32;
        let held = app
            .store
            .export_progress(export.id, owner, progress, written, Utc::now() + LEASE)
            .await
            .map_err(failure)?;
        if !held {
            return Err("the export was taken over by another runner".to_owned());
        }
        if (page.len() as i64) < PAGE {
            return Ok(sheet);
        }
        after = page.last().map(|s| Cursor {
            due: s.task.next_due_at,
            id: s.task.id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Cell, Sheet, to_csv};

    #[test]
    fn csv_has_a_bom_and_defuses_formulas() {
        let sheet = Sheet {
            headers: vec!["任务".into(), "n".into()],
            rows: vec![vec![Cell::Text("=HYPERLINK(\"x\")".into()), Cell::Int(3)]],
        };
        let text = String::from_utf8(to_csv(&sheet).unwrap()).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\",3"), "{text}");
        assert_eq!(super::defuse(" =1+2"), "' =1+2");
        assert_eq!(super::defuse("＝1+2"), "'＝1+2");
        assert_eq!(super::defuse("煤场"), "煤场");
    }
}
