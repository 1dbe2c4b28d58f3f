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
    ("all", "全部", "All"),
    ("allowed", "允许", "allowed"),
    ("approve", "批准", "Approve"),
    ("approved", "已批准", "approved"),
    ("at", "时间", "Time"),
    ("audit", "操作记录", "Audit history"),
    ("average_days", "平均整改天数", "Average days to rectify"),
    ("before", "整改前（检查）", "Before (inspection)"),
    ("before_after", "整改前后对比", "Before and after"),
    ("by_agency", "按机构", "By agency"),
    ("by_month", "按月份", "By month"),
    ("by_region", "按区域", "By region"),
    ("cancel", "撤销任务", "Cancel task"),
    ("cancelled", "已撤销", "cancelled"),
    ("capture_time", "拍摄时间", "Taken at"),
    ("circulars", "通报", "Circulars"),
    ("close", "办结", "Close task"),
    ("closed", "已办结", "closed"),
    ("comment", "意见", "Comment"),
    ("completed", "已完成", "completed"),
    ("confirm_cancel", "确定撤销该任务？", "Cancel this task?"),
    ("content", "内容", "Content"),
    ("created", "创建时间", "Created"),
    ("days", "天", "days"),
    ("decided", "已处理", "decided"),
    ("delivered", "已送达", "delivered"),
    ("description", "说明", "Description"),
    ("details", "详情", "Details"),
    ("device", "设备", "Device"),
    ("distance", "距离", "Distance"),
    ("done", "完成", "done"),
    ("download", "下载", "Download"),
    ("due", "截止", "Due"),
    ("due_soon", "即将到期", "due soon"),
    ("edge", "边缘", "edge"),
    ("ended", "已结束", "Ended"),
    ("error", "出错了", "Something went wrong"),
    ("escalation", "升级提醒", "escalation"),
    ("evidence", "证据照片", "Evidence"),
    ("exif", "EXIF 摘要", "EXIF summary"),
    ("exif_camera", "相机", "Camera"),
    ("exif_captured", "拍摄时间", "Taken at"),
    ("exif_gps", "GPS 位置", "GPS position"),
    ("exif_gps_time", "GPS 时间", "GPS time"),
    ("exif_local", "相机时间", "Camera time"),
    ("exif_offset", "时区偏移", "UTC offset"),
    ("exif_software", "软件", "Software"),
    ("export_stats", "导出统计", "Export statistics as"),
    ("export_tasks", "导出全部任务", "Export all tasks as"),
    ("exports", "导出", "Exports"),
    ("extensions", "延期申请", "Extension requests"),
    ("failed", "失败", "failed"),
    ("file", "文件", "File"),
    ("filter", "筛选", "Filter"),
    ("first_page", "第一页", "First page"),
    ("format", "格式", "Format"),
    ("geofence", "围栏", "geofence"),
    ("grant", "同意延期", "Grant"),
    ("granted", "已同意", "granted"),
    ("green", "正常", "on track"),
    ("history", "记录", "History"),
    ("in_progress", "整改中", "in progress"),
    ("inspection", "检查", "inspection"),
    ("inspector", "检查人员", "inspector"),
    ("issued", "已下发", "issued"),
    ("kind", "类型", "Kind"),
    ("language", "English", "中文"),
    ("light", "状态灯", "Light"),
    ("location_plot", "拍摄位置图", "Where the photos were taken"),
    ("log_in", "登录", "Sign in"),
    ("log_out", "退出", "Sign out"),
    ("message", "内容", "Message"),
    ("month", "月份", "Month"),
    ("my_exports", "我的导出", "My exports"),
    ("new_due", "新的截止日期", "New due date"),
    ("newer", "上一页", "Previous"),
    ("next", "下一页", "Next page"),
    ("next_due", "下次截止", "Next due"),
    ("no_photos", "没有照片", "No photos"),
    ("no_reasons", "时间和地点均核验通过", "Time and place check out"),
    ("no_tasks", "没有符合条件的任务", "No tasks match"),
    ("none", "无", "none"),
    ("note", "记录内容", "Note"),
    ("on_time_rate", "按期率", "On-time rate"),
    ("open", "待汇报", "open"),
    ("open_tasks", "未办结", "Open"),
    ("optional_task", "关联任务编号（可选）", "Task id (optional)"),
    ("original", "查看原图（将记录）", "Open the original (audited)"),
    ("other_use", "查看另一处使用", "see the other use"),
    ("overdue", "超期", "overdue"),
    ("overdue_days", "超期天数", "Days overdue"),
    ("overdue_phases", "超期阶段", "Overdue phases"),
    ("password", "密码", "Password"),
    ("pending", "待审批", "pending"),
    ("phase", "阶段", "Phase"),
    ("phases", "整改阶段", "Phases"),
    ("photo", "照片", "Photo"),
    ("plan_submitted", "计划待审", "plan submitted"),
    ("plans", "整改计划", "Plans"),
    ("processing", "处理中", "processing"),
    ("publish", "发布", "Publish"),
    ("publish_circular", "发布通报", "Publish a circular"),
    ("queued", "排队中", "queued"),
    ("reason", "理由", "Reason"),
    ("reasons", "核验说明", "Verification"),
    ("received", "已接收", "received"),
    ("recipient", "接收人", "Recipient"),
    ("recipients", "发送对象", "Recipients"),
    ("rectification", "整改汇报", "report"),
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
    ("review", "审核", "Review"),
    ("rows", "行数", "Rows"),
    ("running", "生成中", "running"),
    ("search", "搜索标题或说明", "Search title or description"),
    ("sending", "发送中", "sending"),
    ("sent", "已发送", "sent"),
    ("site", "点位", "Site"),
    ("sort", "排序", "Sort"),
    ("sort_created", "最早创建", "Oldest first"),
    ("sort_created_desc", "最新创建", "Newest first"),
    ("sort_next_due", "最近截止", "Next due first"),
    ("starts", "开始", "starts"),
    ("statistics", "统计", "Statistics"),
    ("status", "状态", "Status"),
    ("submitted", "已汇报", "submitted"),
    ("superseded", "已替代", "superseded"),
    ("supervision", "督查组", "supervision group"),
    ("supervisor", "督查人员", "supervisor"),
    ("suspicious", "存疑", "suspicious"),
    ("suspicious_rate", "存疑照片率", "Suspicious-evidence rate"),
    ("task", "任务", "Task"),
    ("tasks", "督办任务", "Tasks"),
    ("title", "标题", "Title"),
    ("total", "合计", "Total"),
    ("unverifiable", "无法核验", "unverifiable"),
    ("urge", "催办", "Urge"),
    ("urges", "催办记录", "Urges"),
    ("user", "用户", "User"),
    ("username", "用户名", "Username"),
    ("verified", "已核验", "verified"),
    ("version", "版本", "Version"),
    ("who", "操作人", "By"),
    ("whole_task", "整个任务", "Whole task"),
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
