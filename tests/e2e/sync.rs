//! Offline sync: a first sync pages through everything the caller sees, later syncs return
//! only what changed (urges, review decisions, removals, phases falling due), a late commit is
//! never skipped, 304 while nothing changed, and forged cursors are refused.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use fieldproof_core::audit::{Actor, AuditEvent};
use fieldproof_core::ids::TaskId;
use serde_json::{Value, json};

use crate::support::server::{Client, Env, Resp, TestServer};
use crate::support::world::World;

async fn sync_raw(c: &Client, cursor: Option<&str>, limit: usize, etag: Option<&str>) -> Resp {
    let mut req = c.request(reqwest::Method::GET, "/mobile/v1/sync");
    let mut query = vec![("limit", limit.to_string())];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    req = req.query(&query);
    if let Some(etag) = etag {
        req = req.header("if-none-match", etag);
    }
    c.send(req).await
}

async fn sync(c: &Client, cursor: Option<&str>, limit: usize) -> Value {
    let r = sync_raw(c, cursor, limit, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Syncs until nothing more waits; returns every task sent and the last cursor.
async fn sync_all(c: &Client, cursor: Option<&str>, limit: usize) -> (Vec<Value>, Vec<Value>, String) {
    let (mut tasks, mut removed) = (Vec::new(), Vec::new());
    let mut cursor = cursor.map(str::to_owned);
    loop {
        let page = sync(c, cursor.as_deref(), limit).await;
        assert!(page["tasks"].as_array().unwrap().len() <= limit);
        let empty =
            page["tasks"].as_array().unwrap().is_empty() && page["removed"].as_array().unwrap().is_empty();
        assert!(
            !(empty && page["has_more"] == true),
            "an empty page that says more waits: {page}"
        );
        tasks.extend(page["tasks"].as_array().unwrap().iter().cloned());
        removed.extend(page["removed"].as_array().unwrap().iter().cloned());
        cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return (tasks, removed, cursor.unwrap());
        }
    }
}

fn ids(items: &[Value]) -> HashSet<String> {
    items
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Seals what is committed into the audit chain now, as the sealer loop does every 500 ms.
async fn seal(server: &TestServer) {
    fieldproof_core::service::audit::seal(&server.app).await.unwrap();
}

#[tokio::test]
async fn first_sync_pages_everything_then_only_what_changed() {
    let server = TestServer::start(Env::embedded().await).await;
    let world = World::new(&server).await;
    let mut fixtures = Vec::new();
    for _ in 0..5 {
        fixtures.push(world.issue(2).await);
    }
    seal(&server).await;
    let agency = &world.a.agency_user;

    // First sync: pages of two, each task once, whole.
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = sync(agency, cursor.as_deref(), 2).await;
        pages.push(page["tasks"].as_array().unwrap().len());
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        let first = &page["tasks"][0];
        assert_eq!(first["phases"].as_array().unwrap().len(), 2);
        assert_eq!(first["site"]["timezone"], "Asia/Shanghai");
        assert_eq!(first["status"], "in_progress");
        assert_eq!(first["overdue"], false);
    }
    assert_eq!(pages, vec![2, 2, 1]);
    let (all, _, _) = sync_all(agency, None, 500).await;
    let expected: HashSet<String> = fixtures.iter().map(|f| f.task.clone()).collect();
    assert_eq!(ids(&all), expected);
    let cursor = cursor.unwrap();

    // Nothing changed: an empty page, and 304 once the client holds it.
    let r = sync_raw(agency, Some(&cursor), 100, None).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["tasks"].as_array().unwrap().is_empty());
    let etag = r.header("etag").unwrap().to_owned();
    let r = sync_raw(agency, Some(&cursor), 100, Some(&etag)).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());

    // An urge, a review decision on the agency's report, a cancelled task.
    let (urged, reported, cancelled) = (&fixtures[0], &fixtures[1], &fixtures[2]);
    let r = world
        .a
        .supervisor
        .post(
            &format!("/api/v1/tasks/{}/urges", urged.task),
            &json!({ "message": "请尽快整改" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let report = world.report(reported, 0).await;
    let r = world
        .a
        .supervisor
        .post(
            &format!("/api/v1/records/{report}/review"),
            &json!({ "decision": "accept" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = world
        .a
        .supervisor
        .post(
            &format!("/api/v1/tasks/{}/cancel", cancelled.task),
            &json!({ "reason": "企业已关停" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Meanwhile the other side works on its own tasks; none of that reaches side a.
    let their_site = crate::flow::site(&world.b.supervisor, 38.04, 114.51, "Asia/Shanghai").await;
    for _ in 0..3 {
        let now = Utc::now();
        let r = world
            .b
            .supervisor
            .post(
                "/api/v1/tasks",
                &json!({ "title": "另一组的任务", "site_id": their_site, "agency_id": world.b.agency,
                         "due_at": now + Duration::days(30),
                         "phases": [{ "title": "整改", "due_at": now + Duration::days(10) }] }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    seal(&server).await;
    // Page by page, one task at a time: never an empty page that says more waits.
    let (one_by_one, gone, _) = sync_all(agency, Some(&cursor), 1).await;
    assert_eq!(
        ids(&one_by_one),
        HashSet::from([urged.task.clone(), reported.task.clone()])
    );
    assert_eq!(gone.len(), 1);

    let r = sync_raw(agency, Some(&cursor), 100, Some(&etag)).await;
    assert_eq!(r.status, 200, "a stale ETag must not hide changes");
    let page = r.json();
    let changed = page["tasks"].as_array().unwrap();
    assert_eq!(
        ids(changed),
        HashSet::from([urged.task.clone(), reported.task.clone()])
    );
    let urged_now = changed.iter().find(|t| t["id"] == urged.task.as_str()).unwrap();
    assert_eq!(urged_now["urges"][0]["message"], "请尽快整改");
    let reported_now = changed
        .iter()
        .find(|t| t["id"] == reported.task.as_str())
        .unwrap();
    assert_eq!(reported_now["my_records"][0]["id"], report.as_str());
    assert_eq!(reported_now["my_records"][0]["review"]["status"], "accepted");
    assert_eq!(reported_now["phases"][0]["status"], "accepted");
    assert_eq!(page["removed"], json!([{ "kind": "task", "id": cancelled.task }]));

    // The other side's agency sees its own three tasks and never side a's, in full or in
    // changes.
    let (theirs, removed, _) = sync_all(&world.b.agency_user, None, 100).await;
    assert_eq!(theirs.len(), 3);
    assert!(ids(&theirs).is_disjoint(&ids(&all)) && removed.is_empty());
    let (theirs, removed, _) = sync_all(
        &world.b.agency_user,
        Some(&cursor_of(&world.b.agency_user).await),
        100,
    )
    .await;
    assert!(theirs.is_empty() && removed.is_empty(), "{theirs:?} {removed:?}");
}

/// A fresh cursor of `c` after a full sync.
async fn cursor_of(c: &Client) -> String {
    sync_all(c, None, 500).await.2
}

async fn late_commit_and_falling_due(server: TestServer) {
    let world = World::new(&server).await;
    let old = world.issue(1).await;
    // A phase due in three seconds.
    let now = Utc::now();
    let r = world
        .a
        .supervisor
        .post(
            "/api/v1/tasks",
            &json!({
                "title": "限期整改", "site_id": world.site_id, "agency_id": world.a.agency,
                "due_at": now + Duration::days(5),
                "phases": [{ "title": "立即停产", "due_at": now + Duration::seconds(3) }],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let soon = r.json()["id"].as_str().unwrap().to_owned();
    seal(&server).await;
    let agency = &world.a.agency_user;
    let (_, _, cursor) = sync_all(agency, None, 100).await;
    let (nothing, _, _) = sync_all(agency, Some(&cursor), 100).await;
    assert!(nothing.is_empty());

    // A write whose transaction began an hour ago commits only now: its event's time is old,
    // but it is numbered when sealed, after the cursor, so the next sync sees it.
    let task = TaskId(old.task.parse().unwrap());
    let late = AuditEvent::new(
        Utc::now() - Duration::hours(1),
        &Actor::system(),
        "task.noted",
        "task",
        task.0,
        &json!({}),
    )
    .on_task(task);
    server.app.store.append_audit(&late).await.unwrap();
    seal(&server).await;
    let (changed, _, cursor) = sync_all(agency, Some(&cursor), 100).await;
    assert_eq!(ids(&changed), HashSet::from([old.task.clone()]));

    // The phase falls due with no event at all; the next sync sends its task again, overdue.
    tokio::time::sleep(StdDuration::from_millis(3200)).await;
    let (changed, _, cursor) = sync_all(agency, Some(&cursor), 100).await;
    assert_eq!(ids(&changed), HashSet::from([soon.clone()]));
    assert_eq!(changed[0]["overdue"], true);
    assert_eq!(changed[0]["overdue_days"], 1);
    assert_eq!(changed[0]["phases"][0]["overdue"], true);
    let (nothing, _, _) = sync_all(agency, Some(&cursor), 100).await;
    assert!(nothing.is_empty());
}

#[tokio::test]
async fn late_commits_and_phases_falling_due_reach_the_phone_on_sqlite() {
    late_commit_and_falling_due(TestServer::start(Env::embedded().await).await).await;
}

#[tokio::test]
async fn late_commits_and_phases_falling_due_reach_the_phone_on_postgres() {
    let Some(env) = Env::scaled().await else { return };
    late_commit_and_falling_due(TestServer::start(env).await).await;
}

#[tokio::test]
async fn forged_cursors_and_bad_limits_are_refused() {
    let server = TestServer::start(Env::embedded().await).await;
    let world = World::new(&server).await;
    world.issue(1).await;
    let agency = &world.a.agency_user;
    let cursor = cursor_of(agency).await;

    let (payload, tag) = cursor.split_once('.').unwrap();
    let mut edited = payload.to_owned();
    edited.replace_range(0..1, if edited.starts_with('e') { "f" } else { "e" });
    for bad in [
        format!("{edited}.{tag}"),
        format!("{payload}.AAAA{tag}"),
        payload.to_owned(),
        "not-a-cursor".to_owned(),
        "x".repeat(5000),
    ] {
        sync_raw(agency, Some(&bad), 10, None)
            .await
            .assert_problem(400, "invalid_cursor");
    }
    // A cursor is sealed for its user.
    sync_raw(&world.a.supervisor, Some(&cursor), 10, None)
        .await
        .assert_problem(400, "invalid_cursor");
    for limit in [0, 501] {
        sync_raw(agency, None, limit, None)
            .await
            .assert_problem(422, "validation_failed");
    }
    let r = agency.get("/mobile/v1/sync?since=0").await;
    r.assert_problem(400, "malformed_request");
    server
        .anonymous()
        .get("/mobile/v1/sync")
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_push_files_each_item_once_and_a_bad_item_spoils_nothing() {
    let server = TestServer::start(Env::embedded().await).await;
    let world = World::new(&server).await;
    let f = world.issue(2).await;
    let agency = &world.a.agency_user;
    let item = |id: &str, note: &str| {
        json!({
            "client_id": id, "type": "record",
            "record": { "task_id": f.task, "phase_id": f.phases[0], "kind": "rectification",
                        "note": note, "device_time": Utc::now() },
        })
    };
    let (a, b) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let other_task = "00000000-0000-7000-8000-000000000000";
    let body = json!({ "items": [
        item(&a, "已苫盖"),
        { "client_id": uuid::Uuid::new_v4(), "type": "record",
          "record": { "task_id": other_task, "phase_id": f.phases[0], "kind": "rectification", "note": "x", "device_time": Utc::now() } },
        { "client_id": "not-a-uuid", "type": "record" },
        { "type": "teleport" },
        item(&b, "防尘网已安装"),
    ]});
    let r = agency.post("/mobile/v1/sync/push", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let results = r.json()["results"].as_array().unwrap().clone();
    let statuses: Vec<&str> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["created", "rejected", "rejected", "rejected", "created"]
    );
    assert_eq!(
        results[1]["problem"]["code"], "validation_failed",
        "{}",
        results[1]
    );
    assert_eq!(results[1]["problem"]["errors"][0]["field"], "task_id");
    assert_eq!(results[2]["problem"]["code"], "validation_failed");
    assert_eq!(results[2]["problem"]["errors"][0]["field"], "client_id");
    assert_eq!(results[3]["problem"]["errors"][0]["field"], "type");
    assert_eq!(results[2]["client_id"], Value::Null);
    assert_eq!(results[0]["record"]["id"], a.as_str());

    // The same push again creates nothing; the same id with other content is a conflict.
    let r = agency.post("/mobile/v1/sync/push", &body).await;
    let results = r.json()["results"].as_array().unwrap().clone();
    assert_eq!(results[0]["status"], "unchanged");
    assert_eq!(results[4]["status"], "unchanged");
    let r = agency
        .post(
            "/mobile/v1/sync/push",
            &json!({ "items": [item(&a, "改过的说明")] }),
        )
        .await;
    assert_eq!(r.json()["results"][0]["status"], "conflict");
    assert_eq!(r.json()["results"][0]["problem"]["code"], "record_conflict");
    let task = world
        .a
        .supervisor
        .get(&format!("/api/v1/tasks/{}", f.task))
        .await
        .json();
    assert_eq!(task["records"].as_array().unwrap().len(), 2);

    // Too many items at once: refused whole, nothing filed.
    let many: Vec<Value> = (0..501)
        .map(|_| item(&uuid::Uuid::new_v4().to_string(), "x"))
        .collect();
    let r = agency
        .post("/mobile/v1/sync/push", &json!({ "items": many }))
        .await;
    r.assert_problem(422, "validation_failed");
    let many: Vec<Value> = (0..10_000)
        .map(|_| item(&uuid::Uuid::new_v4().to_string(), "x"))
        .collect();
    let r = agency
        .post("/mobile/v1/sync/push", &json!({ "items": many }))
        .await;
    r.assert_problem(413, "payload_too_large");
    let task = world
        .a
        .supervisor
        .get(&format!("/api/v1/tasks/{}", f.task))
        .await
        .json();
    assert_eq!(task["records"].as_array().unwrap().len(), 2);
}
