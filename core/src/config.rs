//! Settings: defaults that serve the embedded mode, then an optional TOML file, then
//! `FIELDPROOF_*` environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::light::LightRule;
use crate::domain::reminder::{QuietHours, Schedule};

/// The file format thumbnails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThumbFormat {
    /// Baseline JPEG, readable everywhere.
    #[default]
    Jpeg,
    /// Lossy WebP, about a third smaller at the same quality.
    Webp,
}

impl ThumbFormat {
    /// MIME type stored and served with the thumbnail.
    pub fn mime(self) -> &'static str {
        match self {
            ThumbFormat::Jpeg => "image/jpeg",
            ThumbFormat::Webp => "image/webp",
        }
    }

    /// File extension of the object key and of the command line's output.
    pub fn extension(self) -> &'static str {
        match self {
            ThumbFormat::Jpeg => "jpg",
            ThumbFormat::Webp => "webp",
        }
    }

    /// The format a thumbnail key was written in, from its extension.
    pub fn of_key(key: &str) -> Self {
        if key.ends_with(".webp") {
            ThumbFormat::Webp
        } else {
            ThumbFormat::Jpeg
        }
    }
}

/// A value that must never show up in logs or `print-config`.
#[derive(Clone, Default, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    /// Environment variables are typed by their look, so an all-digit password arrives as a
    /// number; a secret takes any scalar as its text.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = String;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_u64<E>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_i64<E>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_bool<E>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        d.deserialize_any(Text).map(Secret)
    }
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Settings that are text whatever they look like. Environment values are typed by their
/// look (`0123` would become the number 123, a Tencent app id a number where text is
/// expected), so these are taken from the environment exactly as written.
const TEXT_SETTINGS: &[&str] = &[
    "admin_password",
    "database_url",
    "storage_url",
    "s3_access_key_id",
    "s3_secret_access_key",
    "sms_sign_name",
    "sms_access_key_id",
    "sms_access_key_secret",
    "sms_app_id",
    "sms_template_due_soon",
    "sms_template_overdue",
    "sms_template_escalation",
    "sms_template_urge",
    "sms_webhook_url",
    "sms_webhook_secret",
    "sms_callback_secret",
];

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file or an environment variable did not parse.
    #[error("invalid configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    /// A value parsed but makes no sense.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Every setting of the server and worker; see the README for each one.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded mode keeps its SQLite file and objects.
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`; defaults to a SQLite file in the data directory.
    pub database_url: Option<Secret>,
    /// `file:///path` or `s3://bucket[/prefix]`; defaults to `objects/` in the data directory.
    pub storage_url: Option<String>,
    /// Endpoint of an S3-compatible service (MinIO, Ceph RGW, …); AWS when unset.
    pub s3_endpoint: Option<String>,
    /// Region sent to S3.
    pub s3_region: String,
    /// Path-style addressing (`endpoint/bucket/key`), which most self-hosted services need.
    pub s3_path_style: bool,
    /// Access key for S3; the usual AWS credential chain (`AWS_ACCESS_KEY_ID`, …) when unset.
    pub s3_access_key_id: Option<Secret>,
    /// Secret key for S3, with `s3_access_key_id`.
    pub s3_secret_access_key: Option<Secret>,
    /// Password for the `admin` user created on first start; generated and printed when unset.
    pub admin_password: Option<Secret>,
    /// Largest photo accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
    /// Largest image accepted, in decoded pixels (width × height).
    pub max_pixels: u64,
    /// Most memory one photo's decoder may allocate, in bytes; a file that needs more (a
    /// 16-bit bomb under the pixel limit, say) fails with its reason instead.
    pub max_decode_bytes: u64,
    /// How long an upload may send nothing before it is cut off, in seconds.
    pub upload_idle_secs: u64,
    /// How long an unfinished resumable upload is kept after its last append, in seconds.
    pub upload_expiry_secs: u64,
    /// How long a client may take to send its request headers, in seconds (slowloris).
    pub header_read_timeout_secs: u64,
    /// Photos processed at once by one worker process, at most.
    pub worker_concurrency: usize,
    /// Memory the photos in flight in one worker process may need together, in MiB: each
    /// photo reserves its estimated decode memory before decoding, so three 108-megapixel
    /// photos wait for each other where twenty 12-megapixel ones would not.
    pub worker_memory_budget_mb: u64,
    /// File format of the thumbnails: `jpeg` or `webp`.
    pub thumbnail_format: ThumbFormat,
    /// Largest Hamming distance between two perceptual hashes (of 64 bits) that makes two
    /// photos `similar_photo`; 0 turns the check off.
    pub similar_photo_max_distance: u32,
    /// How far the GPS clock and the camera clock may disagree, in seconds.
    pub gps_time_tolerance_secs: i64,
    /// How long a claimed photo stays leased to one worker without a heartbeat, in seconds.
    pub worker_lease_secs: u64,
    /// Attempts before a photo is marked failed.
    pub worker_max_attempts: i32,
    /// First retry delay in seconds; doubles on each attempt.
    pub worker_backoff_secs: u64,
    /// How often an idle worker looks for work, in milliseconds.
    pub worker_poll_ms: u64,
    /// Time zone for sites that do not name one.
    pub timezone: String,
    /// How far a photo's capture time may lie after its upload before it is `time_in_future`.
    pub clock_skew_secs: i64,
    /// How far around the inspection day a capture time may lie, in minutes.
    pub inspection_window_tolerance_mins: i64,
    /// How long a bearer token lives, in hours.
    pub token_ttl_hours: i64,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// How often committed audit events are sealed into the hash chain, in milliseconds.
    pub audit_seal_ms: u64,
    /// How often the chain head is checkpointed to object storage, in seconds (when it moved).
    pub audit_checkpoint_secs: u64,
    /// Take the client address from the first `X-Forwarded-For` hop (behind a trusted ingress
    /// that sets it); otherwise the peer address is used.
    pub trust_forwarded_for: bool,
    /// A due date this many site-local days ahead or fewer shows yellow.
    pub light_yellow_days: u32,
    /// Warn this many days before a phase's due date.
    pub reminder_warn_days: Vec<u32>,
    /// While a phase is overdue, remind again every this many days (0: once).
    pub reminder_repeat_days: u32,
    /// After this many days overdue, remind the supervision group's leaders too (0: never).
    pub reminder_escalate_after_days: u32,
    /// `HH:MM-HH:MM` of the site's night in which no SMS is sent; empty for none.
    pub reminder_quiet_hours: String,
    /// Most SMS sent to one organisation's people per site-local day; later ones wait.
    pub reminder_daily_cap: u32,
    /// A task may be urged by SMS once per window of this many seconds; more is 429.
    pub urge_window_secs: u64,
    /// How often each replica looks for reminders to create and send, in seconds.
    pub reminder_scan_secs: u64,
    /// Where SMS go: `log`, `webhook`, `aliyun` or `tencent`.
    pub sms_provider: SmsProviderKind,
    /// The provider's address; each provider's public endpoint when unset.
    pub sms_endpoint: Option<String>,
    /// The approved SMS signature (签名), without brackets.
    pub sms_sign_name: String,
    /// Aliyun AccessKey ID or Tencent SecretId.
    pub sms_access_key_id: Option<Secret>,
    /// Aliyun AccessKey secret or Tencent SecretKey.
    pub sms_access_key_secret: Option<Secret>,
    /// Region sent to the provider (`cn-hangzhou`, `ap-guangzhou`, …).
    pub sms_region: String,
    /// Tencent's SmsSdkAppId.
    pub sms_app_id: Option<String>,
    /// Approved template code or id of the due-soon warning.
    pub sms_template_due_soon: String,
    /// Approved template code or id of the overdue notice.
    pub sms_template_overdue: String,
    /// Approved template code or id of the escalation to leaders.
    pub sms_template_escalation: String,
    /// Approved template code or id of a manual urge.
    pub sms_template_urge: String,
    /// URL the `webhook` provider posts to (a secret: it may carry credentials).
    pub sms_webhook_url: Option<Secret>,
    /// Key the `webhook` provider signs its posts with (HMAC-SHA256).
    pub sms_webhook_secret: Option<Secret>,
    /// Key delivery receipts must be signed with (HMAC-SHA256); receipts are refused unset.
    pub sms_callback_secret: Option<Secret>,
    /// Attempts before an SMS the provider keeps failing is marked failed.
    pub sms_max_attempts: i32,
    /// First retry delay after a provider error, in seconds; doubles each attempt.
    pub sms_backoff_secs: u64,
    /// How long one request to the provider may take, in seconds.
    pub sms_timeout_secs: u64,
}

/// Which SMS provider sends reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProviderKind {
    /// Written to the log and kept in the outbox (the embedded default).
    #[default]
    Log,
    /// An HTTP POST of signed JSON to `sms_webhook_url`.
    Webhook,
    /// Aliyun SMS (dysmsapi `SendSms`).
    Aliyun,
    /// Tencent Cloud SMS (`SendSms`, API 2021-01-11).
    Tencent,
}

impl SmsProviderKind {
    /// The name used in receipts' URLs and stored with each message.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsProviderKind::Log => "log",
            SmsProviderKind::Webhook => "webhook",
            SmsProviderKind::Aliyun => "aliyun",
            SmsProviderKind::Tencent => "tencent",
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            storage_url: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_path_style: true,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            admin_password: None,
            max_upload_bytes: 50 * 1024 * 1024,
            max_json_bytes: 1024 * 1024,
            max_pixels: 120_000_000,
            max_decode_bytes: 512 * 1024 * 1024,
            upload_idle_secs: 60,
            upload_expiry_secs: 24 * 3600,
            header_read_timeout_secs: 30,
            worker_concurrency: 2,
            worker_memory_budget_mb: 1024,
            thumbnail_format: ThumbFormat::Jpeg,
            similar_photo_max_distance: 6,
            gps_time_tolerance_secs: 600,
            worker_lease_secs: 60,
            worker_max_attempts: 5,
            worker_backoff_secs: 5,
            worker_poll_ms: 1000,
            timezone: "Asia/Shanghai".into(),
            clock_skew_secs: 300,
            inspection_window_tolerance_mins: 120,
            token_ttl_hours: 24 * 7,
            log_format: "text".into(),
            audit_seal_ms: 500,
            audit_checkpoint_secs: 10,
            trust_forwarded_for: false,
            light_yellow_days: 3,
            reminder_warn_days: vec![3, 1],
            reminder_repeat_days: 2,
            reminder_escalate_after_days: 7,
            reminder_quiet_hours: "22:00-07:00".into(),
            reminder_daily_cap: 200,
            urge_window_secs: 600,
            reminder_scan_secs: 60,
            sms_provider: SmsProviderKind::Log,
            sms_endpoint: None,
            sms_sign_name: "督查督办".into(),
            sms_access_key_id: None,
            sms_access_key_secret: None,
            sms_region: "cn-hangzhou".into(),
            sms_app_id: None,
            sms_template_due_soon: "due_soon".into(),
            sms_template_overdue: "overdue".into(),
            sms_template_escalation: "escalation".into(),
            sms_template_urge: "urge".into(),
            sms_webhook_url: None,
            sms_webhook_secret: None,
            sms_callback_secret: None,
            sms_max_attempts: 8,
            sms_backoff_secs: 30,
            sms_timeout_secs: 10,
        }
    }
}

impl Settings {
    /// Loads defaults, then `file` (if given), then the `FIELDPROOF_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("FIELDPROOF_").ignore(&["config"]));
        for key in TEXT_SETTINGS {
            if let Ok(value) = std::env::var(format!("FIELDPROOF_{}", key.to_ascii_uppercase())) {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.default_timezone()?;
        if self.worker_concurrency == 0 {
            return Err(ConfigError::Invalid(
                "worker_concurrency must be at least 1".into(),
            ));
        }
        if self.worker_memory_budget_mb == 0 {
            return Err(ConfigError::Invalid(
                "worker_memory_budget_mb must be at least 1".into(),
            ));
        }
        if self.similar_photo_max_distance > 16 {
            return Err(ConfigError::Invalid(
                "similar_photo_max_distance must be at most 16 (of 64 bits)".into(),
            ));
        }
        if self.worker_max_attempts < 1 {
            return Err(ConfigError::Invalid(
                "worker_max_attempts must be at least 1".into(),
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid("log_format must be `text` or `json`".into()));
        }
        self.quiet_hours()?;
        self.check_sms()
    }

    fn check_sms(&self) -> Result<(), ConfigError> {
        let missing = |what: &str| {
            ConfigError::Invalid(format!(
                "sms_provider `{}` needs {what}",
                self.sms_provider.as_str()
            ))
        };
        let set = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.expose().trim().is_empty());
        match self.sms_provider {
            SmsProviderKind::Log => {}
            SmsProviderKind::Webhook => {
                if !set(&self.sms_webhook_url) || !set(&self.sms_webhook_secret) {
                    return Err(missing("sms_webhook_url and sms_webhook_secret"));
                }
            }
            SmsProviderKind::Aliyun | SmsProviderKind::Tencent => {
                if !set(&self.sms_access_key_id) || !set(&self.sms_access_key_secret) {
                    return Err(missing("sms_access_key_id and sms_access_key_secret"));
                }
                if self.sms_provider == SmsProviderKind::Tencent
                    && self.sms_app_id.as_deref().is_none_or(|a| a.trim().is_empty())
                {
                    return Err(missing("sms_app_id"));
                }
                if self.sms_sign_name.trim().is_empty() {
                    return Err(missing("sms_sign_name"));
                }
            }
        }
        if self.sms_callback_secret.is_some() && !set(&self.sms_callback_secret) {
            return Err(ConfigError::Invalid(
                "sms_callback_secret must not be empty (leave it unset to refuse receipts)".into(),
            ));
        }
        let webhook = self.sms_webhook_url.as_ref().map(|u| u.expose().to_owned());
        for (name, url) in [
            ("sms_endpoint", &self.sms_endpoint),
            ("sms_webhook_url", &webhook),
        ] {
            if let Some(url) = url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be an http:// or https:// URL"
                )));
            }
        }
        if self.urge_window_secs == 0 {
            return Err(ConfigError::Invalid("urge_window_secs must be at least 1".into()));
        }
        if self.sms_max_attempts < 1 {
            return Err(ConfigError::Invalid("sms_max_attempts must be at least 1".into()));
        }
        Ok(())
    }

    /// The quiet hours, `None` when the setting is empty.
    pub fn quiet_hours(&self) -> Result<Option<QuietHours>, ConfigError> {
        if self.reminder_quiet_hours.trim().is_empty() {
            return Ok(None);
        }
        QuietHours::parse(&self.reminder_quiet_hours)
            .map(Some)
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "reminder_quiet_hours `{}` is not `HH:MM-HH:MM` with different start and end",
                    self.reminder_quiet_hours
                ))
            })
    }

    /// The reminder schedule.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            warn_days: self.reminder_warn_days.clone(),
            repeat_days: self.reminder_repeat_days,
            escalate_after_days: self.reminder_escalate_after_days,
        }
    }

    /// The traffic-light rule as of `now`.
    pub fn light_rule(&self, now: chrono::DateTime<chrono::Utc>) -> LightRule {
        LightRule {
            now,
            yellow_days: self.light_yellow_days,
        }
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("fieldproof.db").display()),
        }
    }

    /// The object storage URL, defaulting to `objects/` in the data directory.
    pub fn storage_url(&self) -> String {
        match &self.storage_url {
            Some(url) => url.clone(),
            None => format!("file://{}", self.data_dir.join("objects").display()),
        }
    }

    /// The time zone of sites that name none.
    pub fn default_timezone(&self) -> Result<Tz, ConfigError> {
        self.timezone
            .parse()
            .map_err(|_| ConfigError::Invalid(format!("unknown time zone `{}`", self.timezone)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Settings {
            admin_password: Some(Secret::new("hunter2")),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn reminder_and_sms_settings_are_checked() {
        let bad = |s: Settings| s.validate().unwrap_err().to_string();
        let quiet = Settings {
            reminder_quiet_hours: "25:00-07:00".into(),
            ..Settings::default()
        };
        assert!(bad(quiet).contains("reminder_quiet_hours"));
        let aliyun = Settings {
            sms_provider: SmsProviderKind::Aliyun,
            ..Settings::default()
        };
        assert!(bad(aliyun).contains("sms_access_key_id"));
        let tencent = Settings {
            sms_provider: SmsProviderKind::Tencent,
            sms_access_key_id: Some(Secret::new("id")),
            sms_access_key_secret: Some(Secret::new("key")),
            ..Settings::default()
        };
        assert!(bad(tencent).contains("sms_app_id"));
        let webhook = Settings {
            sms_provider: SmsProviderKind::Webhook,
            sms_webhook_url: Some(Secret::new("file:///etc/passwd")),
            sms_webhook_secret: Some(Secret::new("k")),
            ..Settings::default()
        };
        assert!(bad(webhook).contains("http"));
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn all_digit_secrets_load_as_text() {
        let s: Secret = serde_json::from_str("12345678").unwrap();
        assert_eq!(s.expose(), "12345678");
    }

    #[test]
    fn defaults_serve_the_embedded_mode() {
        let s = Settings::default();
        assert!(s.database_url().starts_with("sqlite://"));
        assert!(s.storage_url().starts_with("file://"));
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    }
}
