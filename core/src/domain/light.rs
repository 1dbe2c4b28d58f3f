//! Traffic lights: one derivation of green, yellow, red and done for phases and tasks, used
//! by lists, task pages, sync, counts and the reminder schedule alike.

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::task::{Phase, PhaseStatus, Task, TaskStatus};

/// How urgent a phase or task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// Due later than the warning window, or not yet scheduled.
    Green,
    /// Due within the warning window (counted in whole days of the site's time zone).
    Yellow,
    /// Past its due date without an accepted report.
    Red,
    /// Accepted, or the task is over.
    Done,
}

impl Light {
    /// Every light, in the order lists show them.
    pub const ALL: [Light; 4] = [Light::Red, Light::Yellow, Light::Green, Light::Done];

    /// The stable name sent and accepted in `?light=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Light::Green => "green",
            Light::Yellow => "yellow",
            Light::Red => "red",
            Light::Done => "done",
        }
    }

    /// Parses a `?light=` value.
    pub fn parse(s: &str) -> Option<Self> {
        Light::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Whether a task's phases still count: a task that is completed, closed or cancelled is done.
pub fn task_is_done(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::Completed | TaskStatus::Closed | TaskStatus::Cancelled
    )
}

/// The moment and the warning window the lights are judged by.
#[derive(Debug, Clone, Copy)]
pub struct LightRule {
    /// Now.
    pub now: DateTime<Utc>,
    /// A due date this many site-local days ahead or fewer is yellow (today counts as 0).
    pub yellow_days: u32,
}

impl LightRule {
    /// The light of something open that falls due at `due`, for a site in `tz`.
    pub fn of_due(&self, due: DateTime<Utc>, tz: Tz) -> Light {
        if self.now > due {
            Light::Red
        } else if due < self.yellow_until(tz) {
            Light::Yellow
        } else {
            Light::Green
        }
    }

    /// The first instant that is no longer yellow in `tz`: the start of the site-local day
    /// `yellow_days + 1` days after today.
    pub fn yellow_until(&self, tz: Tz) -> DateTime<Utc> {
        let today = self.now.with_timezone(&tz).date_naive();
        let day = today
            .checked_add_days(Days::new(u64::from(self.yellow_days) + 1))
            .unwrap_or(today);
        // Midnight may not exist on a day that springs forward; take the earliest that does.
        tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .or_else(|| tz.from_local_datetime(&day.and_hms_opt(1, 0, 0)?).earliest())
            .map_or(self.now, |t| t.with_timezone(&Utc))
    }

    /// A phase's light: done once accepted or when its task is over.
    pub fn of_phase(&self, task: TaskStatus, phase: &Phase, tz: Tz) -> Light {
        if phase.status == PhaseStatus::Accepted || task_is_done(task) {
            Light::Done
        } else if task != TaskStatus::InProgress {
            Light::Green
        } else {
            self.of_due(phase.due_at, tz)
        }
    }

    /// A task's light: that of its most urgent open phase; green before phases are live.
    pub fn of_task(&self, task: &Task, tz: Tz) -> Light {
        if task_is_done(task.status) {
            return Light::Done;
        }
        match (task.status, task.next_due_at) {
            (TaskStatus::InProgress, Some(due)) => self.of_due(due, tz),
            _ => Light::Green,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn days_are_counted_in_the_sites_time_zone() {
        // 20:00 UTC on 1 March is 04:00 on 2 March in Shanghai: "today" is the 2nd there.
        let rule = LightRule {
            now: at("2026-03-01T20:00:00Z"),
            yellow_days: 3,
        };
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        // Due at 23:59 on the 5th in Shanghai: three days from the 2nd, yellow.
        assert_eq!(rule.of_due(at("2026-03-05T15:59:00Z"), shanghai), Light::Yellow);
        // Due at 00:00 on the 6th in Shanghai: four days, green.
        assert_eq!(rule.of_due(at("2026-03-05T16:00:00Z"), shanghai), Light::Green);
        // In UTC "today" is still the 1st, so the 5th is four days away: green.
        assert_eq!(rule.of_due(at("2026-03-05T15:59:00Z"), Tz::UTC), Light::Green);
        assert_eq!(rule.of_due(at("2026-03-01T19:59:00Z"), shanghai), Light::Red);
    }

    #[test]
    fn a_zero_day_window_warns_only_on_the_due_day() {
        let rule = LightRule {
            now: at("2026-03-02T01:00:00Z"),
            yellow_days: 0,
        };
        assert_eq!(rule.of_due(at("2026-03-02T10:00:00Z"), Tz::UTC), Light::Yellow);
        assert_eq!(rule.of_due(at("2026-03-03T00:00:00Z"), Tz::UTC), Light::Green);
    }

    #[test]
    fn names_round_trip() {
        for l in Light::ALL {
            assert_eq!(Light::parse(l.as_str()), Some(l));
        }
        assert_eq!(Light::parse("amber"), None);
    }
}
