//! A local HTTP server standing in for an SMS provider's endpoint: it checks each request's
//! signature the way the provider documents it (computed here independently of the
//! server's code), answers like the provider, and can fail on purpose: 500s first, then
//! requests it never answers (the client times out), then success. A number it is told to
//! refuse gets the provider's "illegal number" answer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Which provider's protocol the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Aliyun,
    Tencent,
    Webhook,
}

/// One message the provider accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Our message id as sent (OutId, SessionContext, Idempotency-Key).
    pub id: String,
    /// The provider's id it answered.
    pub provider_id: String,
    pub mobile: String,
    pub template: String,
}

#[derive(Default)]
struct Log {
    requests: usize,
    bad_signatures: usize,
    accepted: Vec<Accepted>,
    refused: Vec<String>,
}

struct Inner {
    kind: Kind,
    key_id: String,
    secret: String,
    fail_first: usize,
    hang_next: usize,
    refuse: String,
    log: Mutex<Log>,
}

/// The running provider.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
}

pub const KEY_ID: &str = "LTAI-test-key-id";
pub const SECRET: &str = "provider-secret-for-tests";
/// The number every provider refuses as illegal.
pub const REFUSED_NUMBER: &str = "19999999999";

impl Provider {
    /// Starts a provider that answers 500 to the first `fail_first` requests, then never
    /// answers the next `hang_next`, then works.
    pub async fn start(kind: Kind, fail_first: usize, hang_next: usize) -> Provider {
        let inner = Arc::new(Inner {
            kind,
            key_id: KEY_ID.into(),
            secret: SECRET.into(),
            fail_first,
            hang_next,
            refuse: REFUSED_NUMBER.into(),
            log: Mutex::new(Log::default()),
        });
        let app = Router::new().route("/", post(handle)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Provider { inner, url }
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.inner.log.lock().unwrap().accepted.clone()
    }

    /// Numbers refused so far (one entry per request).
    pub fn refused(&self) -> Vec<String> {
        self.inner.log.lock().unwrap().refused.clone()
    }

    /// Requests whose signature did not verify.
    pub fn bad_signatures(&self) -> usize {
        self.inner.log.lock().unwrap().bad_signatures
    }

    /// Requests received.
    pub fn requests(&self) -> usize {
        self.inner.log.lock().unwrap().requests
    }
}

async fn handle(State(p): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = {
        let mut log = p.log.lock().unwrap();
        log.requests += 1;
        log.requests
    };
    let parsed = match p.kind {
        Kind::Aliyun => aliyun_request(&p, &body),
        Kind::Tencent => tencent_request(&p, &headers, &body),
        Kind::Webhook => webhook_request(&p, &headers, &body),
    };
    let Some((id, mobile, template)) = parsed else {
        p.log.lock().unwrap().bad_signatures += 1;
        return (StatusCode::BAD_REQUEST, "signature does not match").into_response();
    };
    if n <= p.fail_first {
        return (StatusCode::INTERNAL_SERVER_ERROR, "busy").into_response();
    }
    if n <= p.fail_first + p.hang_next {
        tokio::time::sleep(Duration::from_secs(30)).await;
        return (StatusCode::GATEWAY_TIMEOUT, "late").into_response();
    }
    if mobile == p.refuse {
        p.log.lock().unwrap().refused.push(mobile.clone());
        return match p.kind {
            Kind::Aliyun => axum::Json(json!({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r"})).into_response(),
            Kind::Tencent => axum::Json(json!({"Response": {"SendStatusSet": [{"SerialNo": "", "PhoneNumber": format!("+86{mobile}"), "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误"}], "RequestId": "r"}})).into_response(),
            Kind::Webhook => (StatusCode::UNPROCESSABLE_ENTITY, "bad number").into_response(),
        };
    }
    let provider_id = format!(
        "{}-{n}",
        match p.kind {
            Kind::Aliyun => "biz",
            Kind::Tencent => "2433:serial",
            Kind::Webhook => "hook",
        }
    );
    p.log.lock().unwrap().accepted.push(Accepted {
        id: id.clone(),
        provider_id: provider_id.clone(),
        mobile,
        template,
    });
    match p.kind {
        Kind::Aliyun => axum::Json(json!({"Code": "OK", "Message": "OK", "BizId": provider_id, "RequestId": "r"})).into_response(),
        Kind::Tencent => axum::Json(json!({"Response": {"SendStatusSet": [{"SerialNo": provider_id, "Code": "Ok", "Message": "send success", "SessionContext": id}], "RequestId": "r"}})).into_response(),
        Kind::Webhook => axum::Json(json!({"id": provider_id})).into_response(),
    }
}

fn encode(s: &str) -> String {
    // Aliyun's POP rule: RFC 3986 unreserved characters stay, everything else is %XX.
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Aliyun RPC signature v1: `POST&%2F&` + the encoded sorted query, HMAC-SHA1 with `secret&`.
fn aliyun_request(p: &Inner, body: &[u8]) -> Option<(String, String, String)> {
    let form: BTreeMap<String, String> = url_decode_form(std::str::from_utf8(body).ok()?);
    let given = form.get("Signature")?.clone();
    let canonical = form
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST&%2F&{}", encode(&canonical));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", p.secret).as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let ok = expected == given
        && form.get("AccessKeyId") == Some(&p.key_id)
        && form.get("Action").map(String::as_str) == Some("SendSms")
        && form.get("SignatureMethod").map(String::as_str) == Some("HMAC-SHA1")
        && serde_json::from_str::<Value>(form.get("TemplateParam")?)
            .ok()?
            .is_object();
    ok.then(|| {
        (
            form.get("OutId").cloned().unwrap_or_default(),
            form.get("PhoneNumbers").cloned().unwrap_or_default(),
            form.get("TemplateCode").cloned().unwrap_or_default(),
        )
    })
}

fn url_decode_form(text: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn hmac256(key: &[u8], msg: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Tencent TC3-HMAC-SHA256 over `content-type;host` and the body's SHA-256.
fn tencent_request(p: &Inner, headers: &HeaderMap, body: &[u8]) -> Option<(String, String, String)> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ts: i64 = h("x-tc-timestamp").parse().ok()?;
    if h("x-tc-action") != "SendSms" || h("x-tc-version") != "2021-01-11" {
        return None;
    }
    let date = chrono::DateTime::from_timestamp(ts, 0)?
        .format("%Y-%m-%d")
        .to_string();
    let canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        h("content-type"),
        h("host"),
        hex::encode(Sha256::digest(body))
    );
    let scope = format!("{date}/sms/tc3_request");
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{ts}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac256(
        &hmac256(&hmac256(format!("TC3{}", p.secret).as_bytes(), &date), "sms"),
        "tc3_request",
    );
    let expected = format!(
        "TC3-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=content-type;host, Signature={}",
        p.key_id,
        hex::encode(hmac256(&k, &to_sign))
    );
    if h("authorization") != expected {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let mobile = v["PhoneNumberSet"][0]
        .as_str()?
        .trim_start_matches("+86")
        .to_owned();
    Some((
        v["SessionContext"].as_str()?.to_owned(),
        mobile,
        v["TemplateId"].as_str()?.to_owned(),
    ))
}

/// Our webhook: `sha256=` HMAC-SHA256 of `<timestamp>.<body>`, Idempotency-Key = the id.
fn webhook_request(p: &Inner, headers: &HeaderMap, body: &[u8]) -> Option<(String, String, String)> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let expected = sign(&p.secret, h("x-fieldproof-timestamp"), body);
    if h("x-fieldproof-signature") != expected {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = v["id"].as_str()?.to_owned();
    if h("idempotency-key") != id {
        return None;
    }
    Some((
        id,
        v["to"].as_str()?.to_owned(),
        v["template"].as_str()?.to_owned(),
    ))
}

/// The signature a receipt relay or webhook puts on `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}
