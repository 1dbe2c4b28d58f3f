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

/// A phone-given name as a reviewer must read it: bidirectional controls, which can make
/// `photo\u{202e}gpj.exe` display as `photoexe.jpg`, are shown as their code point instead of obeyed.
pub fn visible_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                format!("[U+{:04X}]", u32::from(c))
            }
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::visible_name;

    #[test]
    fn direction_overrides_are_shown_not_obeyed() {
        assert_eq!(visible_name("photo\u{202e}gpj.exe"), "photo[U+202E]gpj.exe");
        assert_eq!(visible_name("煤场.jpg"), "煤场.jpg");
    }
}
