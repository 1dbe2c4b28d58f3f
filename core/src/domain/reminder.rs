//! Reminders: which steps of the schedule are due for a phase, quiet hours, and the short
//! Chinese message templates that go out by SMS.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::task::named_enum;
use crate::ids::TaskId;

named_enum!(
    /// Why a reminder goes out; with the phase, the due date and the step it is unique.
    ReminderKind {
        /// A warning some days before the due date.
        DueSoon = "due_soon",
        /// The phase fell overdue (step 0) or is still overdue (step = days overdue).
        Overdue = "overdue",
        /// Overdue long enough to reach the supervision group's leaders.
        Escalation = "escalation",
        /// A supervisor urged (催办) by hand.
        Urge = "urge",
    }
);

/// One step of the schedule: its kind and its number (days before or after the due date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    /// Which kind of reminder.
    pub kind: ReminderKind,
    /// Days before the due date for warnings, days overdue for the others.
    pub step: i32,
}

/// When reminders go out, from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Warn this many days before the due date (e.g. 3 and 1).
    pub warn_days: Vec<u32>,
    /// While overdue, repeat every this many days (0: only the day it falls overdue).
    pub repeat_days: u32,
    /// Escalate to the group's leaders after this many days overdue (0: never).
    pub escalate_after_days: u32,
}

impl Schedule {
    /// How far ahead of its due date a phase can need a reminder.
    pub fn horizon(&self) -> Duration {
        Duration::days(i64::from(self.warn_days.iter().copied().max().unwrap_or(0)))
    }

    /// The steps due now for an open phase due at `due`: only the latest of each kind, so a
    /// phase first seen long overdue gets one notice, not every missed repeat.
    pub fn due_steps(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Step> {
        if now < due {
            return self
                .warn_days
                .iter()
                .copied()
                .filter(|d| now >= due - Duration::days(i64::from(*d)))
                .min()
                .map(|d| Step {
                    kind: ReminderKind::DueSoon,
                    step: clamp_days(i64::from(d)),
                })
                .into_iter()
                .collect();
        }
        let days_over = (now - due).num_days();
        let repeat = i64::from(self.repeat_days);
        let overdue_step = if repeat > 0 {
            days_over / repeat * repeat
        } else {
            0
        };
        let mut steps = vec![Step {
            kind: ReminderKind::Overdue,
            step: clamp_days(overdue_step),
        }];
        let escalate = i64::from(self.escalate_after_days);
        if escalate > 0 && days_over >= escalate {
            steps.push(Step {
                kind: ReminderKind::Escalation,
                step: clamp_days(escalate),
            });
        }
        steps
    }
}

fn clamp_days(days: i64) -> i32 {
    i32::try_from(days).unwrap_or(i32::MAX)
}

/// Hours of the site's night in which nothing is sent (e.g. 22:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Local time quiet starts.
    pub start: NaiveTime,
    /// Local time sending may resume.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (start, end) = text.trim().split_once('-')?;
        let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").ok()?;
        let end = NaiveTime::parse_from_str(end.trim(), "%H:%M").ok()?;
        (start != end).then_some(Self { start, end })
    }

    /// When sending may resume, if `now` falls in the quiet hours of `tz`.
    pub fn resume_at(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz);
        let time = local.time();
        let quiet = if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !quiet {
            return None;
        }
        let mut day = local.date_naive();
        if time >= self.end {
            day = day.succ_opt()?;
        }
        let resume = tz
            .from_local_datetime(&day.and_time(self.end))
            .earliest()
            .map(|t| t.with_timezone(&Utc));
        // A local time skipped by a clock change: try an hour later rather than never.
        resume.or_else(|| Some(now + Duration::hours(1)))
    }
}

/// The short code a task goes by in messages: `DB` and the last eight hex digits of its id
/// (the random part of a v7 id), e.g. `DB3F9A01C2`.
pub fn task_code(id: TaskId) -> String {
    let hex = id.0.simple().to_string().to_uppercase();
    format!("DB{}", &hex[hex.len() - 8..])
}

/// `13800138000` → `138****8000`, for logs.
pub fn mask_mobile(mobile: &str) -> String {
    let chars: Vec<char> = mobile.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Longest phase title put into a message variable; providers cap variables (Tencent at
/// 12 characters for names), and a short SMS is one segment.
const MAX_PHASE_CHARS: usize = 12;

/// A message ready for a provider: the template's variables in order, and the text as the
/// recipient reads it (kept with the message and shown to supervisors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    /// Variable names and values, in the template's order (Tencent numbers them {1}, {2}…).
    pub params: Vec<(String, String)>,
    /// The full text, without the signature.
    pub text: String,
}

/// What a message names.
#[derive(Debug, Clone)]
pub struct MessageFacts<'a> {
    /// The task.
    pub task: TaskId,
    /// The phase title, or `None` for an urge on the whole task.
    pub phase_title: Option<&'a str>,
    /// The due date.
    pub due_at: DateTime<Utc>,
    /// The site's time zone, which decides the date printed.
    pub tz: Tz,
    /// Days overdue (for overdue and escalation messages).
    pub days_over: i64,
}

/// Renders the template of `kind`: short variables, no links, plain Chinese.
pub fn render(kind: ReminderKind, facts: &MessageFacts<'_>) -> Rendered {
    let code = task_code(facts.task);
    let phase: String = match facts.phase_title {
        Some(title) => shorten(title),
        None => "全部阶段".to_owned(),
    };
    let date = facts
        .due_at
        .with_timezone(&facts.tz)
        .format("%Y-%m-%d")
        .to_string();
    let days = facts.days_over.max(1).to_string();
    let (text, params) = match kind {
        ReminderKind::DueSoon => (
            format!("督办任务{code}“{phase}”将于{date}到期，请按时上报整改情况。"),
            vec![("code", code), ("phase", phase), ("date", date)],
        ),
        ReminderKind::Overdue => (
            format!("督办任务{code}“{phase}”已于{date}到期，已超期{days}天，请尽快整改上报。"),
            vec![("code", code), ("phase", phase), ("date", date), ("days", days)],
        ),
        ReminderKind::Escalation => (
            format!("督办任务{code}“{phase}”已超期{days}天仍未整改到位，请督查组领导督办。"),
            vec![("code", code), ("phase", phase), ("days", days)],
        ),
        ReminderKind::Urge => (
            format!("督查组催办：督办任务{code}“{phase}”请尽快办理，催办意见请登录系统查看。"),
            vec![("code", code), ("phase", phase)],
        ),
    };
    Rendered {
        params: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        text,
    }
}

/// At most [`MAX_PHASE_CHARS`] characters, with `…` when cut; characters a provider would
/// read as a link are dropped.
fn shorten(title: &str) -> String {
    let clean: String = title
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | ':' | '【' | '】'))
        .collect();
    let clean = clean.trim();
    if clean.chars().count() <= MAX_PHASE_CHARS {
        clean.to_owned()
    } else {
        let mut s: String = clean.chars().take(MAX_PHASE_CHARS - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn schedule() -> Schedule {
        Schedule {
            warn_days: vec![3, 1],
            repeat_days: 2,
            escalate_after_days: 5,
        }
    }

    #[test]
    fn warnings_then_overdue_repeats_then_escalation() {
        let due = at("2026-03-10T10:00:00Z");
        let s = schedule();
        let steps = |now: &str| s.due_steps(due, at(now));
        assert!(steps("2026-03-07T09:59:59Z").is_empty());
        let warn = |d| Step {
            kind: ReminderKind::DueSoon,
            step: d,
        };
        let over = |d| Step {
            kind: ReminderKind::Overdue,
            step: d,
        };
        assert_eq!(steps("2026-03-07T10:00:00Z"), vec![warn(3)]);
        assert_eq!(steps("2026-03-09T12:00:00Z"), vec![warn(1)]);
        assert_eq!(steps("2026-03-10T10:00:00Z"), vec![over(0)]);
        assert_eq!(steps("2026-03-11T11:00:00Z"), vec![over(0)]);
        assert_eq!(steps("2026-03-12T10:00:00Z"), vec![over(2)]);
        assert_eq!(
            steps("2026-03-15T10:00:00Z"),
            vec![
                over(4),
                Step {
                    kind: ReminderKind::Escalation,
                    step: 5
                }
            ]
        );
        assert_eq!(s.horizon(), Duration::days(3));
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_the_sites_zone() {
        let q = QuietHours::parse("22:00-07:00").unwrap();
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        // 15:00 UTC is 23:00 in Shanghai: resume at 07:00 the next local day (23:00 UTC).
        assert_eq!(
            q.resume_at(at("2026-03-01T15:00:00Z"), sh),
            Some(at("2026-03-01T23:00:00Z"))
        );
        // 20:00 UTC is 04:00 local: resume the same local day at 07:00.
        assert_eq!(
            q.resume_at(at("2026-03-01T20:00:00Z"), sh),
            Some(at("2026-03-01T23:00:00Z"))
        );
        assert_eq!(q.resume_at(at("2026-03-01T02:00:00Z"), sh), None);
        let day = QuietHours::parse("12:00-13:30").unwrap();
        assert_eq!(
            day.resume_at(at("2026-03-01T12:10:00Z"), Tz::UTC),
            Some(at("2026-03-01T13:30:00Z"))
        );
        assert_eq!(QuietHours::parse("25:00-07:00"), None);
        assert_eq!(QuietHours::parse("07:00-07:00"), None);
    }

    #[test]
    fn messages_are_short_and_carry_no_links() {
        let id: TaskId = "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap();
        let m = render(
            ReminderKind::Overdue,
            &MessageFacts {
                task: id,
                phase_title: Some("第一阶段：http://evil.example 整改除尘设施并验收"),
                due_at: at("2026-03-10T15:59:00Z"),
                tz: "Asia/Shanghai".parse().unwrap(),
                days_over: 3,
            },
        );
        assert_eq!(task_code(id), "DB099A8057");
        assert!(m.text.starts_with("督办任务DB099A8057“"), "{}", m.text);
        assert!(m.text.contains("2026-03-10"));
        assert!(m.text.contains("已超期3天"));
        assert!(!m.text.contains("http://"));
        for (_, v) in &m.params {
            assert!(v.chars().count() <= 12, "{v}");
        }
        assert_eq!(mask_mobile("13800138000"), "138****8000");
    }
}
