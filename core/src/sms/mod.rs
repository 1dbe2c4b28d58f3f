//! SMS providers: where reminder messages go. `log` (the embedded default), `webhook`
//! (signed JSON to a gateway of the operator's), Aliyun SMS and Tencent Cloud SMS, each with
//! its own request signing and template model; and the signed delivery receipts coming back.

mod aliyun;
pub mod receipts;
mod signing;
mod tencent;
mod webhook;

use std::time::Duration;

use crate::config::{Settings, SmsProviderKind};
use crate::domain::reminder::{ReminderKind, mask_mobile};

pub use signing::{sign_body, verify_body};

/// One SMS to send.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Our message id: sent along (Aliyun `OutId`, Tencent `SessionContext`, the webhook's
    /// `Idempotency-Key`) so receipts match it and a gateway can drop a repeat.
    pub id: uuid::Uuid,
    /// An eleven-digit mainland mobile number.
    pub mobile: &'a str,
    /// Which template.
    pub kind: ReminderKind,
    /// The template's variables, in order.
    pub params: &'a [(String, String)],
    /// The text as rendered, for providers that take text.
    pub text: &'a str,
}

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider refused this message for good (the number, most often): not retried.
    #[error("refused: {0}")]
    Refused(String),
    /// The provider failed or did not answer: retried with back-off.
    #[error("provider error: {0}")]
    Transient(String),
}

/// Makes aws-lc-rs (which the S3 client already links) the process's TLS crypto: the HTTP
/// client of the providers asks for the process default. Harmless to call again.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The configured provider with its HTTP client.
#[derive(Debug, Clone)]
pub struct Sms {
    kind: SmsProviderKind,
    http: reqwest::Client,
    settings: std::sync::Arc<Settings>,
}

impl Sms {
    /// The provider the settings name (checked complete when the settings loaded).
    pub fn new(settings: std::sync::Arc<Settings>) -> Result<Self, SendError> {
        install_tls_provider();
        // A provider that redirects is misconfigured or hijacked: never follow it elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.sms_timeout_secs.max(1)))
            .build()
            .map_err(|e| SendError::Transient(format!("HTTP client: {e}")))?;
        Ok(Self {
            kind: settings.sms_provider,
            http,
            settings,
        })
    }

    /// The provider's name, stored with each message.
    pub fn name(&self) -> &'static str {
        self.kind.as_str()
    }

    /// Sends one message; the provider's id for it. What the provider says is scrubbed
    /// before anyone keeps it (see [`scrub`]).
    pub async fn send(&self, msg: &Outgoing<'_>) -> Result<String, SendError> {
        match self.send_raw(msg).await {
            Ok(id) => Ok(id
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_PROVIDER_ID)
                .collect()),
            Err(SendError::Refused(why)) => Err(SendError::Refused(scrub(&why))),
            Err(SendError::Transient(why)) => Err(SendError::Transient(scrub(&why))),
        }
    }

    async fn send_raw(&self, msg: &Outgoing<'_>) -> Result<String, SendError> {
        let s = &self.settings;
        match self.kind {
            SmsProviderKind::Log => {
                tracing::info!(
                    id = %msg.id,
                    to = %mask_mobile(msg.mobile),
                    kind = msg.kind.as_str(),
                    text = %format!("【{}】{}", s.sms_sign_name, msg.text),
                    "SMS (log provider)"
                );
                Ok(msg.id.to_string())
            }
            SmsProviderKind::Webhook => webhook::send(&self.http, s, msg).await,
            SmsProviderKind::Aliyun => aliyun::send(&self.http, s, msg).await,
            SmsProviderKind::Tencent => tencent::send(&self.http, s, msg).await,
        }
    }
}

/// Longest provider message id kept.
const MAX_PROVIDER_ID: usize = 128;
/// Longest provider error text kept.
const MAX_ERROR_CHARS: usize = 200;

/// A provider's words as we keep and show them: runs of seven or more digits (a phone number
/// the provider echoed back) masked like [`mask_mobile`], control characters dropped, at most
/// 200 characters.
pub fn scrub(text: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 7 {
            out.push_str(&mask_mobile(digits));
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars().filter(|c| !c.is_control()) {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out.chars().take(MAX_ERROR_CHARS).collect()
}

/// The approved template code or id of `kind`.
fn template(s: &Settings, kind: ReminderKind) -> &str {
    match kind {
        ReminderKind::DueSoon => &s.sms_template_due_soon,
        ReminderKind::Overdue => &s.sms_template_overdue,
        ReminderKind::Escalation => &s.sms_template_escalation,
        ReminderKind::Urge => &s.sms_template_urge,
    }
}

/// Sorts an HTTP failure: no answer or a 5xx/429 is worth retrying, other answers are not.
fn transport_error(e: &reqwest::Error) -> SendError {
    if e.is_timeout() {
        SendError::Transient("the provider did not answer in time".into())
    } else {
        SendError::Transient(format!("could not reach the provider: {e}"))
    }
}

/// Whether an HTTP status from a provider is worth retrying.
fn retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn echoed_numbers_are_masked_and_long_answers_cut() {
        assert_eq!(
            scrub("400: invalid mobile 13900139000, code 1234"),
            "400: invalid mobile 139****9000, code 1234"
        );
        assert_eq!(scrub(&"x".repeat(5000)).len(), 200);
        assert_eq!(scrub("a\nb"), "ab");
    }
}
