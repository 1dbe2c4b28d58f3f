//! Fieldproof's evidence pipeline: EXIF reading, time and location verification, thumbnails,
//! and the worker loop that claims photo rows from the store.

pub mod budget;
pub mod colour;
pub mod decode;
pub mod exif;
pub mod inspect;
pub mod phash;
pub mod pipeline;
pub mod synth;
pub mod thumbs;
pub mod verify;
pub mod worker;

pub use worker::{Step, Worker};
