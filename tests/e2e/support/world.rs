//! Two supervision groups and two agencies with one user of each role, and builders for a
//! task in every state of the workflow, for the workflow, authorisation and audit tests.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::photos::{self, Exif};
use super::server::{Client, TestServer};

/// The people of one side: a group with its supervisor and inspector, and an agency.
pub struct Side {
    pub group: String,
    pub agency: String,
    pub supervisor: Client,
    pub inspector: Client,
    pub agency_user: Client,
}

/// Side `a` issues every fixture task to its own agency; side `b` is the "other organisation".
pub struct World {
    pub admin: Client,
    pub a: Side,
    pub b: Side,
    pub site_id: String,
}

/// A fixture task and the ids made along the way.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub task: String,
    pub phases: Vec<String>,
    pub plan_version: Option<i64>,
    pub document: Option<String>,
    pub report: Option<String>,
    pub photo: Option<String>,
    pub extension: Option<String>,
}

impl World {
    /// Creates the organisations, users and a site in Tangshan.
    pub async fn new(server: &TestServer) -> World {
        let admin = server.admin().await;
        let mut sides = Vec::new();
        for name in ["a", "b"] {
            let group = server.org(&admin, &format!("督查组 {name}"), "supervision").await;
            let agency = server.org(&admin, &format!("办理机构 {name}"), "agency").await;
            sides.push(Side {
                supervisor: server
                    .user_in(&admin, &format!("sup-{name}"), "supervisor", Some(&group))
                    .await,
                inspector: server
                    .user_in(&admin, &format!("insp-{name}"), "inspector", Some(&group))
                    .await,
                agency_user: server
                    .user_in(&admin, &format!("agency-{name}"), "agency", Some(&agency))
                    .await,
                group,
                agency,
            });
        }
        let b = sides.pop().unwrap();
        let a = sides.pop().unwrap();
        let site_id = crate::flow::site(&a.supervisor, 39.6305, 118.1804, "Asia/Shanghai").await;
        World { admin, a, b, site_id }
    }

    /// A task issued by side a's group to its agency, with `phases` phases set by the group
    /// (`in_progress`) or none (`issued`).
    pub async fn issue(&self, phases: usize) -> Fixture {
        let now = Utc::now();
        let phases: Vec<Value> = (1..=phases)
            .map(|i| json!({ "title": format!("第{i}阶段"), "due_at": now + Duration::days(10 * i as i64) }))
            .collect();
        let r = self
            .a
            .supervisor
            .post(
                "/api/v1/tasks",
                &json!({
                    "title": "煤场苫盖整改", "description": "露天煤堆未苫盖",
                    "site_id": self.site_id, "agency_id": self.a.agency,
                    "due_at": now + Duration::days(90), "phases": phases,
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let t = r.json();
        Fixture {
            task: t["id"].as_str().unwrap().to_owned(),
            phases: ids(&t["phases"]),
            ..Fixture::default()
        }
    }

    /// An issued task the agency acknowledged.
    pub async fn acknowledged(&self) -> Fixture {
        let f = self.issue(0).await;
        let r = self
            .a
            .agency_user
            .post(&format!("/api/v1/tasks/{}/acknowledge", f.task), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        f
    }

    /// An acknowledged task with a plan (two phases and a PDF) waiting for review.
    pub async fn plan_submitted(&self) -> Fixture {
        let mut f = self.acknowledged().await;
        let doc = self.document(&self.a.agency_user).await;
        let r = self
            .a
            .agency_user
            .post(&format!("/api/v1/tasks/{}/plans", f.task), &plan_body(&[&doc]))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        f.plan_version = r.json()["version"].as_i64();
        f.document = Some(doc);
        f
    }

    /// Uploads a small real PDF as `c` and returns its id.
    pub async fn document(&self, c: &Client) -> String {
        let r = c
            .send(
                c.request(reqwest::Method::POST, "/api/v1/documents?name=整改方案.pdf")
                    .header("content-type", "application/pdf")
                    .body(PDF.to_vec()),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// A task in progress with a pending report (with one photo) on its first phase.
    pub async fn reported(&self, phases: usize) -> Fixture {
        let mut f = self.issue(phases).await;
        let report = self.report(&f, 0).await;
        let photo = crate::flow::upload(
            &self.a.agency_user,
            &report,
            photos::jpeg(320, 240, &Exif::default()),
        )
        .await;
        f.report = Some(report);
        f.photo = Some(photo);
        f
    }

    /// Files a report on phase `index` as the agency and returns the record id.
    pub async fn report(&self, f: &Fixture, index: usize) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let r = self
            .a
            .agency_user
            .put(
                &format!("/mobile/v1/records/{id}"),
                &json!({
                    "task_id": f.task, "phase_id": f.phases[index], "kind": "rectification",
                    "note": "已苫盖", "device_time": Utc::now(),
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        id
    }

    /// A task in progress whose first phase has a pending extension request.
    pub async fn extension_requested(&self) -> Fixture {
        let mut f = self.issue(2).await;
        let r = self
            .a
            .agency_user
            .post(
                &format!("/api/v1/phases/{}/extensions", f.phases[0]),
                &json!({ "reason": "设备到货延迟", "proposed_due_at": Utc::now() + Duration::days(15) }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        f.extension = r.json()["id"].as_str().map(str::to_owned);
        f
    }

    /// A completed task: one phase, its report accepted.
    pub async fn completed(&self) -> Fixture {
        let f = self.reported(1).await;
        let r = self
            .a
            .supervisor
            .post(
                &format!("/api/v1/records/{}/review", f.report.as_deref().unwrap()),
                &json!({ "decision": "accept" }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        f
    }
}

/// A plan with two phases due in 10 and 20 days.
pub fn plan_body(documents: &[&str]) -> Value {
    let now = Utc::now();
    json!({
        "background": "露天煤场约两万吨未苫盖，计划分两阶段整改。",
        "phases": [
            { "title": "苫盖煤堆", "due_at": now + Duration::days(10) },
            { "title": "安装防尘网", "due_at": now + Duration::days(20) },
        ],
        "document_ids": documents,
    })
}

/// The ids of a JSON array of objects.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| a.iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// A minimal but well-formed one-page PDF.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";
