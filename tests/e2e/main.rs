//! End-to-end tests: the real router (and, where it matters, the real `fieldproof` binary)
//! against real SQLite, PostgreSQL, filesystem and S3-protocol storage, driven over HTTP.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on any surprise"
)]

mod support;

mod audit;
mod authz;
mod bad_input;
mod browser;
mod clock;
mod compression;
mod console;
mod flow;
mod idempotency;
mod inspect;
mod lists;
mod openapi;
mod processes;
mod reminders;
mod resumable;
mod sync;
mod worker;
mod workflow;
