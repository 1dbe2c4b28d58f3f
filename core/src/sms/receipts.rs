//! Delivery receipts as each provider posts them, read into one shape. Aliyun (`SmsReport`)
//! and Tencent (status callbacks) send arrays of their own objects with Beijing local times;
//! the webhook gateway sends ours.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use crate::store::Receipt;

/// Most receipts one post may carry (the providers batch up to a few hundred).
pub const MAX_RECEIPTS: usize = 1000;

#[derive(Deserialize)]
struct WebhookReceipt {
    id: uuid::Uuid,
    provider_message_id: Option<String>,
    delivered: bool,
    at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct AliyunReceipt {
    out_id: Option<String>,
    biz_id: Option<String>,
    success: bool,
    report_time: Option<String>,
}

#[derive(Deserialize)]
struct TencentReceipt {
    sid: String,
    report_status: String,
    user_receive_time: Option<String>,
}

/// `2017-02-02 22:23:24` in Beijing time, as both cloud providers write it; `now` when the
/// provider sent none, an error when it sent something else.
fn beijing(text: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let Some(text) = text else { return Ok(now) };
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|naive| chrono_tz::Asia::Shanghai.from_local_datetime(&naive).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!(
                "`{}` is not a time like 2017-02-02 22:23:24",
                text.chars().take(40).collect::<String>()
            )
        })
}

/// Reads a receipt post of `provider`; why not, for a 422.
pub fn parse(provider: &str, body: &[u8], now: DateTime<Utc>) -> Result<Vec<Receipt>, String> {
    let items: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON array of receipts: {e}"))?;
    if items.len() > MAX_RECEIPTS {
        return Err(format!("at most {MAX_RECEIPTS} receipts per post"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let raw = item.to_string();
            let bad = |e: serde_json::Error| format!("receipt [{i}]: {e}");
            Ok(match provider {
                "webhook" | "log" => {
                    let r: WebhookReceipt = serde_json::from_value(item).map_err(bad)?;
                    Receipt {
                        message_id: Some(r.id),
                        provider_message_id: r.provider_message_id,
                        delivered: r.delivered,
                        at: r.at,
                        raw,
                    }
                }
                "aliyun" => {
                    let r: AliyunReceipt = serde_json::from_value(item).map_err(bad)?;
                    Receipt {
                        message_id: r.out_id.as_deref().and_then(|s| s.parse().ok()),
                        provider_message_id: r.biz_id,
                        delivered: r.success,
                        at: beijing(r.report_time.as_deref(), now)
                            .map_err(|e| format!("receipt [{i}]: {e}"))?,
                        raw,
                    }
                }
                "tencent" => {
                    let r: TencentReceipt = serde_json::from_value(item).map_err(bad)?;
                    Receipt {
                        message_id: None,
                        provider_message_id: Some(r.sid),
                        delivered: r.report_status == "SUCCESS",
                        at: beijing(r.user_receive_time.as_deref(), now)
                            .map_err(|e| format!("receipt [{i}]: {e}"))?,
                        raw,
                    }
                }
                other => return Err(format!("no provider `{other}`")),
            })
        })
        .map(|r: Result<Receipt, String>| {
            let r = r?;
            if r.at > now + Duration::hours(1) {
                return Err(format!("a receipt dated {} is in the future", r.at.to_rfc3339()));
            }
            Ok(r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_receipts_read_into_one_shape() {
        let now = Utc::now();
        let aliyun = r#"[{"phone_number":"13800138000","send_time":"2017-01-01 11:12:13","report_time":"2017-02-02 22:23:24","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"12345","out_id":"0190f4c6-1111-7000-8000-000000000001"}]"#;
        let r = parse("aliyun", aliyun.as_bytes(), now).unwrap();
        assert!(r[0].delivered);
        assert_eq!(r[0].at.to_rfc3339(), "2017-02-02T14:23:24+00:00");
        assert!(r[0].message_id.is_some());
        let tencent = r#"[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13800138000","report_status":"FAIL","errmsg":"MN:0017","description":"手机号码不存在","sid":"2019:-1234"}]"#;
        let r = parse("tencent", tencent.as_bytes(), now).unwrap();
        assert!(!r[0].delivered);
        assert_eq!(r[0].provider_message_id.as_deref(), Some("2019:-1234"));
        assert!(parse("tencent", b"{}", now).is_err());
        assert!(parse("aliyun", br#"[{"success":"yes"}]"#, now).is_err());
        assert!(parse("smoke", b"[{}]", now).is_err());
        assert!(
            parse(
                "tencent",
                br#"[{"sid":"x","report_status":"SUCCESS","user_receive_time":"garbage"}]"#,
                now
            )
            .is_err()
        );
        assert!(parse("webhook", br#"[{"id":"0190f4c6-1111-7000-8000-000000000001","delivered":true,"at":"9999-12-31T23:59:59Z"}]"#, now).is_err());
    }
}
