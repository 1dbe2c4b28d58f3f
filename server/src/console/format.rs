//! How the console writes times: in the site's own time zone, to the minute.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The zone named `name`, or China Standard Time when the name is unknown.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// `at` in `tz` as `2026-12-04 10:30`.
pub fn in_zone(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// `at` in `tz` as `2026-12-04`.
pub fn day_in_zone(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d").to_string()
}
