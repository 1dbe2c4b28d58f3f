//! The audit trail is tamper-evident: rows edited, reordered or deleted directly in SQLite or
//! PostgreSQL, or the newest events cut off, are each found by `GET /api/v1/audit/verify`
//! and by `fieldproof audit verify`, which name the first broken event.

use fieldproof_core::service::audit;
use fieldproof_core::store::Store;
use serde_json::{Value, json};

use crate::support::server::{Env, TestServer};
use crate::support::world::World;

/// Runs statements in order on one connection.
async fn sql(server: &TestServer, statements: &[String]) {
    match &server.app.store {
        Store::Sqlite(pool) => {
            let mut c = pool.acquire().await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&mut *c).await.unwrap();
            }
        }
        Store::Postgres(pool) => {
            let mut c = pool.acquire().await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&mut *c).await.unwrap();
            }
        }
    }
}

async fn summary_at(server: &TestServer, seq: i64) -> String {
    let q = "SELECT summary FROM audit_events WHERE seq = $1";
    match &server.app.store {
        Store::Sqlite(pool) => sqlx::query_scalar(q).bind(seq).fetch_one(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_scalar(q).bind(seq).fetch_one(pool).await.unwrap(),
    }
}

/// The verification as the service sees it (no audit event of its own, so the chain is still).
async fn verify(server: &TestServer) -> Value {
    serde_json::to_value(audit::verify(&server.app).await.unwrap()).unwrap()
}

fn first_break(report: &Value) -> (String, i64) {
    let b = &report["first_break"];
    assert_eq!(report["ok"], false, "{report}");
    (b["kind"].as_str().unwrap().to_owned(), b["seq"].as_i64().unwrap())
}

async fn tampering_is_detected(server: &TestServer) {
    let w = World::new(server).await;
    w.completed().await;
    audit::seal(&server.app).await.unwrap();
    audit::checkpoint(&server.app).await.unwrap();
    let r = w.admin.get("/api/v1/audit/verify").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ok"], true, "{}", r.text());
    let report = verify(server).await;
    assert_eq!(report["ok"], true, "{report}");
    let last = report["last_seq"].as_i64().unwrap();
    assert!(last > 20, "{report}");
    audit::checkpoint(&server.app).await.unwrap();

    // An edited summary.
    let original = summary_at(server, 5).await;
    sql(
        server,
        &[r#"UPDATE audit_events SET summary = '{"forged":true}' WHERE seq = 5"#.into()],
    )
    .await;
    assert_eq!(first_break(&verify(server).await), ("altered".into(), 5));
    let restore = format!(
        "UPDATE audit_events SET summary = '{}' WHERE seq = 5",
        original.replace('\'', "''")
    );
    sql(server, &[restore]).await;
    assert_eq!(verify(server).await["ok"], true);

    // An edited actor (someone else "did" it).
    sql(
        server,
        &["UPDATE audit_events SET client_ip = '10.9.9.9' WHERE seq = 7".into()],
    )
    .await;
    assert_eq!(first_break(&verify(server).await), ("altered".into(), 7));
    sql(
        server,
        &["UPDATE audit_events SET client_ip = '127.0.0.1' WHERE seq = 7".into()],
    )
    .await;
    assert_eq!(verify(server).await["ok"], true, "{}", verify(server).await);

    // Two events swapped.
    let swap = |a: i64, b: i64| {
        vec![
            format!("UPDATE audit_events SET seq = -1 WHERE seq = {a}"),
            format!("UPDATE audit_events SET seq = {a} WHERE seq = {b}"),
            format!("UPDATE audit_events SET seq = {b} WHERE seq = -1"),
        ]
    };
    sql(server, &swap(3, 4)).await;
    assert_eq!(first_break(&verify(server).await), ("altered".into(), 3));
    sql(server, &swap(3, 4)).await;
    assert_eq!(verify(server).await["ok"], true);

    // An event deleted (and put back).
    sql(
        server,
        &[
            "CREATE TABLE saved AS SELECT * FROM audit_events WHERE seq = 6".into(),
            "DELETE FROM audit_events WHERE seq = 6".into(),
        ],
    )
    .await;
    assert_eq!(first_break(&verify(server).await), ("missing".into(), 6));
    let cli = cli_verify(server).await;
    assert_eq!(cli["first_break"]["kind"], "missing", "{cli}");
    sql(
        server,
        &[
            "INSERT INTO audit_events SELECT * FROM saved".into(),
            "DROP TABLE saved".into(),
        ],
    )
    .await;
    assert_eq!(verify(server).await["ok"], true);

    // The newest events cut off, with the head row made to match: the checkpoint in object
    // storage still remembers how far the chain went.
    let keep = last - 3;
    let head_hash: String = {
        let q = "SELECT hash FROM audit_events WHERE seq = $1";
        match &server.app.store {
            Store::Sqlite(pool) => sqlx::query_scalar(q).bind(keep).fetch_one(pool).await.unwrap(),
            Store::Postgres(pool) => sqlx::query_scalar(q).bind(keep).fetch_one(pool).await.unwrap(),
        }
    };
    sql(
        server,
        &[
            format!("DELETE FROM audit_events WHERE seq > {keep}"),
            format!("UPDATE audit_chain_head SET seq = {keep}, hash = '{head_hash}' WHERE id = 1"),
        ],
    )
    .await;
    let report = verify(server).await;
    assert_eq!(first_break(&report), ("truncated".into(), keep + 1));
    assert!(
        report["first_break"]["detail"]
            .as_str()
            .unwrap()
            .contains("cut off"),
        "{report}"
    );
    // The API names it too, for an admin only.
    let r = w.admin.get("/api/v1/audit/verify").await;
    assert_eq!(r.json()["ok"], false, "{}", r.text());
    w.a.supervisor
        .get("/api/v1/audit/verify")
        .await
        .assert_problem(403, "forbidden");
}

/// `fieldproof audit verify` on the same database and storage; exits 1 on a broken chain.
/// It runs on a blocking thread so that the in-process S3 server keeps answering it.
async fn cli_verify(server: &TestServer) -> Value {
    let vars = server.env.process_env();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fieldproof"))
            .args(["audit", "verify"])
            .envs(vars)
            .env("FIELDPROOF_LOG_FORMAT", "json")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn tampering_in_sqlite_is_detected() {
    let server = TestServer::start(Env::embedded().await).await;
    tampering_is_detected(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn tampering_in_postgres_is_detected() {
    let Some(env) = Env::scaled().await else {
        return;
    };
    let server = TestServer::start(env).await;
    tampering_is_detected(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn logins_are_throttled_audited_and_deactivation_locks_out() {
    let server = TestServer::start(Env::embedded().await).await;
    let w = World::new(&server).await;
    let anonymous = server.anonymous();
    let login = |password: &'static str| {
        let anonymous = anonymous.clone();
        async move {
            anonymous
                .post(
                    "/api/v1/auth/login",
                    &json!({ "username": "agency-a", "password": password }),
                )
                .await
        }
    };
    for _ in 0..5 {
        login("wrong-password")
            .await
            .assert_problem(401, "bad_credentials");
    }
    // The fifth failure blocks the username: even the right password waits, with Retry-After.
    let r = login("agency-a-password").await;
    r.assert_problem(429, "too_many_attempts");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(login("agency-a-password").await.status, 200);
    // Failed logins are in the trail with the name tried and where from.
    let failed: Vec<(String, Option<String>)> = match &server.app.store {
        Store::Sqlite(pool) => {
            sqlx::query_as("SELECT summary, client_ip FROM audit_events WHERE action = 'auth.login_failed'")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        Store::Postgres(_) => unreachable!(),
    };
    assert_eq!(failed.len(), 6);
    assert!(failed[0].0.contains("agency-a"));
    assert_eq!(failed[0].1.as_deref(), Some("127.0.0.1"));

    // A deactivated user's token stops working and they cannot sign in again.
    let users = w.admin.get("/api/v1/users").await.json();
    let id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "insp-a")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.a.inspector.get("/api/v1/auth/me").await.status, 200);
    let r = w
        .admin
        .send(
            w.admin
                .request(reqwest::Method::POST, &format!("/api/v1/users/{id}/deactivate")),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    w.a.inspector
        .get("/api/v1/auth/me")
        .await
        .assert_problem(401, "unauthenticated");
    anonymous
        .post(
            "/api/v1/auth/login",
            &json!({ "username": "insp-a", "password": "insp-a-password" }),
        )
        .await
        .assert_problem(401, "bad_credentials");
    // A deactivated organisation locks out all its users.
    let r = w
        .admin
        .send(w.admin.request(
            reqwest::Method::POST,
            &format!("/api/v1/orgs/{}/deactivate", w.b.agency),
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    w.b.agency_user
        .get("/api/v1/tasks")
        .await
        .assert_problem(401, "unauthenticated");
    let orgs = w.admin.get("/api/v1/orgs").await.json();
    let b = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == w.b.agency.as_str())
        .unwrap();
    assert_eq!(b["active"], false);
    // A new user cannot join it, and a region code that does not exist is refused.
    let r = w
        .admin
        .post(
            "/api/v1/users",
            &json!({ "username": "late", "password": "late-password", "role": "agency", "display_name": "l", "org_id": w.b.agency }),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let r = w
        .admin
        .post(
            "/api/v1/orgs",
            &json!({ "name": "x", "kind": "agency", "region_code": "139999" }),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "region_code");
    server.stop().await;
}

/// Two admins deactivating each other at the same moment: one of them always remains.
async fn one_admin_always_remains(server: &TestServer) {
    let admin = server.admin().await;
    let second = server.user_in(&admin, "admin2", "admin", None).await;
    let users = admin.get("/api/v1/users").await.json();
    let id_of = |name: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (first_id, second_id) = (id_of("admin"), id_of("admin2"));
    let deactivate = |c: &crate::support::server::Client, id: String| {
        let c = c.clone();
        async move {
            c.send(c.request(reqwest::Method::POST, &format!("/api/v1/users/{id}/deactivate")))
                .await
                .status
        }
    };
    let (a, b) = tokio::join!(deactivate(&admin, second_id), deactivate(&second, first_id));
    assert!(!(a == 204 && b == 204), "both admins were deactivated: {a} {b}");
    assert!(a == 204 || b == 204, "neither deactivation went through: {a} {b}");
}

#[tokio::test]
async fn one_admin_always_remains_on_sqlite_and_postgres() {
    let server = TestServer::start(Env::embedded().await).await;
    one_admin_always_remains(&server).await;
    server.stop().await;
    if let Some(env) = Env::scaled().await {
        let server = TestServer::start(env).await;
        one_admin_always_remains(&server).await;
        server.stop().await;
    }
}
