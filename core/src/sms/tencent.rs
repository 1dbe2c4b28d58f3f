//! Tencent Cloud SMS (`SendSms`, API 2021-01-11) with the TC3-HMAC-SHA256 signature: a
//! canonical request over the method, path, signed headers and the SHA-256 of the JSON body,
//! signed with a key derived from the secret, the UTC date and the service. Written here
//! because Tencent publishes no Rust SDK.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{Outgoing, SendError, retryable, template, transport_error};
use crate::config::Settings;

const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com/";
const HOST: &str = "sms.tencentcloudapi.com";
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Send statuses about the number itself: sending again cannot help.
const REFUSED_CODES: &[&str] = &[
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberInBlacklist",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
];

fn hmac(key: &[u8], msg: &str) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The `Authorization` header for a POST of `payload` to `host` at `timestamp`.
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    payload: &str,
    timestamp: i64,
) -> String {
    let date = DateTime::<Utc>::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let canonical = format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\ncontent-type;host\n{}",
        hex::encode(Sha256::digest(payload.as_bytes()))
    );
    let scope = format!("{date}/{service}/tc3_request");
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), &date);
    let k_service = hmac(&k_date, service);
    let k_signing = hmac(&k_service, "tc3_request");
    let signature = hex::encode(hmac(&k_signing, &to_sign));
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    )
}

/// Sends one message; the `SerialNo` on success.
pub async fn send(http: &reqwest::Client, s: &Settings, msg: &Outgoing<'_>) -> Result<String, SendError> {
    let (Some(id), Some(key), Some(app)) = (&s.sms_access_key_id, &s.sms_access_key_secret, &s.sms_app_id)
    else {
        return Err(SendError::Transient("Tencent keys are not configured".into()));
    };
    let payload = serde_json::json!({
        "PhoneNumberSet": [format!("+86{}", msg.mobile)],
        "SmsSdkAppId": app,
        "SignName": s.sms_sign_name,
        "TemplateId": template(s, msg.kind),
        "TemplateParamSet": msg.params.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "SessionContext": msg.id.to_string(),
    })
    .to_string();
    let timestamp = Utc::now().timestamp();
    let auth = authorization(id.expose(), key.expose(), "sms", HOST, &payload, timestamp);
    let endpoint = s.sms_endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
    let resp = http
        .post(endpoint)
        .header("authorization", auth)
        .header("content-type", CONTENT_TYPE)
        .header("host", HOST)
        .header("x-tc-action", "SendSms")
        .header("x-tc-version", "2021-01-11")
        .header("x-tc-timestamp", timestamp.to_string())
        .header("x-tc-region", s.sms_region.as_str())
        .body(payload)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    let status = resp.status();
    let answer: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    let response = &answer["Response"];
    if let Some(err) = response.get("Error") {
        let code = err["Code"].as_str().unwrap_or("");
        let why = format!(
            "Tencent answered {code} {}",
            err["Message"].as_str().unwrap_or("")
        );
        return Err(if REFUSED_CODES.contains(&code) {
            SendError::Refused(why)
        } else {
            SendError::Transient(why)
        });
    }
    let sent = &response["SendStatusSet"][0];
    match sent["Code"].as_str() {
        Some("Ok") if status.is_success() => Ok(sent["SerialNo"]
            .as_str()
            .map_or_else(|| msg.id.to_string(), str::to_owned)),
        Some(code) => {
            let why = format!(
                "Tencent answered {code} {}",
                sent["Message"].as_str().unwrap_or("")
            );
            if REFUSED_CODES.contains(&code) {
                Err(SendError::Refused(why))
            } else {
                Err(SendError::Transient(why))
            }
        }
        None if retryable(status) || status.is_success() => Err(SendError::Transient(format!(
            "Tencent answered {status} without a send status"
        ))),
        None => Err(SendError::Refused(format!("Tencent answered {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Tencent Cloud's API 3.0 signature documentation (CVM
    /// DescribeInstances, 2019-02-25).
    #[test]
    fn the_documented_example_signs_the_same() {
        let auth = authorization(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "cvm",
            "cvm.tencentcloudapi.com",
            r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#,
            1_551_113_065,
        );
        assert_eq!(
            auth,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }
}
