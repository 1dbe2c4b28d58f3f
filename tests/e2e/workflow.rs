//! The supervision workflow end to end: issue, acknowledge, plan versions, reports and their
//! review, extensions, urges, findings that add phases, completion and closing — every invalid
//! step refused with 409 and nothing half-written.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::server::{Client, Env, TestServer};
use crate::support::world::{self, World};

async fn status(c: &Client, task: &str) -> String {
    let r = c.get(&format!("/api/v1/tasks/{task}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["status"].as_str().unwrap().to_owned()
}

fn actions(history: &Value) -> Vec<String> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn lifecycle(server: &TestServer) {
    let w = World::new(server).await;
    let (sup, agency) = (&w.a.supervisor, &w.a.agency_user);
    let f = w.issue(0).await;
    let t = &f.task;
    assert_eq!(status(sup, t).await, "issued");

    // Out of order: a plan before acknowledging, an approval with nothing to approve.
    let r = agency
        .post(&format!("/api/v1/tasks/{t}/plans"), &world::plan_body(&[]))
        .await;
    r.assert_problem(409, "invalid_transition");
    assert!(
        r.json()["detail"].as_str().unwrap().contains("issued"),
        "{}",
        r.text()
    );
    sup.post(&format!("/api/v1/tasks/{t}/plans/1/approve"), &json!({}))
        .await
        .assert_problem(404, "not_found");
    sup.post(&format!("/api/v1/tasks/{t}/close"), &json!({ "reason": "x" }))
        .await
        .assert_problem(409, "invalid_transition");

    let r = agency
        .post(&format!("/api/v1/tasks/{t}/acknowledge"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "acknowledged");
    assert!(r.json()["acknowledged"]["at"].is_string());
    agency
        .post(&format!("/api/v1/tasks/{t}/acknowledge"), &json!({}))
        .await
        .assert_problem(409, "invalid_transition");

    // Version 1 with a document, rejected with a comment; version 2 approved.
    let doc = w.document(agency).await;
    let r = agency
        .post(&format!("/api/v1/tasks/{t}/plans"), &world::plan_body(&[&doc]))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["version"], 1);
    assert_eq!(status(sup, t).await, "plan_submitted");
    agency
        .post(&format!("/api/v1/tasks/{t}/plans"), &world::plan_body(&[]))
        .await
        .assert_problem(409, "invalid_transition");
    sup.post(&format!("/api/v1/tasks/{t}/plans/1/reject"), &json!({}))
        .await
        .assert_problem(422, "validation_failed");
    let r = sup
        .post(
            &format!("/api/v1/tasks/{t}/plans/1/reject"),
            &json!({ "comment": "第一阶段时间过长" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "acknowledged");
    let r = agency
        .post(&format!("/api/v1/tasks/{t}/plans"), &world::plan_body(&[&doc]))
        .await;
    assert_eq!(r.json()["version"], 2, "{}", r.text());
    sup.post(&format!("/api/v1/tasks/{t}/plans/1/approve"), &json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    let r = sup
        .post(
            &format!("/api/v1/tasks/{t}/plans/2/approve"),
            &json!({ "comment": "同意" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let phases = world::ids(&r.json());
    assert_eq!(phases.len(), 2);
    let plans = sup.get(&format!("/api/v1/tasks/{t}/plans")).await.json();
    let states: Vec<_> = plans
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].clone())
        .collect();
    assert_eq!(states, [json!("rejected"), json!("approved")]);
    assert_eq!(plans[0]["decision"]["comment"], "第一阶段时间过长");
    assert_eq!(status(sup, t).await, "in_progress");
    // The agency can read the plan's document; the other agency cannot.
    let r = agency.get(&format!("/api/v1/documents/{doc}/content")).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], world::PDF);
    w.b.agency_user
        .get(&format!("/api/v1/documents/{doc}"))
        .await
        .assert_problem(404, "not_found");

    // Phase 1: a report, returned with a new due date, then a second report accepted.
    let f = world::Fixture {
        task: t.clone(),
        phases: phases.clone(),
        ..world::Fixture::default()
    };
    let first = w.report(&f, 0).await;
    let new_due = Utc::now() + Duration::days(12);
    let r = sup
        .post(
            &format!("/api/v1/records/{first}/review"),
            &json!({ "decision": "reject", "comment": "照片不清晰，请重拍", "new_due_at": new_due }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["review"]["status"], "returned");
    sup.post(
        &format!("/api/v1/records/{first}/review"),
        &json!({ "decision": "accept" }),
    )
    .await
    .assert_problem(409, "invalid_transition");
    let page = sup.get(&format!("/api/v1/tasks/{t}")).await.json();
    assert_eq!(page["phases"][0]["status"], "returned");
    let second = w.report(&f, 0).await;
    let r = sup
        .post(
            &format!("/api/v1/records/{second}/review"),
            &json!({ "decision": "accept" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The phase keeps both reports with their decisions.
    let phase = agency.get(&format!("/api/v1/phases/{}", phases[0])).await.json();
    assert_eq!(phase["status"], "accepted");
    let reviews: Vec<_> = phase["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["review"]["status"].clone())
        .collect();
    assert_eq!(reviews, [json!("returned"), json!("accepted")]);
    assert_eq!(
        phase["reports"][0]["review"]["decision"]["comment"],
        "照片不清晰，请重拍"
    );
    // A report on an accepted phase is refused.
    let late = uuid::Uuid::new_v4();
    agency
        .put(
            &format!("/mobile/v1/records/{late}"),
            &json!({ "task_id": t, "phase_id": phases[0], "kind": "rectification", "note": "x", "device_time": Utc::now() }),
        )
        .await
        .assert_problem(409, "invalid_transition");

    // Phase 2: an extension granted (the old date kept), a second one refused.
    let page = sup.get(&format!("/api/v1/tasks/{t}")).await.json();
    let old_due = page["phases"][1]["due_at"].as_str().unwrap().to_owned();
    let proposed = Utc::now() + Duration::days(40);
    let r = agency
        .post(
            &format!("/api/v1/phases/{}/extensions", phases[1]),
            &json!({ "reason": "防尘网供货延迟", "proposed_due_at": proposed }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let ext = r.json()["id"].as_str().unwrap().to_owned();
    agency
        .post(
            &format!("/api/v1/phases/{}/extensions", phases[1]),
            &json!({ "reason": "again", "proposed_due_at": proposed + Duration::days(1) }),
        )
        .await
        .assert_problem(409, "extension_pending");
    let r = sup
        .post(&format!("/api/v1/extensions/{ext}/grant"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["previous_due_at"], old_due);
    let page = sup.get(&format!("/api/v1/tasks/{t}")).await.json();
    assert_ne!(page["phases"][1]["due_at"], old_due);
    sup.post(
        &format!("/api/v1/extensions/{ext}/refuse"),
        &json!({ "comment": "x" }),
    )
    .await
    .assert_problem(409, "invalid_transition");
    let r = agency
        .post(
            &format!("/api/v1/phases/{}/extensions", phases[1]),
            &json!({ "reason": "再延", "proposed_due_at": proposed + Duration::days(5) }),
        )
        .await;
    let second_ext = r.json()["id"].as_str().unwrap().to_owned();
    sup.post(&format!("/api/v1/extensions/{second_ext}/refuse"), &json!({}))
        .await
        .assert_problem(422, "validation_failed");
    let r = sup
        .post(
            &format!("/api/v1/extensions/{second_ext}/refuse"),
            &json!({ "comment": "不再延期" }),
        )
        .await;
    assert_eq!(r.json()["status"], "refused", "{}", r.text());

    // An urge, visible to the agency.
    let r = sup
        .post(
            &format!("/api/v1/tasks/{t}/urges"),
            &json!({ "phase_id": phases[1], "message": "请尽快完成第二阶段" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let page = agency.get(&format!("/api/v1/tasks/{t}")).await.json();
    assert_eq!(page["urges"][0]["message"], "请尽快完成第二阶段");

    // Phase 2 accepted: the task completes; an inspection finding reopens it with a new phase.
    let earlier = w.report(&f, 1).await;
    let report = w.report(&f, 1).await;
    sup.post(
        &format!("/api/v1/records/{report}/review"),
        &json!({ "decision": "accept" }),
    )
    .await;
    assert_eq!(status(sup, t).await, "completed");
    // The report left waiting on the accepted phase is superseded, not pending for ever.
    let r = sup.get(&format!("/api/v1/records/{earlier}")).await;
    assert_eq!(r.json()["review"]["status"], "superseded", "{}", r.text());
    let finding = uuid::Uuid::new_v4();
    let r = w
        .a
        .inspector
        .put(
            &format!("/mobile/v1/records/{finding}"),
            &json!({
                "task_id": t, "kind": "inspection", "note": "复查", "device_time": Utc::now(),
                "findings": [
                    { "text": "煤堆东侧苫盖破损" , "new_phase": { "title": "修补苫盖", "due_at": Utc::now() + Duration::days(7) } },
                    { "text": "道路洒水正常" },
                ],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let page = sup.get(&format!("/api/v1/tasks/{t}")).await.json();
    assert_eq!(page["status"], "in_progress");
    assert_eq!(page["phases"].as_array().unwrap().len(), 3);
    assert_eq!(page["phases"][2]["title"], "修补苫盖");
    let f = world::Fixture {
        phases: world::ids(&page["phases"]),
        ..f
    };
    let fix = w.report(&f, 2).await;
    sup.post(
        &format!("/api/v1/records/{fix}/review"),
        &json!({ "decision": "accept" }),
    )
    .await;
    assert_eq!(status(sup, t).await, "completed");
    sup.post(&format!("/api/v1/tasks/{t}/cancel"), &json!({ "reason": "x" }))
        .await
        .assert_problem(409, "invalid_transition");
    let r = sup
        .post(
            &format!("/api/v1/tasks/{t}/close"),
            &json!({ "reason": "整改到位" }),
        )
        .await;
    assert_eq!(r.json()["status"], "closed", "{}", r.text());
    assert_eq!(r.json()["ended"]["reason"], "整改到位");
    sup.post(&format!("/api/v1/tasks/{t}/urges"), &json!({ "message": "x" }))
        .await
        .assert_problem(409, "invalid_transition");

    // The history names every step, with who and from where.
    let history = sup.get(&format!("/api/v1/tasks/{t}/history")).await.json();
    let seen = actions(&history);
    for expected in [
        "task.issued",
        "task.acknowledged",
        "plan.submitted",
        "plan.rejected",
        "plan.approved",
        "record.created",
        "report.returned",
        "report.accepted",
        "extension.requested",
        "extension.granted",
        "extension.refused",
        "task.urged",
        "task.completed",
        "task.closed",
    ] {
        assert!(
            seen.iter().any(|a| a == expected),
            "{expected} missing from {seen:?}"
        );
    }
    let closed = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "task.closed")
        .unwrap();
    assert_eq!(closed["actor_role"], "supervisor");
    assert_eq!(closed["actor_org_id"], w.a.group.as_str());
    assert_eq!(closed["client_ip"], "127.0.0.1");
    assert!(closed["user_agent"].is_string() || closed["user_agent"].is_null());
    // Nothing of the refused steps reached the trail.
    assert_eq!(seen.iter().filter(|a| *a == "task.acknowledged").count(), 1);
    assert_eq!(seen.iter().filter(|a| *a == "plan.submitted").count(), 2);
}

#[tokio::test]
async fn the_whole_workflow_on_sqlite() {
    let server = TestServer::start(Env::embedded().await).await;
    lifecycle(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn the_whole_workflow_on_postgres() {
    let Some(env) = Env::scaled().await else {
        return;
    };
    let server = TestServer::start(env).await;
    lifecycle(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn cancelling_is_allowed_until_completion_and_ends_everything() {
    let server = TestServer::start(Env::embedded().await).await;
    let w = World::new(&server).await;
    let f = w.extension_requested().await;
    let sup = &w.a.supervisor;
    sup.post(
        &format!("/api/v1/tasks/{}/cancel", f.task),
        &json!({ "reason": "" }),
    )
    .await
    .assert_problem(422, "validation_failed");
    let r = sup
        .post(
            &format!("/api/v1/tasks/{}/cancel", f.task),
            &json!({ "reason": "企业已关停" }),
        )
        .await;
    assert_eq!(r.json()["status"], "cancelled", "{}", r.text());
    // The pending extension can no longer be granted, nor reports filed.
    sup.post(
        &format!("/api/v1/extensions/{}/grant", f.extension.unwrap()),
        &json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    let r = w
        .a
        .agency_user
        .put(
            &format!("/mobile/v1/records/{}", uuid::Uuid::new_v4()),
            &json!({ "task_id": f.task, "phase_id": f.phases[0], "kind": "rectification", "note": "x", "device_time": Utc::now() }),
        )
        .await;
    r.assert_problem(409, "invalid_transition");
    // A cancelled task is never overdue.
    let list = sup.get("/api/v1/tasks?overdue=true").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    server.stop().await;
}

#[tokio::test]
async fn bad_plans_reports_and_documents_are_refused_and_leave_nothing_behind() {
    let server = TestServer::start(Env::embedded().await).await;
    let w = World::new(&server).await;
    let agency = &w.a.agency_user;
    let f = w.acknowledged().await;
    let t = &f.task;
    let plans = format!("/api/v1/tasks/{t}/plans");
    let now = Utc::now();
    // No phases; dates in the past (before the task was issued); out of order.
    let mut body = world::plan_body(&[]);
    body["phases"] = json!([]);
    let r = agency.post(&plans, &body).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "phases");
    body["phases"] = json!([{ "title": "a", "due_at": now - Duration::days(1) }]);
    let r = agency.post(&plans, &body).await;
    assert_eq!(r.json()["errors"][0]["field"], "phases[0].due_at", "{}", r.text());
    body["phases"] = json!([
        { "title": "a", "due_at": now + Duration::days(9) },
        { "title": "b", "due_at": now + Duration::days(3) },
    ]);
    let r = agency.post(&plans, &body).await;
    assert_eq!(r.json()["errors"][0]["field"], "phases[1].due_at", "{}", r.text());
    // Someone else's document, or one that does not exist.
    let foreign = w.document(&w.b.agency_user).await;
    let r = agency.post(&plans, &world::plan_body(&[&foreign])).await;
    assert_eq!(r.json()["errors"][0]["field"], "document_ids[0]", "{}", r.text());
    // A 10 MB comment is refused at the door.
    let huge = json!({ "background": "x".repeat(10 * 1024 * 1024), "phases": [] });
    agency
        .post(&plans, &huge)
        .await
        .assert_problem(413, "payload_too_large");
    let r = agency
        .post(
            &plans,
            &json!({ "background": "x".repeat(10_001), "phases": world::plan_body(&[])["phases"] }),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["field"], "background", "{}", r.text());
    // Nothing was stored and the task did not move.
    assert_eq!(agency.get(&plans).await.json().as_array().unwrap().len(), 0);
    assert_eq!(status(agency, t).await, "acknowledged");
    let history = agency.get(&format!("/api/v1/tasks/{t}/history")).await.json();
    assert_eq!(actions(&history), ["task.issued", "task.acknowledged"]);

    // A file that claims to be a PDF but is HTML; an unknown type; an empty one.
    let upload = |body: &'static [u8], ct: &'static str| {
        agency
            .request(reqwest::Method::POST, "/api/v1/documents?name=a.pdf")
            .header("content-type", ct)
            .body(body)
    };
    let r = agency
        .send(upload(
            b"<html><script>alert(1)</script></html>",
            "application/pdf",
        ))
        .await;
    r.assert_problem(415, "unsupported_type");
    assert!(
        r.json()["detail"].as_str().unwrap().contains("PDF"),
        "{}",
        r.text()
    );
    agency
        .send(upload(b"MZ\x90\x00", "application/x-msdownload"))
        .await
        .assert_problem(415, "unsupported_type");
    agency
        .send(upload(b"", "application/pdf"))
        .await
        .assert_problem(422, "empty_file");
    let disguised: &'static [u8] = b"<!doctype html><script>alert(1)</script><!-- %PDF-1.4 --> %%EOF";
    agency
        .send(upload(disguised, "application/pdf"))
        .await
        .assert_problem(415, "unsupported_type");
    // Hidden characters in text are refused.
    let mut body = world::plan_body(&[]);
    body["background"] = json!("正常\u{202E}txt.exe");
    let r = agency.post(&plans, &body).await;
    assert_eq!(r.json()["errors"][0]["field"], "background", "{}", r.text());

    // A report on a phase of another agency's task: that task does not exist for this agency.
    let other = w.issue(1).await;
    let r = w
        .b
        .agency_user
        .put(
            &format!("/mobile/v1/records/{}", uuid::Uuid::new_v4()),
            &json!({ "task_id": other.task, "phase_id": other.phases[0], "kind": "rectification", "note": "x", "device_time": Utc::now() }),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "task_id");

    // No due date may pass the task's own (issued with due_at in 90 days).
    let beyond = Utc::now() + Duration::days(400);
    let report = w.report(&other, 0).await;
    let r =
        w.a.supervisor
            .post(
                &format!("/api/v1/records/{report}/review"),
                &json!({ "decision": "reject", "comment": "x", "new_due_at": beyond }),
            )
            .await;
    assert_eq!(r.json()["errors"][0]["field"], "new_due_at", "{}", r.text());
    let r = agency
        .post(
            &format!("/api/v1/phases/{}/extensions", other.phases[0]),
            &json!({ "reason": "x", "proposed_due_at": beyond }),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["field"], "proposed_due_at", "{}", r.text());
    let r = w
        .a
        .inspector
        .put(
            &format!("/mobile/v1/records/{}", uuid::Uuid::new_v4()),
            &json!({ "task_id": other.task, "kind": "inspection", "note": "x", "device_time": Utc::now(),
                     "findings": [{ "text": "x", "new_phase": { "title": "x", "due_at": "9999-12-31T23:59:59Z" } }] }),
        )
        .await;
    assert_eq!(
        r.json()["errors"][0]["field"],
        "findings[0].new_phase.due_at",
        "{}",
        r.text()
    );
    server.stop().await;
}

#[tokio::test]
async fn an_extension_after_the_due_date_is_refused() {
    let server = TestServer::start(Env::embedded().await).await;
    let w = World::new(&server).await;
    let f = w.issue(1).await;
    // Let the phase fall due.
    if let fieldproof_core::store::Store::Sqlite(pool) = &server.app.store {
        sqlx::query("UPDATE phases SET due_at = $1 WHERE id = $2")
            .bind(Utc::now() - Duration::hours(2))
            .bind(uuid::Uuid::parse_str(&f.phases[0]).unwrap())
            .execute(pool)
            .await
            .unwrap();
    }
    let r =
        w.a.agency_user
            .post(
                &format!("/api/v1/phases/{}/extensions", f.phases[0]),
                &json!({ "reason": "晚了", "proposed_due_at": Utc::now() + Duration::days(3) }),
            )
            .await;
    r.assert_problem(409, "invalid_transition");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("before the due date"),
        "{}",
        r.text()
    );
    server.stop().await;
}
