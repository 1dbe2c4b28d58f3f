//! HTTP edge pieces shared by the console and mobile APIs: extractors that turn every
//! rejection into problem+json, the authenticated caller, and shared wire types.

pub mod dto;
pub mod etag;
pub mod extract;

pub use extract::{Client, CurrentUser, Json, Path, PeerAddr, Query};
