//! One router per resource.

pub mod push;
pub mod records;
pub mod sync;
pub mod uploads;
