//! The task list: visibility scope, filters, sorting and keyset (cursor) pagination.

use chrono::{DateTime, Utc};

use super::rows::TaskRow;
use super::tasks::TASK_COLUMNS;
use super::{Store, StoreResult, on_pool};
use crate::domain::{Light, Task, TaskStatus};
use crate::ids::{OrgId, TaskId};

/// Whose tasks a caller may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every task (admins).
    All,
    /// Tasks issued by this supervision group.
    Group(OrgId),
    /// Tasks issued to this agency.
    Agency(OrgId),
}

/// The order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskSort {
    /// Oldest first (ids are time-ordered).
    #[default]
    Created,
    /// Newest first.
    CreatedDesc,
    /// Earliest open due date first (most overdue on top); tasks without one last.
    NextDue,
}

/// Where the previous page ended, for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The sort key of the last row (the next due date, for [`TaskSort::NextDue`]).
    pub due: Option<DateTime<Utc>>,
    /// The last row's id.
    pub id: TaskId,
}

impl Cursor {
    /// The opaque text handed to clients: `<seconds>.<nanoseconds>_<id>` of the last row's due
    /// date (`n_<id>` without one), safe in a query string. Full precision, because SQLite
    /// keeps nanoseconds and a rounded key would repeat rows.
    pub fn encode(&self) -> String {
        match self.due {
            Some(due) => format!(
                "{}.{:09}_{}",
                due.timestamp(),
                due.timestamp_subsec_nanos(),
                self.id
            ),
            None => format!("n_{}", self.id),
        }
    }

    /// Reads back what [`Self::encode`] made; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (due, id) = text.split_once('_')?;
        let id = id.parse().ok()?;
        let due = match due {
            "n" => None,
            stamp => {
                let (secs, nanos) = stamp.split_once('.')?;
                Some(DateTime::<Utc>::from_timestamp(
                    secs.parse().ok()?,
                    nanos.parse().ok()?,
                )?)
            }
        };
        Some(Cursor { due, id })
    }
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only this workflow state.
    pub status: Option<TaskStatus>,
    /// Only tasks of this agency.
    pub agency_id: Option<OrgId>,
    /// Only tasks in this region: a GB/T 2260 prefix (`13` province, `1302` city, …).
    pub region_prefix: Option<String>,
    /// Only tasks with (true) or without (false) an overdue phase.
    pub overdue: Option<bool>,
    /// Only tasks whose title or description contains this (case-insensitive).
    pub text: Option<String>,
    /// Only tasks with this traffic light.
    pub light: Option<LightFilter>,
    /// The order.
    pub sort: TaskSort,
    /// At most this many.
    pub limit: i64,
    /// Continue after this row.
    pub after: Option<Cursor>,
}

/// A traffic-light filter with what "yellow" means now in each site time zone in use.
#[derive(Debug, Clone)]
pub struct LightFilter {
    /// The light wanted.
    pub light: Light,
    /// Per site time zone, the first due date that is no longer yellow.
    pub yellow_until: Vec<(String, DateTime<Utc>)>,
}

/// How many of the caller's tasks show each light.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct LightCounts {
    /// Overdue.
    pub red: i64,
    /// Due within the warning window.
    pub yellow: i64,
    /// Due later, or not yet scheduled.
    pub green: i64,
    /// Completed, closed or cancelled.
    pub done: i64,
}

/// A task in a list, with its phase counts.
#[derive(Debug, Clone)]
pub struct TaskSummary {
    /// The task.
    pub task: Task,
    /// How many phases it has.
    pub phase_count: i64,
    /// How many are accepted.
    pub accepted_phase_count: i64,
    /// How many are overdue now.
    pub overdue_phase_count: i64,
    /// The site's time zone, which decides the light's days.
    pub timezone: String,
    /// SMS reminders that went out (sent or delivered).
    pub reminders_sent: i64,
}

#[derive(sqlx::FromRow)]
struct TaskListRow {
    #[sqlx(flatten)]
    task: TaskRow,
    phase_count: i64,
    accepted_phase_count: i64,
    overdue_phase_count: i64,
    timezone: String,
    reminders_sent: i64,
}

/// The values bound to a dynamically built statement, in placeholder order.
enum Arg {
    Id(uuid::Uuid),
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Adds a value and returns its placeholder.
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                Arg::Id(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::Time(v) => q.bind(*v),
                Arg::Int(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// `%text%` for LIKE with the wildcards in `text` escaped.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

const DONE_STATUSES: &str = "('completed', 'closed', 'cancelled')";

/// The SQL condition for `light`, the same derivation as [`crate::domain::LightRule`]:
/// done when the task is over, red past the next due date of a task in progress, yellow
/// before the end of the warning window in the site's time zone, green otherwise.
fn light_condition(
    sql: &mut Sql,
    light: Light,
    yellow_until: &[(String, DateTime<Utc>)],
    now_arg: &str,
) -> String {
    let live = "t.status = 'in_progress' AND t.next_due_at IS NOT NULL";
    let mut bound = String::from("CASE (SELECT s.timezone FROM sites s WHERE s.id = t.site_id)");
    for (tz, until) in yellow_until {
        let tz = sql.arg(Arg::Text(tz.clone()));
        let until = sql.arg(Arg::Time(*until));
        bound.push_str(&format!(" WHEN {tz} THEN {until}"));
    }
    // A time zone not in the list (a site made meanwhile) counts as not yellow.
    bound.push_str(&format!(" ELSE {now_arg} END"));
    match light {
        Light::Done => format!("t.status IN {DONE_STATUSES}"),
        Light::Red => format!("({live} AND t.next_due_at < {now_arg})"),
        Light::Yellow => format!("({live} AND t.next_due_at >= {now_arg} AND t.next_due_at < {bound})"),
        Light::Green => format!(
            "(t.status NOT IN {DONE_STATUSES} AND NOT ({live} AND t.next_due_at < {bound}) \
             AND NOT ({live} AND t.next_due_at < {now_arg}))"
        ),
    }
}

/// The visibility condition of `scope`, if any.
fn scope_condition(sql: &mut Sql, scope: Scope) -> Option<String> {
    match scope {
        Scope::All => None,
        Scope::Group(org) => Some(format!("t.group_id = {}", sql.arg(Arg::Id(org.0)))),
        Scope::Agency(org) => Some(format!("t.agency_id = {}", sql.arg(Arg::Id(org.0)))),
    }
}

/// Builds the list statement: visibility, filters, keyset condition, order and limit.
fn list_sql(scope: Scope, filter: &TaskFilter, now: DateTime<Utc>) -> Sql {
    let mut sql = Sql::default();
    let now_arg = sql.arg(Arg::Time(now));
    let mut conditions: Vec<String> = Vec::new();
    conditions.extend(scope_condition(&mut sql, scope));
    if let Some(l) = &filter.light {
        let c = light_condition(&mut sql, l.light, &l.yellow_until, &now_arg);
        conditions.push(c);
    }
    if let Some(status) = filter.status {
        conditions.push(format!(
            "t.status = {}",
            sql.arg(Arg::Text(status.as_str().into()))
        ));
    }
    if let Some(agency) = filter.agency_id {
        conditions.push(format!("t.agency_id = {}", sql.arg(Arg::Id(agency.0))));
    }
    if let Some(prefix) = &filter.region_prefix {
        // The prefix is digits only (made by the region code parser), so nothing to escape.
        conditions.push(format!(
            "t.region_code LIKE {}",
            sql.arg(Arg::Text(format!("{prefix}%")))
        ));
    }
    match filter.overdue {
        Some(true) => conditions.push(format!("t.next_due_at < {now_arg}")),
        Some(false) => conditions.push(format!("(t.next_due_at IS NULL OR t.next_due_at >= {now_arg})")),
        None => {}
    }
    if let Some(text) = &filter.text {
        let p = sql.arg(Arg::Text(like_pattern(text)));
        conditions.push(format!("t.search_text LIKE {p} ESCAPE '\\'"));
    }
    let order = match filter.sort {
        TaskSort::Created => {
            if let Some(c) = filter.after {
                conditions.push(format!("t.id > {}", sql.arg(Arg::Id(c.id.0))));
            }
            "t.id".to_owned()
        }
        TaskSort::CreatedDesc => {
            if let Some(c) = filter.after {
                conditions.push(format!("t.id < {}", sql.arg(Arg::Id(c.id.0))));
            }
            "t.id DESC".to_owned()
        }
        TaskSort::NextDue => {
            // `next_due_at ASC NULLS LAST, id` is the order of a plain b-tree index on
            // `(…, next_due_at, id)`, so the first page stops after `limit` rows.
            match filter.after {
                Some(Cursor { due: Some(due), id }) => {
                    let due = sql.arg(Arg::Time(due));
                    let id = sql.arg(Arg::Id(id.0));
                    conditions.push(format!(
                        "((t.next_due_at, t.id) > ({due}, {id}) OR t.next_due_at IS NULL)"
                    ));
                }
                Some(Cursor { due: None, id }) => {
                    let id = sql.arg(Arg::Id(id.0));
                    conditions.push(format!("(t.next_due_at IS NULL AND t.id > {id})"));
                }
                None => {}
            }
            "t.next_due_at ASC NULLS LAST, t.id".to_owned()
        }
    };
    let limit = sql.arg(Arg::Int(filter.limit));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    sql.text = format!(
        "SELECT {TASK_COLUMNS}, \
           (SELECT COUNT(*) FROM phases p WHERE p.task_id = t.id) AS phase_count, \
           (SELECT COUNT(*) FROM phases p WHERE p.task_id = t.id AND p.status = 'accepted') \
             AS accepted_phase_count, \
           (SELECT COUNT(*) FROM phases p WHERE p.task_id = t.id AND p.status <> 'accepted' \
              AND p.due_at < {now_arg} AND t.status = 'in_progress') AS overdue_phase_count, \
           (SELECT s.timezone FROM sites s WHERE s.id = t.site_id) AS timezone, \
           (SELECT COUNT(*) FROM reminder_messages m WHERE m.task_id = t.id \
              AND m.status IN ('sent', 'delivered')) AS reminders_sent \
         FROM tasks t {where_clause} ORDER BY {order} LIMIT {limit}"
    );
    sql
}

impl Store {
    /// One page of the tasks `scope` may see that match `filter`, with phase counts.
    pub async fn list_tasks(
        &self,
        scope: Scope,
        filter: &TaskFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<TaskSummary>> {
        let sql = list_sql(scope, filter, now);
        let rows: Vec<TaskListRow> = on_pool!(self, pool => {
            bind_all!(sqlx::query_as(&sql.text), &sql.args).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(TaskSummary {
                    task: r.task.into_task()?,
                    phase_count: r.phase_count,
                    accepted_phase_count: r.accepted_phase_count,
                    overdue_phase_count: r.overdue_phase_count,
                    timezone: r.timezone,
                    reminders_sent: r.reminders_sent,
                })
            })
            .collect()
    }

    /// The time zones of all sites, for the light filter's yellow window.
    pub async fn site_timezones(&self) -> StoreResult<Vec<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT DISTINCT timezone FROM sites").fetch_all(pool).await?
        }))
    }

    /// How many tasks `scope` may see show each light.
    pub async fn count_lights(
        &self,
        scope: Scope,
        yellow_until: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> StoreResult<LightCounts> {
        let mut sql = Sql::default();
        let now_arg = sql.arg(Arg::Time(now));
        let scope = scope_condition(&mut sql, scope)
            .map(|c| format!("WHERE {c}"))
            .unwrap_or_default();
        let columns: Vec<String> = Light::ALL
            .iter()
            .map(|l| {
                let c = light_condition(&mut sql, *l, yellow_until, &now_arg);
                format!(
                    "COALESCE(SUM(CASE WHEN {c} THEN 1 ELSE 0 END), 0) AS {}",
                    l.as_str()
                )
            })
            .collect();
        sql.text = format!("SELECT {} FROM tasks t {scope}", columns.join(", "));
        Ok(on_pool!(self, pool => {
            bind_all!(sqlx::query_as(&sql.text), &sql.args).fetch_one(pool).await?
        }))
    }

    /// The executed plan of the same list query (`EXPLAIN ANALYZE`), for the benchmark's note.
    pub async fn explain_list_tasks(
        &self,
        scope: Scope,
        filter: &TaskFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<String> {
        let sql = list_sql(scope, filter, now);
        let text = format!("EXPLAIN (ANALYZE, BUFFERS) {}", sql.text);
        let lines: Vec<String> = match self {
            Store::Postgres(pool) => {
                bind_all!(sqlx::query_scalar(&text), &sql.args)
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                let text = format!("EXPLAIN QUERY PLAN {}", sql.text);
                let rows: Vec<(i64, i64, i64, String)> = bind_all!(sqlx::query_as(&text), &sql.args)
                    .fetch_all(pool)
                    .await?;
                rows.into_iter().map(|r| r.3).collect()
            }
        };
        Ok(lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        use super::{Cursor, TaskId};
        let c = Cursor {
            due: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789),
            id: TaskId::new(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let c = Cursor {
            due: None,
            id: TaskId::new(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("x_y"), None);
        assert_eq!(
            Cursor::decode("99999999999999999999.0_00000000-0000-0000-0000-000000000000"),
            None
        );
        assert_eq!(
            Cursor::decode("1.9999999999_00000000-0000-0000-0000-000000000000"),
            None
        );
    }

    #[test]
    fn like_wildcards_in_the_search_text_are_escaped() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("唐山"), "%唐山%");
    }
}
