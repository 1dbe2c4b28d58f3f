//! A photo's verification reasons in plain words, in the page's language and the site's time
//! zone, with a link to the other use of a reused photo when the reader may see it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fieldproof_core::domain::evidence::Reason;

use super::format::in_zone;
use super::i18n::Lang;

/// One reason as a reviewer reads it.
#[derive(Clone)]
pub struct ReasonWords {
    /// The sentence.
    pub text: String,
    /// Whether it contradicts the claim (shown in red).
    pub suspicious: bool,
    /// The other photo, for reuse, when the reader may open it.
    pub link: Option<String>,
}

fn metres(m: f64) -> String {
    if m >= 1000.0 {
        format!("{:.1} km", m / 1000.0)
    } else {
        format!("{m:.0} m")
    }
}

fn duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    if s >= 86_400 {
        format!("{:.1} d", s as f64 / 86_400.0)
    } else if s >= 3600 {
        format!("{:.1} h", s as f64 / 3600.0)
    } else if s >= 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The sentence for `reason`.
pub fn reason_words(reason: &Reason, lang: Lang, tz: Tz) -> ReasonWords {
    let t = |at: &DateTime<Utc>| in_zone(*at, tz);
    let zh = lang == Lang::Zh;
    let mut link = None;
    let text = match reason {
        Reason::NoExif => pick(
            zh,
            "照片没有 EXIF 信息（可能被转存或截图）",
            "The photo carries no EXIF (it may have been re-saved or screenshotted)",
        ),
        Reason::ExifInvalid { detail } => pick(
            zh,
            &format!("EXIF 无法解析：{detail}"),
            &format!("The EXIF could not be read: {detail}"),
        ),
        Reason::NoCaptureTime => pick(zh, "没有拍摄时间", "No capture time"),
        Reason::TimeInvalid { value } => pick(
            zh,
            &format!("拍摄时间无效：{value}"),
            &format!("The capture time is not a real time: {value}"),
        ),
        Reason::NoGps => pick(zh, "照片没有 GPS 位置", "The photo has no GPS position"),
        Reason::GpsInvalid { detail } => pick(
            zh,
            &format!("GPS 数据无效：{detail}"),
            &format!("The GPS data is not a position: {detail}"),
        ),
        Reason::OutsideSite {
            distance_m,
            allowed_m,
        } => pick(
            zh,
            &format!(
                "拍摄地点距点位 {}，超出允许的 {}",
                metres(*distance_m),
                metres(*allowed_m)
            ),
            &format!(
                "Taken {} from the site; {} allowed",
                metres(*distance_m),
                metres(*allowed_m)
            ),
        ),
        Reason::TimeOutsideWindow {
            captured_at,
            window_start,
            window_end,
        } => pick(
            zh,
            &format!(
                "拍摄于 {}，不在 {} 至 {} 的期限内",
                t(captured_at),
                t(window_start),
                t(window_end)
            ),
            &format!(
                "Taken {}, outside the window {} to {}",
                t(captured_at),
                t(window_start),
                t(window_end)
            ),
        ),
        Reason::TimeInFuture {
            captured_at,
            received_at,
        } => pick(
            zh,
            &format!("拍摄时间 {} 晚于上传时间 {}", t(captured_at), t(received_at)),
            &format!(
                "Taken {}, after it was uploaded at {}",
                t(captured_at),
                t(received_at)
            ),
        ),
        Reason::TimeBeforeTask {
            captured_at,
            task_created_at,
        } => pick(
            zh,
            &format!(
                "拍摄于 {}，早于任务下发 {}（可能是旧照片）",
                t(captured_at),
                t(task_created_at)
            ),
            &format!(
                "Taken {}, before the task was opened at {} (an old photo?)",
                t(captured_at),
                t(task_created_at)
            ),
        ),
        Reason::GpsTimeMismatch { difference_s } => pick(
            zh,
            &format!("GPS 时间与相机时间相差 {}", duration(*difference_s)),
            &format!(
                "The GPS clock and the camera clock differ by {}",
                duration(*difference_s)
            ),
        ),
        Reason::DeviceFixUsed {
            distance_m,
            allowed_m,
        } => pick(
            zh,
            &format!(
                "照片无 GPS，改用手机定位：距点位 {}（允许 {}），证明力较弱",
                metres(*distance_m),
                metres(*allowed_m)
            ),
            &format!(
                "No GPS in the photo; the phone's own fix was {} from the site ({} allowed), weaker evidence",
                metres(*distance_m),
                metres(*allowed_m)
            ),
        ),
        Reason::DeviceLocationMismatch { distance_m } => pick(
            zh,
            &format!("照片 GPS 与手机定位相距 {}", metres(*distance_m)),
            &format!(
                "The photo's GPS is {} from the phone's own fix",
                metres(*distance_m)
            ),
        ),
        Reason::EditedBySoftware { software } => pick(
            zh,
            &format!("照片经软件编辑：{software}"),
            &format!("Edited with {software}"),
        ),
        Reason::DeviceClockCorrected {
            offset_s,
            camera_time,
            corrected_time,
        } => pick(
            zh,
            &format!(
                "手机时钟偏差 {}，拍摄时间由 {} 校正为 {}",
                duration(*offset_s),
                t(camera_time),
                t(corrected_time)
            ),
            &format!(
                "The phone's clock was off by {}; the capture time {} was corrected to {}",
                duration(*offset_s),
                t(camera_time),
                t(corrected_time)
            ),
        ),
        Reason::DuplicatePhoto {
            photo_id, elsewhere, ..
        } => {
            link = photo_id.map(|p| format!("/photos/{p}"));
            if *elsewhere {
                pick(
                    zh,
                    "同一张照片已作为其他单位任务的证据",
                    "The same photo is already evidence in another organisation's task",
                )
            } else {
                pick(
                    zh,
                    "同一张照片已在别处作为证据",
                    "The same photo is already evidence elsewhere",
                )
            }
        }
        Reason::SimilarPhoto {
            photo_id,
            elsewhere,
            distance,
            ..
        } => {
            link = photo_id.map(|p| format!("/photos/{p}"));
            if *elsewhere {
                pick(
                    zh,
                    &format!("与其他单位任务中的照片高度相似（差异 {distance}/64）"),
                    &format!("Looks like a photo in another organisation's task ({distance}/64 bits differ)"),
                )
            } else {
                pick(
                    zh,
                    &format!("与另一张证据照片高度相似（差异 {distance}/64）"),
                    &format!("Looks like another evidence photo ({distance}/64 bits differ)"),
                )
            }
        }
    };
    ReasonWords {
        text,
        suspicious: reason.is_suspicious(),
        link,
    }
}

fn pick(zh: bool, chinese: &str, english: &str) -> String {
    if zh { chinese } else { english }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::{Lang, metres, reason_words};
    use fieldproof_core::domain::evidence::Reason;

    #[test]
    fn distances_read_naturally() {
        assert_eq!(metres(812.4), "812 m");
        assert_eq!(metres(1530.0), "1.5 km");
    }

    #[test]
    fn outside_site_names_both_distances() {
        let reason = Reason::OutsideSite {
            distance_m: 812.0,
            allowed_m: 300.0,
        };
        let zh = reason_words(&reason, Lang::Zh, chrono_tz::Asia::Shanghai);
        assert_eq!(zh.text, "拍摄地点距点位 812 m，超出允许的 300 m");
        assert!(zh.suspicious);
        let en = reason_words(&reason, Lang::En, chrono_tz::Asia::Shanghai);
        assert_eq!(en.text, "Taken 812 m from the site; 300 m allowed");
    }
}
