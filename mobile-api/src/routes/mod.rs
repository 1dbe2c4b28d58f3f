//! One router per resource.

pub mod records;
