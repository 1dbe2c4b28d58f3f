//! Field-level validation errors, reported all at once so a form can mark every bad field.

use serde::Serialize;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `phases[1].due_at`.
    pub field: String,
    /// What is wrong with it, in words.
    pub message: String,
}

/// A request that parsed but whose values are not acceptable (422).
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} field(s) are invalid", .errors.len())]
pub struct ValidationError {
    /// Every failing field.
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    /// Records one failing field.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `Err(self)` when any field failed.
    pub fn into_result(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() { Ok(()) } else { Err(self) }
    }

    /// A single-field error.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.add(field, message);
        e
    }
}

/// Checks that a text field is non-blank and at most `max` characters.
pub fn check_text(errors: &mut ValidationError, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.add(field, "must not be empty");
    } else {
        check_len(errors, field, value, max);
    }
}

/// Checks a one-line text (a name): as [`check_text`], and no line breaks or tabs either.
pub fn check_line(errors: &mut ValidationError, field: &str, value: &str, max: usize) {
    if value.chars().any(char::is_control) {
        errors.add(field, "must be one line without control characters");
    } else {
        check_text(errors, field, value, max);
    }
}

/// Checks that a text field is at most `max` characters, without control characters (but
/// line breaks and tabs) or bidirectional overrides, which can disguise what a reviewer reads.
pub fn check_len(errors: &mut ValidationError, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.add(field, format!("must be at most {max} characters"));
    } else if value.chars().any(is_hidden) {
        errors.add(
            field,
            "must not contain control characters or bidirectional overrides",
        );
    }
}

/// Characters that hide or reorder text: controls other than line breaks and tabs, and the
/// Unicode bidirectional embeddings, overrides and isolates.
pub fn is_hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}
