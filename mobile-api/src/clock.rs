//! `Device-Time`: a phone may send its own clock with any request. The server records how
//! far it runs from its own, and photos that phone uploads are judged with their capture time
//! corrected by that offset (the reasons say so).

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use fieldproof_core::web::CurrentUser;
use fieldproof_core::{ApiError, App};

/// Largest phone clock error the server corrects for. A phone further off (a reset clock,
/// or someone dating an old photo to today) is judged by its own clock, and its photos'
/// times look wrong to the checks, which is what a supervisor should then look at.
const MAX_OFFSET: chrono::Duration = chrono::Duration::hours(24);

/// Records the caller's clock offset when the request carries `Device-Time`; a value that is
/// not an RFC 3339 time is refused, and one more than a day off is not believed (an earlier
/// offset is forgotten then too).
pub async fn record_device_clock(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(value) = request.headers().get("device-time") else {
        return next.run(request).await;
    };
    let now = Utc::now();
    let Some(device_time) = value
        .to_str()
        .ok()
        .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
    else {
        return ApiError::Malformed(
            "Device-Time must be an RFC 3339 time with its offset, e.g. 2026-12-04T09:30:00+08:00".into(),
        )
        .into_response();
    };
    let offset = device_time.with_timezone(&Utc) - now;
    let (mut parts, body) = request.into_parts();
    // Anonymous requests are refused by their handler; there is no one to record the clock of.
    if let Ok(caller) = CurrentUser::from_request_parts(&mut parts, &app).await {
        let user = caller.caller.user.id;
        let recorded = if offset.abs() <= MAX_OFFSET {
            app.store
                .record_device_clock(user, offset.num_milliseconds(), now)
                .await
        } else {
            app.store.forget_device_clock(user).await
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "recording a device clock failed");
        }
    }
    next.run(Request::from_parts(parts, body)).await
}
