//! Use cases: each validates its input, checks the caller may act, and calls one store unit
//! of work (which writes the rows and the audit event together).

pub mod accounts;
pub mod photos;
pub mod records;
pub mod sites;
pub mod tasks;
pub mod upload;

use crate::domain::{Record, Role, User};
use crate::error::ApiError;

/// Whether `user` may see `record` and its photos: its author, or anyone who manages tasks.
pub fn can_see_record(user: &User, record: &Record) -> bool {
    record.created_by == user.id || user.role.manages_tasks()
}

/// 403 unless the role manages tasks.
pub fn require_manager(user: &User) -> Result<(), ApiError> {
    if user.role.manages_tasks() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only supervisors and admins may do this"))
    }
}

/// 403 unless the user is an admin.
pub fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins may do this"))
    }
}
