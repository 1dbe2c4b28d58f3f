//! Phones retry: the same PUT again is a no-op, the same id with other content a 409, and an id
//! of someone else's record is not theirs to see; any other POST is safe to retry with an
//! `Idempotency-Key`.

use chrono::Utc;
use serde_json::json;

use crate::flow::{record, site, task};
use crate::support::photos::{self, Exif};
use crate::support::server::{Client, Env, TestServer};

#[tokio::test]
async fn repeated_record_put_is_idempotent_and_different_content_conflicts() {
    let server = TestServer::start(Env::embedded().await).await;
    let admin = server.admin().await;
    let staff = server.staff().await;
    let inspector = server.user(&admin, "inspector1", "inspector").await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let id = uuid::Uuid::new_v4();
    let body = json!({
        "task_id": task["id"], "phase_id": task["phases"][0]["id"], "kind": "inspection",
        "note": "first visit", "device_time": "2026-12-01T08:00:00+08:00",
        "device_location": { "lat": 39.6, "lon": 118.2, "accuracy_m": 12.5 },
    });
    let path = format!("/mobile/v1/records/{id}");
    let first = inspector.put(&path, &body).await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.json()["device_time"], "2026-12-01T00:00:00Z");
    let again = inspector.put(&path, &body).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["received_at"], first.json()["received_at"]);
    let mut changed = body.clone();
    changed["note"] = json!("edited later");
    inspector
        .put(&path, &changed)
        .await
        .assert_problem(409, "record_conflict");
    // Another group's inspector cannot see it, nor claim its id.
    let other_group = server.org(&admin, "Other group", "supervision").await;
    let other = server
        .user_in(&admin, "inspector2", "inspector", Some(&other_group))
        .await;
    other.get(&path).await.assert_problem(404, "not_found");
    other.put(&path, &body).await.assert_problem(404, "not_found");
    assert_eq!(inspector.get(&path).await.json()["note"], "first visit");
    server.stop().await;
}

#[tokio::test]
async fn repeated_photo_put_is_idempotent_and_different_bytes_conflict() {
    let server = TestServer::start(Env::embedded().await).await;
    let admin = server.admin().await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let photo = photos::jpeg(64, 48, &Exif::default());
    let path = format!("/mobile/v1/records/{record_id}/photos/{}", uuid::Uuid::new_v4());
    let first = staff.put_bytes(&path, photo.clone(), "image/jpeg").await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = staff.put_bytes(&path, photo.clone(), "image/jpeg").await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["sha256"], first.json()["sha256"]);
    let other = photos::jpeg(65, 48, &Exif::default());
    staff
        .put_bytes(&path, other, "image/jpeg")
        .await
        .assert_problem(409, "photo_conflict");
    assert_eq!(
        server.app.store.pending_photos().await.unwrap(),
        1,
        "a retry queued the photo twice"
    );
    // Another group's record: 404 before a byte is stored.
    let other_group = server.org(&admin, "Other group", "supervision").await;
    let stranger = server
        .user_in(&admin, "inspector2", "inspector", Some(&other_group))
        .await;
    let foreign = format!("/mobile/v1/records/{record_id}/photos/{}", uuid::Uuid::new_v4());
    stranger
        .put_bytes(&foreign, photo, "image/jpeg")
        .await
        .assert_problem(404, "not_found");
    assert_eq!(server.app.store.pending_photos().await.unwrap(), 1);
    server.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_makes_any_post_safe_to_retry() {
    let mut env = Env::embedded().await;
    env.settings.urge_window_secs = 1;
    let server = TestServer::start(env).await;
    let world = crate::support::world::World::new(&server).await;
    let f = world.issue(1).await;
    let sup = &world.a.supervisor;
    let path = format!("/api/v1/tasks/{}/urges", f.task);
    let urge = |c: &Client, key: Option<&str>, message: &str| {
        let mut req = c
            .request(reqwest::Method::POST, &path)
            .json(&json!({ "message": message }));
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        req
    };
    let urges = || async {
        let task = sup.get(&format!("/api/v1/tasks/{}", f.task)).await.json();
        task["urges"].as_array().unwrap().len()
    };

    let first = sup.send(urge(sup, Some("k1"), "请尽快整改")).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = sup.send(urge(sup, Some("k1"), "请尽快整改")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(urges().await, 1);
    sup.send(urge(sup, Some("k1"), "另一条"))
        .await
        .assert_problem(422, "idempotency_key_reused");
    assert_eq!(urges().await, 1);

    // Keys belong to their user: another user's k1 is a request of its own.
    let other = &world.b.supervisor;
    other
        .send(urge(other, Some("k1"), "请尽快整改"))
        .await
        .assert_problem(404, "not_found");

    // A refusal is an answer too, and is replayed.
    sup.send(urge(sup, Some("k3"), ""))
        .await
        .assert_problem(422, "validation_failed");
    let replayed = sup.send(urge(sup, Some("k3"), "")).await;
    replayed.assert_problem(422, "validation_failed");
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));

    // Five retries racing: one runs, the others wait (409) or get its answer. (A task is
    // urged once per urge window of a second here; wait for the next.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let racing: Vec<_> = (0..5)
        .map(|_| {
            let (c, req) = (sup.clone(), urge(sup, Some("k2"), "第二次催办"));
            tokio::spawn(async move { c.send(req).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in racing {
        statuses.push(handle.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&201));
    assert_eq!(urges().await, 2);

    // Without a key every POST acts; a malformed key is refused.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(sup.send(urge(sup, None, "第三次催办")).await.status, 201);
    assert_eq!(urges().await, 3);
    let twice = sup
        .send(urge(sup, Some("k4"), "x").header("idempotency-key", "k5"))
        .await;
    twice.assert_problem(400, "malformed_request");
    for bad in ["", "has space", &"k".repeat(256)] {
        sup.send(urge(sup, Some(bad), "x"))
            .await
            .assert_problem(400, "malformed_request");
    }
    assert_eq!(urges().await, 3);
}
