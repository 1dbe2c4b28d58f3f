//! Aliyun SMS (dysmsapi 2017-05-25 `SendSms`) with the RPC signature, version 1.0: the
//! parameters sorted and percent-encoded (RFC 3986), `POST&%2F&<encoded query>` signed with
//! HMAC-SHA1 under `<secret>&`. Written here because Aliyun publishes no Rust SDK.

use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::{Outgoing, SendError, retryable, template, transport_error};
use crate::config::Settings;

const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";

/// Error codes about the number itself: sending again cannot help.
const REFUSED_CODES: &[&str] = &[
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.INVALID_PARAMETERS",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
];

/// RFC 3986 percent-encoding as Aliyun's POP signature wants it: everything but
/// `A-Z a-z 0-9 - _ . ~` encoded, UTF-8 bytes in upper-case hex.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query: parameters sorted by name, each name and value encoded.
pub fn canonical_query(params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Signature` parameter for a request with `method` and `params`.
pub fn signature(method: &str, params: &[(&str, String)], secret: &str) -> String {
    let to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(format!("{secret}&").as_bytes())
        .unwrap_or_else(|_| unreachable!());
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `TemplateParam`: the variables as a JSON object.
fn template_param(params: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Sends one message with a form POST; the `BizId` on success.
pub async fn send(http: &reqwest::Client, s: &Settings, msg: &Outgoing<'_>) -> Result<String, SendError> {
    let (Some(key_id), Some(secret)) = (&s.sms_access_key_id, &s.sms_access_key_secret) else {
        return Err(SendError::Transient("Aliyun keys are not configured".into()));
    };
    let mut params: Vec<(&str, String)> = vec![
        ("AccessKeyId", key_id.expose().to_owned()),
        ("Action", "SendSms".into()),
        ("Format", "JSON".into()),
        ("OutId", msg.id.to_string()),
        ("PhoneNumbers", msg.mobile.to_owned()),
        ("RegionId", s.sms_region.clone()),
        ("SignName", s.sms_sign_name.clone()),
        ("SignatureMethod", "HMAC-SHA1".into()),
        ("SignatureNonce", uuid::Uuid::new_v4().to_string()),
        ("SignatureVersion", "1.0".into()),
        ("TemplateCode", template(s, msg.kind).to_owned()),
        ("TemplateParam", template_param(msg.params)),
        ("Timestamp", Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("Version", "2017-05-25".into()),
    ];
    let sig = signature("POST", &params, secret.expose());
    params.push(("Signature", sig));
    let body = canonical_query(&params);
    let endpoint = s.sms_endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
    let resp = http
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    let status = resp.status();
    let answer: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    let code = answer.get("Code").and_then(|c| c.as_str()).unwrap_or("");
    let message = answer.get("Message").and_then(|c| c.as_str()).unwrap_or("");
    if status.is_success() && code == "OK" {
        return Ok(answer
            .get("BizId")
            .and_then(|b| b.as_str())
            .map_or_else(|| msg.id.to_string(), str::to_owned));
    }
    let why = format!("Aliyun answered {status} {code} {message}");
    if REFUSED_CODES.contains(&code) || (!retryable(status) && status.is_client_error() && code.is_empty()) {
        Err(SendError::Refused(why))
    } else {
        Err(SendError::Transient(why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Aliyun's SMS signature documentation (HTTP 协议及签名).
    #[test]
    fn the_documented_sendsms_example_signs_the_same() {
        let params: Vec<(&str, String)> = vec![
            ("AccessKeyId", "testId".into()),
            ("Action", "SendSms".into()),
            ("Format", "XML".into()),
            ("OutId", "123".into()),
            ("PhoneNumbers", "15300000001".into()),
            ("RegionId", "cn-hangzhou".into()),
            ("SignName", "阿里云短信测试专用".into()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466".into()),
            ("SignatureVersion", "1.0".into()),
            ("TemplateCode", "SMS_71390007".into()),
            ("TemplateParam", "{\"customer\":\"test\"}".into()),
            ("Timestamp", "2017-07-12T02:42:19Z".into()),
            ("Version", "2017-05-25".into()),
        ];
        assert_eq!(
            signature("GET", &params, "testSecret"),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
    }

    /// The worked example of Aliyun's RPC signature documentation (DescribeRegions).
    #[test]
    fn the_documented_rpc_example_signs_the_same() {
        let params: Vec<(&str, String)> = vec![
            ("Timestamp", "2016-02-23T12:46:24Z".into()),
            ("Format", "XML".into()),
            ("AccessKeyId", "testid".into()),
            ("Action", "DescribeRegions".into()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf".into()),
            ("SignatureVersion", "1.0".into()),
            ("Version", "2014-05-26".into()),
        ];
        assert_eq!(
            signature("GET", &params, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn encoding_follows_rfc_3986() {
        assert_eq!(percent_encode("a b*~"), "a%20b%2A~");
        assert_eq!(percent_encode("派"), "%E6%B4%BE");
    }
}
