//! The `webhook` provider: an HTTP POST of the message as JSON to the operator's own SMS
//! gateway, signed like receipts (see [`super::signing`]), with our message id as its
//! `Idempotency-Key` so the gateway can drop a repeat after a lost answer.

use chrono::Utc;

use super::{Outgoing, SendError, retryable, sign_body, template, transport_error};
use crate::config::Settings;

/// Posts one message; the gateway's `id` when it answers one, else ours.
pub async fn send(http: &reqwest::Client, s: &Settings, msg: &Outgoing<'_>) -> Result<String, SendError> {
    let (Some(url), Some(key)) = (&s.sms_webhook_url, &s.sms_webhook_secret) else {
        return Err(SendError::Transient("the webhook is not configured".into()));
    };
    let body = serde_json::json!({
        "id": msg.id,
        "to": msg.mobile,
        "kind": msg.kind.as_str(),
        "template": template(s, msg.kind),
        "sign_name": s.sms_sign_name,
        "params": msg.params.iter().map(|(k, v)| serde_json::json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "text": msg.text,
    })
    .to_string();
    let timestamp = Utc::now().timestamp();
    let resp = http
        .post(url.expose())
        .header("content-type", "application/json")
        .header("idempotency-key", msg.id.to_string())
        .header("x-fieldproof-timestamp", timestamp.to_string())
        .header(
            "x-fieldproof-signature",
            sign_body(key.expose().as_bytes(), timestamp, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    let status = resp.status();
    if status.is_success() {
        let answer: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
        return Ok(answer["id"]
            .as_str()
            .map_or_else(|| msg.id.to_string(), str::to_owned));
    }
    let text: String = resp.text().await.unwrap_or_default().chars().take(200).collect();
    let why = format!("the webhook answered {status}: {text}");
    if retryable(status) {
        Err(SendError::Transient(why))
    } else {
        Err(SendError::Refused(why))
    }
}
