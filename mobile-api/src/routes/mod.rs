//! One router per resource.

pub mod records;
pub mod uploads;
