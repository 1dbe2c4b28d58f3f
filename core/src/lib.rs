//! Fieldproof's core: domain types and rules, the store (SQLite and PostgreSQL), object
//! storage (filesystem and S3), authentication, configuration and the use cases that tie them
//! together. The HTTP crates and the media worker build on this and never on each other.

pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod docinfo;
pub mod domain;
pub mod error;
pub mod geodesy;
pub mod ids;
pub mod imageinfo;
pub mod service;
pub mod sms;
pub mod storage;
pub mod store;
pub mod web;

pub use app::App;
pub use error::ApiError;
