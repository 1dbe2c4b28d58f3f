//! The console's two languages: Simplified Chinese by default, English on request. Words are
//! looked up by a stable key; a key without a translation shows itself, so a gap is visible
//! rather than blank.

use axum::http::HeaderMap;

/// The language a page is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese, the default.
    Zh,
    /// English.
    En,
}

/// The cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "fp_lang";

impl Lang {
    /// The language chosen by the `fp_lang` cookie, Chinese without one.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        match super::session::cookie(headers, LANG_COOKIE).as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The word for `key` in this language, or the key itself when it has none.
    pub fn w(self, key: &str) -> &str {
        match WORDS.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
            Ok(i) => match self {
                Lang::Zh => WORDS[i].1,
                Lang::En => WORDS[i].2,
            },
            Err(_) => key,
        }
    }
}

/// `(key, Chinese, English)`, sorted by key (a unit test keeps it so).
const WORDS: &[(&str, &str, &str)] = &[
    ("accept", "通过", "Accept"),
    ("accepted", "已通过", "accepted"),
    ("acknowledged", "已签收", "acknowledged"),
    ("action", "操作", "Action"),
    ("actions", "办理", "Actions"),
    ("admin", "管理员", "admin"),
    ("after", "整改后（汇报）", "After (report)"),
    ("agency", "办理机构", "Agency"),
    ("agency_staff", "办理人员", "agency staff"),
    ("all", "全部", "All"),
    ("allowed", "允许", "allowed"),
    ("approve", "批准", "Approve"),
    ("approved", "已批准", "approved"),
    ("at", "时间", "Time"),
    ("audit", "操作记录", "Audit history"),
    ("before", "整改前（检查）", "Before (inspection)"),
    ("before_after", "整改前后对比", "Before and after"),
    ("cancel", "撤销任务", "Cancel task"),
    ("cancelled", "已撤销", "cancelled"),
    ("capture_time", "拍摄时间", "Taken at"),
    ("circulars", "通报", "Circulars"),
    ("close", "办结", "Close task"),
    ("closed", "已办结", "closed"),
    ("comment", "意见", "Comment"),
    ("completed", "已完成", "completed"),
    ("created", "创建时间", "Created"),
    ("decided", "已处理", "decided"),
    ("delivered", "已送达", "delivered"),
    ("description", "说明", "Description"),
    ("device", "设备", "Device"),
    ("distance", "距离", "Distance"),
    ("done", "完成", "done"),
    ("due", "截止", "Due"),
    ("due_soon", "即将到期", "due soon"),
    ("error", "出错了", "Something went wrong"),
    ("escalation", "升级提醒", "escalation"),
    ("evidence", "证据照片", "Evidence"),
    ("exif", "EXIF 摘要", "EXIF summary"),
    ("extensions", "延期申请", "Extension requests"),
    ("failed", "失败", "failed"),
    ("filter", "筛选", "Filter"),
    ("first_page", "第一页", "First page"),
    ("geofence", "围栏", "geofence"),
    ("grant", "同意延期", "Grant"),
    ("granted", "已同意", "granted"),
    ("green", "正常", "on track"),
    ("history", "记录", "History"),
    ("in_progress", "整改中", "in progress"),
    ("inspection", "检查", "inspection"),
    ("inspector", "检查人员", "inspector"),
    ("issued", "已下发", "issued"),
    ("language", "English", "中文"),
    ("light", "状态灯", "Light"),
    ("location_plot", "拍摄位置图", "Where the photos were taken"),
    ("log_in", "登录", "Sign in"),
    ("log_out", "退出", "Sign out"),
    ("message", "内容", "Message"),
    ("newer", "上一页", "Previous"),
    ("next", "下一页", "Next page"),
    ("next_due", "下次截止", "Next due"),
    ("no_photos", "没有照片", "No photos"),
    ("no_tasks", "没有符合条件的任务", "No tasks match"),
    ("none", "无", "none"),
    ("note", "记录内容", "Note"),
    ("open", "待汇报", "open"),
    ("original", "查看原图（将记录）", "Open the original (audited)"),
    ("overdue", "超期", "overdue"),
    ("overdue_days", "超期天数", "Days overdue"),
    ("password", "密码", "Password"),
    ("pending", "待审批", "pending"),
    ("phase", "阶段", "Phase"),
    ("phases", "整改阶段", "Phases"),
    ("photo", "照片", "Photo"),
    ("plan_submitted", "计划待审", "plan submitted"),
    ("plans", "整改计划", "Plans"),
    ("processing", "处理中", "processing"),
    ("queued", "排队中", "queued"),
    ("reason", "理由", "Reason"),
    ("reasons", "核验说明", "Verification"),
    ("received", "已接收", "received"),
    ("red", "超期", "overdue"),
    ("refuse", "不同意", "Refuse"),
    ("refused", "已拒绝", "refused"),
    ("region", "区域", "Region"),
    ("reject", "退回", "Reject"),
    ("rejected", "已退回", "rejected"),
    ("reminders", "短信提醒", "SMS reminders"),
    ("report", "整改汇报", "report"),
    ("reports", "汇报与检查记录", "Reports and inspections"),
    ("requested", "申请", "requested"),
    ("return", "退回整改", "Return for rework"),
    ("returned", "已退回", "returned"),
    ("search", "搜索标题或说明", "Search title or description"),
    ("sending", "发送中", "sending"),
    ("sent", "已发送", "sent"),
    ("site", "点位", "Site"),
    ("sort", "排序", "Sort"),
    ("sort_created", "最早创建", "Oldest first"),
    ("sort_created_desc", "最新创建", "Newest first"),
    ("sort_next_due", "最近截止", "Next due first"),
    ("statistics", "统计", "Statistics"),
    ("status", "状态", "Status"),
    ("submitted", "已汇报", "submitted"),
    ("superseded", "已替代", "superseded"),
    ("supervisor", "督查人员", "supervisor"),
    ("suspicious", "存疑", "suspicious"),
    ("task", "任务", "Task"),
    ("tasks", "督办任务", "Tasks"),
    ("title", "标题", "Title"),
    ("unverifiable", "无法核验", "unverifiable"),
    ("urge", "催办", "Urge"),
    ("urges", "催办记录", "Urges"),
    ("user", "用户", "User"),
    ("username", "用户名", "Username"),
    ("verified", "已核验", "verified"),
    ("version", "版本", "Version"),
    ("who", "操作人", "By"),
    ("yellow", "临期", "due soon"),
];

#[cfg(test)]
mod tests {
    use super::{Lang, WORDS};

    #[test]
    fn words_are_sorted_and_unique() {
        for pair in WORDS.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "{} must come before {}",
                pair[1].0,
                pair[0].0
            );
        }
    }

    #[test]
    fn chinese_is_the_default_and_gaps_show() {
        assert_eq!(Lang::Zh.w("tasks"), "督办任务");
        assert_eq!(Lang::En.w("tasks"), "Tasks");
        assert_eq!(Lang::En.w("no_such_key"), "no_such_key");
    }
}
