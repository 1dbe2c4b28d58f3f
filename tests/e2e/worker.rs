//! The row is the job: leases that lapse are taken over, transient failures retry with
//! back-off, undecodable photos fail with their reason, and nothing is ever dropped.

use chrono::{Duration, Utc};

use crate::flow::{record, site, task, upload};
use crate::support::photos::{self, Exif};
use crate::support::server::{Env, TestServer};

async fn one_photo(server: &TestServer, bytes: Vec<u8>) -> String {
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    upload(&staff, &record_id, bytes).await
}

async fn status(server: &TestServer, id: &str) -> serde_json::Value {
    server
        .admin()
        .await
        .get(&format!("/api/v1/photos/{id}"))
        .await
        .json()
}

async fn lapsed_lease_is_taken_over(server: TestServer) {
    let id = one_photo(&server, photos::jpeg(200, 100, &Exif::default())).await;
    // A worker claims the photo and dies without a word.
    let lease = Duration::milliseconds(300);
    let claimed = server
        .app
        .store
        .claim_photo("dead-worker", Utc::now(), lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.photo.id.to_string(), id);
    assert_eq!(status(&server, &id).await["status"], "processing");
    // While the lease holds, nobody else may take it.
    assert_eq!(server.drain().await, 0);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(server.drain().await, 1);
    let photo = status(&server, &id).await;
    assert_eq!(photo["status"], "done", "{photo}");
    assert_eq!(photo["attempts"], 2);
    // The dead worker's late answer is ignored.
    assert!(
        !server
            .app
            .store
            .renew_lease(claimed.photo.id, "dead-worker", Utc::now() + lease)
            .await
            .unwrap()
    );
    server.stop().await;
}

#[tokio::test]
async fn lapsed_lease_is_taken_over_on_sqlite() {
    lapsed_lease_is_taken_over(TestServer::start(Env::embedded().await).await).await;
}

#[tokio::test]
async fn lapsed_lease_is_taken_over_on_postgres() {
    let Some(env) = Env::scaled().await else { return };
    lapsed_lease_is_taken_over(TestServer::start(env).await).await;
}

#[tokio::test]
async fn concurrent_workers_on_postgres_process_each_photo_once() {
    let Some(env) = Env::scaled().await else { return };
    let server = TestServer::start(env).await;
    let admin = server.admin().await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    for i in 0..12 {
        upload(&staff, &record_id, photos::jpeg(100 + i, 80, &Exif::default())).await;
    }
    let drains = (0..4).map(|_| {
        let worker = fieldproof_media_worker::Worker::new(server.app.clone());
        tokio::spawn(async move { worker.drain().await.unwrap() })
    });
    let mut total = 0;
    for d in drains {
        total += d.await.unwrap();
    }
    assert_eq!(total, 12, "a photo was processed twice or skipped");
    let page = admin.get(&format!("/mobile/v1/records/{record_id}")).await.json();
    assert!(
        page["photos"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "done" && p["error"].is_null())
    );
    server.stop().await;
}

#[tokio::test]
async fn storage_trouble_retries_with_backoff_then_fails_visibly() {
    let mut env = Env::embedded().await;
    env.settings.worker_backoff_secs = 0;
    env.settings.worker_max_attempts = 3;
    let server = TestServer::start(env).await;
    let id = one_photo(&server, photos::jpeg(90, 60, &Exif::default())).await;
    let sha = server
        .app
        .store
        .find_photo(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .sha256;
    let path = server
        .env
        .settings
        .data_dir
        .join("objects")
        .join(fieldproof_core::storage::original_key(&sha));
    let hidden = path.with_extension("hidden");
    std::fs::rename(&path, &hidden).unwrap();
    assert_eq!(server.drain().await, 3, "three attempts, then failed");
    let photo = status(&server, &id).await;
    assert_eq!(photo["status"], "failed", "{photo}");
    assert_eq!(photo["attempts"], 3);
    assert!(
        photo["error"].as_str().unwrap().contains("reading the original"),
        "{photo}"
    );
    std::fs::rename(&hidden, &path).unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_undecodable_photo_fails_with_its_reason() {
    let server = TestServer::start(Env::embedded().await).await;
    // A complete JPEG whose frame is marked lossless (SOF3), which no photo decoder here reads.
    let mut jpeg = photos::jpeg(64, 64, &Exif::default());
    let sof = jpeg.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 1] = 0xC3;
    let id = one_photo(&server, jpeg).await;
    assert_eq!(server.drain().await, 1);
    let photo = status(&server, &id).await;
    assert_eq!(photo["status"], "failed", "{photo}");
    assert_eq!(photo["attempts"], 1, "a permanent failure is not retried");
    assert!(
        photo["error"].as_str().unwrap().contains("cannot be decoded"),
        "{photo}"
    );
    assert!(photo["verification"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn the_same_bytes_twice_are_flagged_as_reuse() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let first_record = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let second_record = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let bytes = photos::jpeg(77, 55, &Exif::default());
    let first = upload(&staff, &first_record, bytes.clone()).await;
    let second = upload(&staff, &second_record, bytes).await;
    server.drain().await;
    let photo = status(&server, &second).await;
    let dup = photo["verification"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "duplicate_photo")
        .unwrap()
        .clone();
    assert_eq!(dup["photo_id"], first.as_str());
    assert_eq!(dup["record_id"], first_record.as_str());
    assert_eq!(photo["verification"]["verdict"], "suspicious");
    server.stop().await;
}
