//! Statistics for leaders: per agency, region or month, how many tasks are open and completed,
//! the on-time rate, overdue phases and days, the average days to rectify and the share of
//! suspicious evidence. Each caller counts only what they may see.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Caller, scope_of};
use crate::app::App;
use crate::domain::task::overdue_days;
use crate::error::ApiError;
use crate::store::{StatPhase, StatPhotos, StatTask};

/// How the statistics are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsBy {
    /// By the agency the task was issued to (its id).
    Agency,
    /// By the agency's GB/T 2260 region code.
    Region,
    /// By the month the task was opened, in its site's time zone (`2026-12`).
    Month,
}

impl StatsBy {
    /// The name used in URLs and export parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            StatsBy::Agency => "agency",
            StatsBy::Region => "region",
            StatsBy::Month => "month",
        }
    }

    /// Parses [`StatsBy::as_str`].
    pub fn parse(s: &str) -> Option<StatsBy> {
        match s {
            "agency" => Some(StatsBy::Agency),
            "region" => Some(StatsBy::Region),
            "month" => Some(StatsBy::Month),
            _ => None,
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsRow {
    /// The group: an agency id, a region code or a month; empty when the task has none.
    pub key: String,
    /// Tasks in the group.
    pub tasks: i64,
    /// Of those, not yet completed (nor closed or cancelled).
    pub open: i64,
    /// Of those, completed or closed.
    pub completed: i64,
    /// Phases whose report was accepted.
    pub accepted_phases: i64,
    /// Of those, accepted by their due date.
    pub on_time_phases: i64,
    /// Phases of tasks in progress that are past due without an accepted report.
    pub overdue_phases: i64,
    /// Their days overdue, added up.
    pub overdue_days: i64,
    /// Days from a phase going live to its acceptance, added up over accepted phases.
    pub rectify_days_total: f64,
    /// Accepted phases with a known start (the divisor of the average).
    pub rectified_phases: i64,
    /// Photos with a verdict.
    pub judged_photos: i64,
    /// Of those, suspicious.
    pub suspicious_photos: i64,
}

impl StatsRow {
    /// Of the phases that fell due or were accepted, the share accepted by their due date.
    pub fn on_time_rate(&self) -> Option<f64> {
        let base = self.accepted_phases + self.overdue_phases;
        (base > 0).then(|| self.on_time_phases as f64 / base as f64)
    }

    /// The mean days from a phase going live to its acceptance.
    pub fn average_days_to_rectify(&self) -> Option<f64> {
        (self.rectified_phases > 0).then(|| self.rectify_days_total / self.rectified_phases as f64)
    }

    /// The share of judged photos that are suspicious.
    pub fn suspicious_rate(&self) -> Option<f64> {
        (self.judged_photos > 0).then(|| self.suspicious_photos as f64 / self.judged_photos as f64)
    }

    fn add(&mut self, other: &StatsRow) {
        self.tasks += other.tasks;
        self.open += other.open;
        self.completed += other.completed;
        self.accepted_phases += other.accepted_phases;
        self.on_time_phases += other.on_time_phases;
        self.overdue_phases += other.overdue_phases;
        self.overdue_days += other.overdue_days;
        self.rectify_days_total += other.rectify_days_total;
        self.rectified_phases += other.rectified_phases;
        self.judged_photos += other.judged_photos;
        self.suspicious_photos += other.suspicious_photos;
    }
}

/// The figures of `tasks` (with their phases and photo counts) grouped `by`, in key order,
/// and the total over all of them.
pub fn aggregate(
    by: StatsBy,
    tasks: &[StatTask],
    phases: &[StatPhase],
    photos: &[StatPhotos],
    now: DateTime<Utc>,
) -> (Vec<StatsRow>, StatsRow) {
    let mut per_task: std::collections::HashMap<_, StatsRow> = std::collections::HashMap::new();
    for t in tasks {
        let done = matches!(t.status.as_str(), "completed" | "closed");
        let ended = done || t.status == "cancelled";
        per_task.insert(
            t.id,
            StatsRow {
                tasks: 1,
                open: i64::from(!ended),
                completed: i64::from(done),
                ..StatsRow::default()
            },
        );
    }
    let in_progress: std::collections::HashSet<_> = tasks
        .iter()
        .filter(|t| t.status == "in_progress")
        .map(|t| t.id)
        .collect();
    for p in phases {
        let Some(row) = per_task.get_mut(&p.task_id) else {
            continue;
        };
        match (p.status.as_str(), p.accepted_at) {
            ("accepted", Some(at)) => {
                row.accepted_phases += 1;
                row.on_time_phases += i64::from(at <= p.due_at);
                if let Some(start) = p.starts_at {
                    row.rectify_days_total += (at - start).num_seconds().max(0) as f64 / 86_400.0;
                    row.rectified_phases += 1;
                }
            }
            ("accepted", None) => row.accepted_phases += 1,
            _ if p.due_at < now && in_progress.contains(&p.task_id) => {
                row.overdue_phases += 1;
                row.overdue_days += overdue_days(Some(p.due_at), now);
            }
            _ => {}
        }
    }
    for p in photos {
        if let Some(row) = per_task.get_mut(&p.task_id) {
            row.judged_photos += p.judged;
            row.suspicious_photos += p.suspicious;
        }
    }
    let mut groups: BTreeMap<String, StatsRow> = BTreeMap::new();
    let mut total = StatsRow::default();
    for t in tasks {
        let Some(row) = per_task.get(&t.id) else { continue };
        let key = match by {
            StatsBy::Agency => t.agency_id.map(|a| a.to_string()).unwrap_or_default(),
            StatsBy::Region => t.region_code.clone().unwrap_or_default(),
            StatsBy::Month => {
                let tz: chrono_tz::Tz = t.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
                t.created_at.with_timezone(&tz).format("%Y-%m").to_string()
            }
        };
        let group = groups.entry(key.clone()).or_insert_with(|| StatsRow {
            key,
            ..StatsRow::default()
        });
        group.add(row);
        total.add(row);
    }
    (groups.into_values().collect(), total)
}

/// The statistics the caller may see, grouped `by`, with their total.
pub async fn statistics(
    app: &App,
    caller: &Caller,
    by: StatsBy,
) -> Result<(Vec<StatsRow>, StatsRow), ApiError> {
    let scope = scope_of(&caller.user).ok_or(ApiError::Forbidden("the account has no organisation"))?;
    let (tasks, phases, photos) = app.store.stats_rows(scope).await?;
    Ok(aggregate(by, &tasks, &phases, &photos, Utc::now()))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::{StatsBy, aggregate};
    use crate::ids::TaskId;
    use crate::store::{StatPhase, StatPhotos, StatTask};

    fn task(status: &str, created: chrono::DateTime<Utc>) -> StatTask {
        StatTask {
            id: TaskId(uuid::Uuid::new_v4()),
            agency_id: None,
            region_code: Some("130203".into()),
            created_at: created,
            status: status.into(),
            timezone: "Asia/Shanghai".into(),
        }
    }

    #[test]
    fn rates_days_and_months_are_counted_per_group() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        // 2026-11-30 20:00 UTC is already December in Shanghai.
        let a = task(
            "in_progress",
            Utc.with_ymd_and_hms(2026, 11, 30, 20, 0, 0).unwrap(),
        );
        let b = task("completed", Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap());
        let phases = vec![
            StatPhase {
                task_id: a.id,
                due_at: now - Duration::hours(30),
                starts_at: None,
                status: "open".into(),
                accepted_at: None,
            },
            StatPhase {
                task_id: b.id,
                due_at: now - Duration::days(5),
                starts_at: Some(now - Duration::days(12)),
                status: "accepted".into(),
                accepted_at: Some(now - Duration::days(6)),
            },
        ];
        let photos = vec![StatPhotos {
            task_id: a.id,
            judged: 4,
            suspicious: 1,
        }];
        let (rows, total) = aggregate(StatsBy::Month, &[a, b], &phases, &photos, now);
        assert_eq!(
            rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["2026-11", "2026-12"]
        );
        assert_eq!(total.tasks, 2);
        assert_eq!((total.open, total.completed), (1, 1));
        assert_eq!((total.overdue_phases, total.overdue_days), (1, 2));
        assert_eq!(total.on_time_rate(), Some(0.5));
        assert_eq!(total.average_days_to_rectify(), Some(6.0));
        assert_eq!(total.suspicious_rate(), Some(0.25));
    }
}
