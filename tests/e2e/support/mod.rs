//! What the end-to-end tests share: generated photos, the shared fixtures, a PostgreSQL
//! database and an S3-protocol server per test, a running server with an API client, and a
//! headless Chromium over WebDriver.

pub mod browser;
pub mod clients;
pub mod console;
pub mod cutter;
pub mod pg;
pub mod photos;
pub mod s3;
pub mod server;
pub mod sms;
pub mod world;
