//! The row is the job: leases that lapse are taken over, transient failures retry with
//! back-off, undecodable photos fail with their reason, and nothing is ever dropped.

use chrono::{Duration, Utc};

use crate::flow::{record, site, task, upload};
use crate::support::photos::{self, Exif};
use crate::support::server::{Client, Env, TestServer};

async fn one_photo(server: &TestServer, bytes: Vec<u8>) -> String {
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    upload(&staff, &record_id, bytes).await
}

/// Where the embedded store keeps the original of photo `id`.
async fn original_path(server: &TestServer, id: &str) -> std::path::PathBuf {
    let sha = server
        .app
        .store
        .find_photo(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .sha256;
    server
        .env
        .settings
        .data_dir
        .join("objects")
        .join(fieldproof_core::storage::original_key(&sha))
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
    let path = original_path(&server, &id).await;
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
    // A complete JPEG whose frame claims 7-bit samples, which no JPEG decoder reads.
    let mut jpeg = photos::jpeg(64, 64, &Exif::default());
    let sof = jpeg.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 4] = 7;
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

#[tokio::test]
async fn reuse_across_organisations_is_flagged_without_naming_the_other() {
    let server = TestServer::start(Env::embedded().await).await;
    let world = crate::support::world::World::new(&server).await;
    let bytes = photos::jpeg(81, 57, &Exif::default());
    let mut records = Vec::new();
    for side in [&world.a, &world.b] {
        let site_id = site(&side.supervisor, 39.6, 118.2, "Asia/Shanghai").await;
        let task = task_for(&side.supervisor, &site_id, &side.agency).await;
        records.push(record(&side.inspector, &task, &Utc::now().to_rfc3339()).await);
    }
    upload(&world.a.inspector, &records[0], bytes.clone()).await;
    let theirs = upload(&world.b.inspector, &records[1], bytes).await;
    server.drain().await;
    let photo = world
        .b
        .supervisor
        .get(&format!("/api/v1/photos/{theirs}"))
        .await
        .json();
    let reasons = photo["verification"]["reasons"].as_array().unwrap();
    let dup = reasons.iter().find(|r| r["code"] == "duplicate_photo").unwrap();
    assert_eq!(
        dup,
        &serde_json::json!({ "code": "duplicate_photo", "elsewhere": true })
    );
    assert_eq!(photo["verification"]["verdict"], "suspicious");
}

/// A task of `agency` issued by the supervisor `c`; returns its id.
async fn task_for(c: &Client, site_id: &str, agency: &str) -> String {
    let now = Utc::now();
    let r = c
        .post(
            "/api/v1/tasks",
            &serde_json::json!({
                "title": "煤场苫盖", "site_id": site_id, "agency_id": agency,
                "due_at": now + Duration::days(30),
                "phases": [{ "title": "苫盖", "due_at": now + Duration::days(10) }],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_storage_outage_is_retried_and_loses_nothing() {
    let mut env = Env::embedded().await;
    env.settings.worker_backoff_secs = 0;
    let server = TestServer::start(env).await;
    let id = one_photo(&server, photos::jpeg(90, 60, &Exif::default())).await;
    let path = original_path(&server, &id).await;
    let hidden = path.with_extension("hidden");
    std::fs::rename(&path, &hidden).unwrap();
    let worker = fieldproof_media_worker::Worker::new(server.app.clone());
    assert_eq!(
        worker.process_next().await.unwrap(),
        fieldproof_media_worker::Step::Worked
    );
    let photo = status(&server, &id).await;
    assert_eq!(photo["status"], "received", "scheduled for another try: {photo}");
    std::fs::rename(&hidden, &path).unwrap();
    server.drain().await;
    let photo = status(&server, &id).await;
    assert_eq!(photo["status"], "done", "{photo}");
    assert_eq!(photo["attempts"], 2);
    assert!(photo["error"].is_null(), "{photo}");
    server.stop().await;
}

/// The photo re-saved smaller at a lower quality: other bytes, the same picture.
fn resaved(bytes: &[u8], width: u32, quality: u8) -> Vec<u8> {
    let smaller = image::load_from_memory(bytes)
        .unwrap()
        .resize(width, width, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&smaller)
        .unwrap();
    out
}

async fn similar_photos_in_other_records_are_flagged(server: TestServer) {
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let task_id = task["id"].as_str().unwrap();
    let first_record = record(&staff, task_id, &Utc::now().to_rfc3339()).await;
    let second_record = record(&staff, task_id, &Utc::now().to_rfc3339()).await;
    let exif = Exif {
        datetime_original: Some(Utc::now().format("%Y:%m:%d %H:%M:%S").to_string()),
        offset_time_original: Some("+00:00".into()),
        gps: Some((39.6, 118.2)),
        ..Exif::default()
    };
    let original = photos::jpeg(1600, 1200, &exif);
    let first = upload(&staff, &first_record, original.clone()).await;
    server.drain().await;
    // Another shot of the same record looks alike too, and that is fine.
    let same_record = upload(&staff, &first_record, resaved(&original, 1400, 85)).await;
    let copy = upload(&staff, &second_record, resaved(&original, 800, 60)).await;
    let unrelated_exif = Exif {
        orientation: Some(3),
        ..exif.clone()
    };
    let unrelated = upload(&staff, &second_record, photos::jpeg(1600, 1200, &unrelated_exif)).await;
    server.drain().await;
    let codes = |photo: &serde_json::Value| -> Vec<String> {
        photo["verification"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let photo = status(&server, &copy).await;
    let similar = photo["verification"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "similar_photo")
        .unwrap_or_else(|| panic!("not flagged: {photo}"))
        .clone();
    assert_eq!(similar["photo_id"], first.as_str());
    assert_eq!(similar["record_id"], first_record.as_str());
    assert_eq!(similar["task_id"], task_id);
    assert!(similar["distance"].as_u64().unwrap() <= 6, "{similar}");
    assert_eq!(photo["verification"]["verdict"], "suspicious");
    for id in [&same_record, &unrelated] {
        let photo = status(&server, id).await;
        assert!(!codes(&photo).contains(&"similar_photo".to_owned()), "{photo}");
    }
    server.stop().await;
}

#[tokio::test]
async fn similar_photos_are_flagged_on_sqlite() {
    similar_photos_in_other_records_are_flagged(TestServer::start(Env::embedded().await).await).await;
}

#[tokio::test]
async fn similar_photos_are_flagged_on_postgres() {
    let Some(env) = Env::scaled().await else { return };
    similar_photos_in_other_records_are_flagged(TestServer::start(env).await).await;
}

#[tokio::test]
async fn thumbnails_can_be_webp() {
    let mut env = Env::embedded().await;
    env.settings.thumbnail_format = fieldproof_core::config::ThumbFormat::Webp;
    let server = TestServer::start(env).await;
    let id = one_photo(&server, photos::jpeg(900, 600, &Exif::default())).await;
    server.drain().await;
    let admin = server.admin().await;
    for size in ["small", "large"] {
        let t = admin.get(&format!("/api/v1/photos/{id}/thumbnails/{size}")).await;
        assert_eq!(t.status, 200);
        assert_eq!(t.header("content-type"), Some("image/webp"));
        assert!(t.body.starts_with(b"RIFF") && &t.body[8..12] == b"WEBP");
    }
    server.stop().await;
}
