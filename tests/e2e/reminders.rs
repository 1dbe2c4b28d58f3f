//! Traffic lights, the reminder outbox and SMS: every reminder once, on every replica, through
//! providers that fail, time out and recover; signed receipts; unreachable contacts reported.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Timelike, Utc};
use fieldproof_core::config::{Secret, SmsProviderKind};
use fieldproof_core::service::reminders;
use fieldproof_core::store::Store;
use serde_json::{Value, json};

use crate::support::server::{Client, Env, TestServer};
use crate::support::sms::{self, Kind, Provider};

/// The people of a task: a group with a leader, an agency with `contacts`, a supervisor with
/// a mobile number, an agency user, and a task with two phases due in 10 and 20 days.
struct Scene {
    supervisor: Client,
    agency_user: Client,
    admin: Client,
    agency: String,
    task: String,
    phases: Vec<String>,
}

async fn scene(server: &TestServer, contacts: Value) -> Scene {
    let admin = server.admin().await;
    let org = |name: &str, kind: &str, contacts: Value| {
        let body = json!({ "name": name, "kind": kind, "region_code": "130200", "contacts": contacts });
        let admin = &admin;
        async move {
            let r = admin.post("/api/v1/orgs", &body).await;
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let group = org(
        "唐山市督查组",
        "supervision",
        json!([{ "name": "李组长", "mobile": "13900000001", "leader": true }]),
    )
    .await;
    let agency = org("路北区生态环境分局", "agency", contacts).await;
    let user = |name: &str, role: &str, org: &str, mobile: Option<&str>| {
        let body = json!({ "username": name, "password": format!("{name}-password"), "role": role,
                           "display_name": name, "org_id": org, "mobile": mobile });
        let admin = &admin;
        async move {
            let r = admin.post("/api/v1/users", &body).await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
    };
    user("sup", "supervisor", &group, Some("13700000002")).await;
    user("agent", "agency", &agency, None).await;
    let supervisor = server.login("sup", "sup-password").await;
    let agency_user = server.login("agent", "agent-password").await;
    let site = crate::flow::site(&supervisor, 39.6305, 118.1804, "Asia/Shanghai").await;
    let now = Utc::now();
    let r = supervisor
        .post(
            "/api/v1/tasks",
            &json!({
                "title": "料场扬尘整改", "site_id": site, "agency_id": agency,
                "due_at": now + Duration::days(60),
                "phases": [
                    { "title": "苫盖料堆", "due_at": now + Duration::days(10) },
                    { "title": "安装喷淋设施", "due_at": now + Duration::days(20) },
                ],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t = r.json();
    Scene {
        supervisor,
        agency_user,
        admin,
        agency,
        task: t["id"].as_str().unwrap().to_owned(),
        phases: crate::support::world::ids(&t["phases"]),
    }
}

/// Moves a phase's due date (and the task's next due date with it), as time passing would.
async fn set_due(store: &Store, task: &str, phase: &str, due: DateTime<Utc>) {
    let task = uuid::Uuid::parse_str(task).unwrap();
    let phase = uuid::Uuid::parse_str(phase).unwrap();
    macro_rules! run {
        ($pool:expr) => {{
            sqlx::query("UPDATE phases SET due_at = $1 WHERE id = $2")
                .bind(due)
                .bind(phase)
                .execute($pool)
                .await
                .unwrap();
            sqlx::query("UPDATE tasks SET next_due_at = $1 WHERE id = $2")
                .bind(due)
                .bind(task)
                .execute($pool)
                .await
                .unwrap();
        }};
    }
    match store {
        Store::Postgres(pool) => run!(pool),
        Store::Sqlite(pool) => run!(pool),
    }
}

/// Accepts a phase and makes its waiting messages due now, as if the night had passed.
async fn accept_and_wake(store: &Store, phase: &str) {
    let phase = uuid::Uuid::parse_str(phase).unwrap();
    let now = Utc::now();
    macro_rules! run {
        ($pool:expr) => {{
            sqlx::query("UPDATE phases SET status = 'accepted' WHERE id = $1")
                .bind(phase)
                .execute($pool)
                .await
                .unwrap();
            sqlx::query("UPDATE reminder_messages SET next_attempt_at = $1 WHERE status = 'queued'")
                .bind(now)
                .execute($pool)
                .await
                .unwrap();
        }};
    }
    match store {
        Store::Postgres(pool) => run!(pool),
        Store::Sqlite(pool) => run!(pool),
    }
}

/// The task's reminders once `done` holds for them (polled for up to 60 s).
async fn reminders_when(c: &Client, task: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let path = format!("/api/v1/tasks/{task}/reminders");
    for _ in 0..600 {
        let r = c.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let list = r.json().as_array().unwrap().clone();
        if done(&list) {
            return list;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("reminders never settled: {}", c.get(&path).await.text());
}

fn messages(list: &[Value]) -> Vec<Value> {
    list.iter()
        .flat_map(|r| r["messages"].as_array().unwrap().clone())
        .collect()
}

/// Every message has left the queue.
fn settled(list: &[Value]) -> bool {
    let m = messages(list);
    !m.is_empty()
        && m.iter()
            .all(|m| !matches!(m["status"].as_str(), Some("queued" | "sending")))
}

fn of_kind<'a>(list: &'a [Value], kind: &str) -> Vec<&'a Value> {
    list.iter().filter(|r| r["kind"] == kind).collect()
}

fn quick(env: &mut Env) {
    env.settings.reminder_scan_secs = 1;
    env.settings.reminder_quiet_hours = String::new();
    env.settings.sms_backoff_secs = 1;
    env.settings.sms_timeout_secs = 1;
}

#[tokio::test]
async fn lights_and_the_schedule_on_the_log_provider() {
    let mut env = Env::embedded().await;
    quick(&mut env);
    let server = TestServer::start(env).await;
    let s = scene(
        &server,
        json!([{ "name": "王工", "mobile": "+86 138-0013-8000" }, { "name": "办公室", "mobile": "0315-2345678" }]),
    )
    .await;
    let sup = &s.supervisor;
    let task_path = format!("/api/v1/tasks/{}", s.task);

    // Nothing is due yet: green, and a scan creates nothing.
    assert_eq!(reminders::scan(&server.app, Utc::now()).await.unwrap(), 0);
    let t = sup.get(&task_path).await.json();
    assert_eq!(t["light"], "green");
    assert_eq!(t["reminders_sent"], 0);

    // Two days ahead: yellow; the 3-day warning goes to the agency's contacts and the
    // supervisor in charge, and the landline is reported unreachable.
    set_due(
        &server.app.store,
        &s.task,
        &s.phases[0],
        Utc::now() + Duration::days(2),
    )
    .await;
    let t = sup.get(&task_path).await.json();
    assert_eq!(t["light"], "yellow");
    assert_eq!(t["phases"][0]["light"], "yellow");
    assert_eq!(t["phases"][1]["light"], "green");
    let listed = |q: &'static str| async move {
        sup.get(&format!("/api/v1/tasks?{q}")).await.json()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(listed("light=yellow").await, 1);
    assert_eq!(listed("light=red").await, 0);
    assert_eq!(
        sup.get("/api/v1/tasks/lights").await.json(),
        json!({"red": 0, "yellow": 1, "green": 0, "done": 0})
    );
    // Phones see the same lights in sync.
    let synced = s.agency_user.get("/mobile/v1/sync").await.json();
    assert_eq!(synced["tasks"][0]["light"], "yellow", "{synced}");
    assert_eq!(synced["tasks"][0]["phases"][0]["light"], "yellow");
    assert_eq!(synced["tasks"][0]["phases"][1]["light"], "green");
    sup.get("/api/v1/tasks?light=amber")
        .await
        .assert_problem(422, "validation_failed");

    let list = reminders_when(sup, &s.task, settled).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0]["kind"].as_str(), list[0]["step"].as_i64()),
        (Some("due_soon"), Some(3))
    );
    let m = messages(&list);
    assert_eq!(m.len(), 3, "{m:?}");
    let by_name = |name: &str| m.iter().find(|x| x["recipient"] == name).unwrap().clone();
    assert_eq!(by_name("王工")["status"], "sent");
    assert_eq!(by_name("王工")["mobile"], "13800138000");
    assert_eq!(by_name("王工")["provider"], "log");
    assert_eq!(by_name("sup")["status"], "sent");
    assert_eq!(by_name("办公室")["status"], "unreachable");
    let text = by_name("王工")["text"].as_str().unwrap().to_owned();
    assert!(
        text.starts_with("督办任务DB") && text.contains("“苫盖料堆”将于"),
        "{text}"
    );
    // A second scan right after creates nothing.
    assert_eq!(reminders::scan(&server.app, Utc::now()).await.unwrap(), 0);

    // The agency sees its reminders with the numbers masked.
    let seen = reminders_when(&s.agency_user, &s.task, settled).await;
    let sup_msg = messages(&seen)
        .into_iter()
        .find(|x| x["recipient"] == "sup")
        .unwrap();
    assert_eq!(sup_msg["mobile"], "137****0002");
    // Another group's supervisor cannot see them at all.
    let other_group = {
        let r = s
            .admin
            .post(
                "/api/v1/orgs",
                &json!({"name": "别的督查组", "kind": "supervision", "region_code": "130200"}),
            )
            .await;
        r.json()["id"].as_str().unwrap().to_owned()
    };
    let stranger = server
        .user_in(&s.admin, "stranger", "supervisor", Some(&other_group))
        .await;
    stranger
        .get(&format!("/api/v1/tasks/{}/reminders", s.task))
        .await
        .assert_problem(404, "not_found");

    // The landline and the supervisor without a number are reported on their organisations.
    let orgs = s.admin.get("/api/v1/orgs").await.json();
    let agency = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == s.agency.as_str())
        .unwrap();
    assert_eq!(agency["unreachable"][0]["name"], "办公室", "{agency}");
    let other = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == other_group.as_str())
        .unwrap();
    assert_eq!(other["unreachable"][0]["name"], "stranger", "{other}");

    // A day past due: red, overdue for two started days, and the overdue notice goes out.
    set_due(
        &server.app.store,
        &s.task,
        &s.phases[0],
        Utc::now() - Duration::hours(25),
    )
    .await;
    let list = reminders_when(sup, &s.task, |l| l.len() == 2 && settled(l)).await;
    let overdue = of_kind(&list, "overdue");
    assert_eq!(overdue[0]["step"], 0);
    let text = overdue[0]["messages"][0]["text"].as_str().unwrap();
    assert!(text.contains("已超期2天"), "{text}");
    let t = sup.get(&task_path).await.json();
    assert_eq!(
        (t["light"].as_str(), t["overdue_days"].as_i64()),
        (Some("red"), Some(2))
    );
    assert_eq!(t["reminders_sent"], 4);
    assert_eq!(listed("light=red").await, 1);
    let items = sup.get("/api/v1/tasks?light=red").await.json();
    assert_eq!(items["items"][0]["reminders_sent"], 4);
    assert_eq!(items["items"][0]["light"], "red");

    // A manual urge goes out through the same outbox, to the agency.
    let r = sup
        .post(
            &format!("/api/v1/tasks/{}/urges", s.task),
            &json!({ "message": "请于今日内完成苫盖并上报", "phase_id": s.phases[0] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // Urging the same phase again within the urge window is 429 and writes nothing; the
    // other phase may still be urged.
    let again = sup
        .post(
            &format!("/api/v1/tasks/{}/urges", s.task),
            &json!({ "message": "再催一次", "phase_id": s.phases[0] }),
        )
        .await;
    again.assert_problem(429, "too_many_urges");
    assert!(again.header("retry-after").is_some());
    let list = reminders_when(sup, &s.task, |l| l.len() == 3 && settled(l)).await;
    let urge = of_kind(&list, "urge");
    let to: Vec<&str> = urge[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["王工", "办公室"]);
    assert_eq!(urge[0]["messages"][0]["status"], "sent");
    assert!(
        urge[0]["messages"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("督查组催办")
    );
    let page = sup.get(&task_path).await.json();
    assert_eq!(
        page["urges"].as_array().unwrap().len(),
        1,
        "the refused urge left no row"
    );

    // Everything is in the task's audit trail.
    let history = sup.get(&format!("{task_path}/history")).await.json();
    let actions: HashSet<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["reminder.created", "reminder.sent", "task.urged"] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
    // Accepted phases and closed tasks are done.
    server.stop().await;
}

#[tokio::test]
async fn quiet_hours_and_the_daily_cap_defer_sending() {
    let mut env = Env::embedded().await;
    quick(&mut env);
    let hour = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).hour();
    env.settings.reminder_quiet_hours = format!("{:02}:00-{:02}:00", hour, (hour + 2) % 24);
    let server = TestServer::start(env).await;
    let s = scene(&server, json!([{ "name": "王工", "mobile": "13800138000" }])).await;
    set_due(
        &server.app.store,
        &s.task,
        &s.phases[0],
        Utc::now() - Duration::hours(1),
    )
    .await;
    let list = reminders_when(&s.supervisor, &s.task, |l| {
        !l.is_empty()
            && messages(l)
                .iter()
                .all(|m| m["error"].as_str().is_some_and(|e| e.contains("quiet hours")))
    })
    .await;
    for m in messages(&list) {
        assert_eq!(m["status"], "queued");
        let next: DateTime<Utc> = m["next_attempt_at"].as_str().unwrap().parse().unwrap();
        assert!(next > Utc::now() + Duration::minutes(30), "{m}");
    }
    // The phase is accepted during the night: in the morning the waiting notices are
    // cancelled, not sent.
    let morning = {
        let mut settings = (*server.app.settings).clone();
        settings.reminder_quiet_hours = String::new();
        fieldproof_core::App::new(
            settings,
            server.app.store.clone(),
            server.app.objects.clone(),
            fieldproof_core::auth::Passwords::new(1).unwrap(),
        )
    };
    accept_and_wake(&server.app.store, &s.phases[0]).await;
    let sms = fieldproof_core::sms::Sms::new(morning.settings.clone()).unwrap();
    reminders::send_due(&morning, &sms, "morning", Utc::now())
        .await
        .unwrap();
    let list = reminders_when(&s.supervisor, &s.task, settled).await;
    assert!(
        messages(&list).iter().all(|m| m["status"] == "cancelled"),
        "{list:?}"
    );
    let history = s
        .supervisor
        .get(&format!("/api/v1/tasks/{}/history", s.task))
        .await
        .json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "reminder.cancelled")
    );
    server.stop().await;

    // A cap of one SMS a day per organisation: the agency's second contact waits for tomorrow.
    let mut env = Env::embedded().await;
    quick(&mut env);
    env.settings.reminder_daily_cap = 1;
    let server = TestServer::start(env).await;
    let s = scene(
        &server,
        json!([{ "name": "王工", "mobile": "13800138000" }, { "name": "张工", "mobile": "13800138001" }]),
    )
    .await;
    set_due(
        &server.app.store,
        &s.task,
        &s.phases[0],
        Utc::now() - Duration::hours(1),
    )
    .await;
    let list = reminders_when(&s.supervisor, &s.task, |l| {
        messages(l).iter().filter(|m| m["status"] == "sent").count() == 2
            && messages(l)
                .iter()
                .any(|m| m["error"].as_str().is_some_and(|e| e.contains("daily cap")))
    })
    .await;
    let waiting: Vec<Value> = messages(&list)
        .into_iter()
        .filter(|m| m["status"] == "queued")
        .collect();
    assert_eq!(waiting.len(), 1, "{list:?}");
    server.stop().await;
}

/// A Tencent status callback for the message with serial number `sid`.
fn receipt_text(sid: &str, status: &str) -> Vec<u8> {
    let errmsg = if status == "SUCCESS" { "DELIVRD" } else { "MN:0017" };
    json!([{ "user_receive_time": "2026-12-04 10:00:00", "nationcode": "86", "mobile": "13800138000",
             "report_status": status, "errmsg": errmsg, "description": "用户短信送达成功", "sid": sid }])
    .to_string()
    .into_bytes()
}

/// Settings for a provider at `p`.
fn provider_settings(env: &mut Env, kind: SmsProviderKind, p: &Provider) {
    let s = &mut env.settings;
    s.sms_provider = kind;
    s.sms_endpoint = Some(p.url.clone());
    s.sms_access_key_id = Some(Secret::new(sms::KEY_ID));
    s.sms_access_key_secret = Some(Secret::new(sms::SECRET));
    s.sms_app_id = Some("1400000000".into());
    s.sms_template_overdue = "SMS_71390007".into();
    s.sms_webhook_url = Some(Secret::new(p.url.clone()));
    s.sms_webhook_secret = Some(Secret::new(sms::SECRET));
    s.sms_callback_secret = Some(Secret::new("receipt-secret"));
}

#[tokio::test]
async fn aliyun_fails_times_out_and_recovers_with_two_schedulers_on_postgres() {
    let Some(mut env) = Env::scaled().await else {
        return;
    };
    quick(&mut env);
    let provider = Provider::start(Kind::Aliyun, 3, 2).await;
    provider_settings(&mut env, SmsProviderKind::Aliyun, &provider);
    let settings = env.settings.clone();
    let server = TestServer::start(env).await;
    // A second replica on the same database and bucket, scanning and sending too.
    let second = fieldproof_server::open_app(settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop_second = tokio_util::sync::CancellationToken::new();
    let replica = tokio::spawn(fieldproof_server::serve(
        second.clone(),
        listener,
        stop_second.clone(),
        false,
    ));

    let s = scene(
        &server,
        json!([{ "name": "王工", "mobile": "13800138000" }, { "name": "赵工", "mobile": sms::REFUSED_NUMBER }]),
    )
    .await;
    set_due(
        &server.app.store,
        &s.task,
        &s.phases[0],
        Utc::now() - Duration::hours(1),
    )
    .await;
    // Both replicas scan at once as well as on their own timers.
    let (a, b) = tokio::join!(
        reminders::scan(&server.app, Utc::now()),
        reminders::scan(&second, Utc::now())
    );
    assert!(a.unwrap() + b.unwrap() <= 1);

    let list = reminders_when(&s.supervisor, &s.task, settled).await;
    assert_eq!(
        list.len(),
        1,
        "one overdue notice, whichever replica made it: {list:?}"
    );
    let m = messages(&list);
    assert_eq!(m.len(), 3);
    let sent: Vec<&Value> = m.iter().filter(|m| m["status"] == "sent").collect();
    assert_eq!(sent.len(), 2, "{m:?}");
    let refused = m.iter().find(|m| m["recipient"] == "赵工").unwrap();
    assert_eq!(refused["status"], "failed");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("isv.MOBILE_NUMBER_ILLEGAL"),
        "{refused}"
    );
    // Every SMS arrived exactly once, signed as Aliyun documents; the refused number was
    // not tried again after its refusal; the 500s and time-outs were retried.
    assert_eq!(provider.bad_signatures(), 0);
    let accepted = provider.accepted();
    let ids: HashSet<String> = accepted.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids.len(), accepted.len(), "an SMS arrived twice: {accepted:?}");
    let sent_ids: HashSet<String> = sent
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, sent_ids);
    assert!(accepted.iter().all(|a| a.template == "SMS_71390007"));
    let mut numbers: Vec<&str> = accepted.iter().map(|a| a.mobile.as_str()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, ["13700000002", "13800138000"]);
    for m in &sent {
        let a = accepted
            .iter()
            .find(|a| a.id == m["id"].as_str().unwrap())
            .unwrap();
        assert_eq!(m["provider_message_id"].as_str(), Some(a.provider_id.as_str()));
    }
    assert_eq!(provider.refused(), [sms::REFUSED_NUMBER]);
    assert!(
        provider.requests() >= 3 + 2 + 3,
        "{} requests",
        provider.requests()
    );
    let attempts: i64 = m.iter().map(|m| m["attempts"].as_i64().unwrap()).sum();
    assert!(attempts >= 6, "{m:?}");
    // Scans after it all create nothing on either replica.
    assert_eq!(reminders::scan(&second, Utc::now()).await.unwrap(), 0);
    assert_eq!(reminders::scan(&server.app, Utc::now()).await.unwrap(), 0);
    let history = s
        .supervisor
        .get(&format!("/api/v1/tasks/{}/history", s.task))
        .await
        .json();
    let failed = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "reminder.failed")
        .count();
    assert_eq!(failed, 1);

    stop_second.cancel();
    let _ = replica.await;
    second.store.close().await;
    server.stop().await;
}

#[tokio::test]
async fn tencent_sends_and_signed_receipts_are_filed() {
    let mut env = Env::embedded().await;
    quick(&mut env);
    let provider = Provider::start(Kind::Tencent, 1, 0).await;
    provider_settings(&mut env, SmsProviderKind::Tencent, &provider);
    let server = TestServer::start(env).await;
    let s = scene(&server, json!([{ "name": "王工", "mobile": "13800138000" }])).await;
    set_due(
        &server.app.store,
        &s.task,
        &s.phases[0],
        Utc::now() - Duration::hours(1),
    )
    .await;
    let list = reminders_when(&s.supervisor, &s.task, settled).await;
    assert_eq!(provider.bad_signatures(), 0);
    let m = messages(&list);
    assert!(m.iter().all(|m| m["status"] == "sent"), "{m:?}");
    let wang = m.iter().find(|m| m["recipient"] == "王工").unwrap();
    let serial = wang["provider_message_id"].as_str().unwrap().to_owned();
    assert!(serial.starts_with("2433:serial"), "{serial}");

    let anon = server.anonymous();
    let post = |body: Vec<u8>, ts: Option<String>, sig: Option<String>| {
        let mut req = anon
            .request(reqwest::Method::POST, "/api/v1/sms/receipts/tencent")
            .header("content-type", "application/json")
            .body(body);
        if let Some(ts) = ts {
            req = req.header("x-fieldproof-timestamp", ts);
        }
        if let Some(sig) = sig {
            req = req.header("x-fieldproof-signature", sig);
        }
        anon.send(req)
    };
    let receipt = receipt_text(&serial, "SUCCESS");
    let now = Utc::now().timestamp().to_string();
    // Unsigned, wrongly signed, signed for another body, or stale: 401 and nothing filed.
    post(receipt.clone(), None, None)
        .await
        .assert_problem(401, "bad_signature");
    post(
        receipt.clone(),
        Some(now.clone()),
        Some(sms::sign("wrong", &now, &receipt)),
    )
    .await
    .assert_problem(401, "bad_signature");
    post(
        receipt.clone(),
        Some(now.clone()),
        Some(sms::sign("receipt-secret", &now, b"[]")),
    )
    .await
    .assert_problem(401, "bad_signature");
    let old = (Utc::now().timestamp() - 3600).to_string();
    post(
        receipt.clone(),
        Some(old.clone()),
        Some(sms::sign("receipt-secret", &old, &receipt)),
    )
    .await
    .assert_problem(401, "bad_signature");
    let list = reminders_when(&s.supervisor, &s.task, settled).await;
    assert!(
        messages(&list)
            .iter()
            .all(|m| m["status"] == "sent" && m["receipt"].is_null())
    );
    // Signed garbage is 400; an unknown provider 404.
    let junk = b"{\"not\": \"a list\"}".to_vec();
    post(
        junk.clone(),
        Some(now.clone()),
        Some(sms::sign("receipt-secret", &now, &junk)),
    )
    .await
    .assert_problem(400, "malformed_request");
    let r = anon
        .send(
            anon.request(reqwest::Method::POST, "/api/v1/sms/receipts/smoke")
                .body("[]"),
        )
        .await;
    r.assert_problem(404, "not_found");

    // Signed: filed on the message and audited.
    let r = post(
        receipt.clone(),
        Some(now.clone()),
        Some(sms::sign("receipt-secret", &now, &receipt)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"received": 1, "matched": 1}));
    let list = reminders_when(&s.supervisor, &s.task, |l| {
        messages(l).iter().any(|m| m["status"] == "delivered")
    })
    .await;
    let wang = messages(&list)
        .into_iter()
        .find(|m| m["recipient"] == "王工")
        .unwrap();
    assert_eq!(wang["delivered_at"], "2026-12-04T02:00:00Z");
    assert_eq!(wang["receipt"]["errmsg"], "DELIVRD");

    // Delivered is final: a repeat, or a late "not delivered", changes nothing and adds no
    // event; the log provider takes no receipts; a body over the JSON limit is 413.
    let r = post(
        receipt.clone(),
        Some(now.clone()),
        Some(sms::sign("receipt-secret", &now, &receipt)),
    )
    .await;
    assert_eq!(r.json(), json!({"received": 1, "matched": 0}));
    let late = receipt_text(&serial, "FAIL");
    let r = post(
        late.clone(),
        Some(now.clone()),
        Some(sms::sign("receipt-secret", &now, &late)),
    )
    .await;
    assert_eq!(r.json(), json!({"received": 1, "matched": 0}));
    let list = reminders_when(&s.supervisor, &s.task, settled).await;
    let wang = messages(&list)
        .into_iter()
        .find(|m| m["recipient"] == "王工")
        .unwrap();
    assert_eq!(wang["status"], "delivered");
    let log = anon
        .send(
            anon.request(reqwest::Method::POST, "/api/v1/sms/receipts/log")
                .body("[]"),
        )
        .await;
    log.assert_problem(404, "not_found");
    let big = vec![b' '; 2 * 1024 * 1024];
    post(
        big.clone(),
        Some(now.clone()),
        Some(sms::sign("receipt-secret", &now, &big)),
    )
    .await
    .assert_problem(413, "payload_too_large");
    let history = s
        .supervisor
        .get(&format!("/api/v1/tasks/{}/history", s.task))
        .await
        .json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "reminder.delivered")
    );
    server.stop().await;
}

#[tokio::test]
async fn the_webhook_is_signed_and_carries_its_idempotency_key() {
    let mut env = Env::embedded().await;
    quick(&mut env);
    let provider = Provider::start(Kind::Webhook, 0, 1).await;
    provider_settings(&mut env, SmsProviderKind::Webhook, &provider);
    let server = TestServer::start(env).await;
    let s = scene(
        &server,
        json!([{ "name": "王工", "mobile": "13800138000" }, { "name": "赵工", "mobile": sms::REFUSED_NUMBER }]),
    )
    .await;
    set_due(
        &server.app.store,
        &s.task,
        &s.phases[0],
        Utc::now() + Duration::hours(20),
    )
    .await;
    let list = reminders_when(&s.supervisor, &s.task, settled).await;
    assert_eq!(
        (list[0]["kind"].as_str(), list[0]["step"].as_i64()),
        (Some("due_soon"), Some(1))
    );
    assert_eq!(provider.bad_signatures(), 0);
    let m = messages(&list);
    assert_eq!(m.iter().filter(|m| m["status"] == "sent").count(), 2, "{m:?}");
    assert_eq!(
        m.iter().find(|m| m["recipient"] == "赵工").unwrap()["status"],
        "failed"
    );
    assert_eq!(provider.accepted().len(), 2);

    // A webhook receipt in our own format, signed.
    let id = m.iter().find(|m| m["recipient"] == "王工").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!([{ "id": id, "delivered": false, "at": "2026-12-04T02:00:00Z" }])
        .to_string()
        .into_bytes();
    let now = Utc::now().timestamp().to_string();
    let anon = server.anonymous();
    let r = anon
        .send(
            anon.request(reqwest::Method::POST, "/api/v1/sms/receipts/webhook")
                .header("x-fieldproof-timestamp", now.clone())
                .header("x-fieldproof-signature", sms::sign("receipt-secret", &now, &body))
                .body(body),
        )
        .await;
    assert_eq!(r.json(), json!({"received": 1, "matched": 1}));
    let list = reminders_when(&s.supervisor, &s.task, |l| {
        messages(l)
            .iter()
            .any(|m| m["id"] == id.as_str() && m["status"] == "failed")
    })
    .await;
    let wang = messages(&list)
        .into_iter()
        .find(|m| m["id"] == id.as_str())
        .unwrap();
    assert_eq!(wang["error"], "not delivered");

    // Twenty relays racing with the same receipt for the supervisor's message on SQLite:
    // every post is answered 200, one of them files it, and it is audited once.
    let sup_id = m.iter().find(|m| m["recipient"] == "sup").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!([{ "id": sup_id, "delivered": true, "at": "2026-12-04T02:00:00Z" }]).to_string();
    let racing: Vec<_> = (0..20)
        .map(|_| {
            let (anon, body, now) = (anon.clone(), body.clone(), now.clone());
            tokio::spawn(async move {
                let sig = sms::sign("receipt-secret", &now, body.as_bytes());
                let req = anon
                    .request(reqwest::Method::POST, "/api/v1/sms/receipts/webhook")
                    .header("x-fieldproof-timestamp", now)
                    .header("x-fieldproof-signature", sig)
                    .body(body);
                let r = anon.send(req).await;
                (r.status, r.json()["matched"].as_i64())
            })
        })
        .collect();
    let mut matched = 0;
    for handle in racing {
        let (status, n) = handle.await.unwrap();
        assert_eq!(status, 200);
        matched += n.unwrap();
    }
    assert_eq!(matched, 1);
    let history = s
        .supervisor
        .get(&format!("/api/v1/tasks/{}/history", s.task))
        .await
        .json();
    let delivered = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "reminder.delivered")
        .count();
    assert_eq!(delivered, 1);
    server.stop().await;
}
