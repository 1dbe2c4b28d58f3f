//! HTTP edge pieces shared by the console and mobile APIs: extractors that turn every
//! rejection into problem+json, the authenticated caller, conditional reads, idempotency keys
//! and shared wire types.

pub mod dto;
pub mod etag;
pub mod extract;
pub mod idempotency;

pub use extract::{Client, CurrentUser, Json, Path, PeerAddr, Query};
