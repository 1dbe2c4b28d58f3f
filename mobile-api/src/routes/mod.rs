//! One router per resource.

pub mod records;
pub mod sync;
pub mod uploads;
