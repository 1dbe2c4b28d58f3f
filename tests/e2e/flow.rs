//! The main job end to end: an inspector files a record with photos, the worker verifies them,
//! and the task shows the evidence under its phases with their overdue state.

use chrono::{Duration, Utc};
use fieldproof_core::geodesy::GeoPoint;
use serde_json::{Value, json};

use crate::support::photos::{self, Exif};
use crate::support::server::{Client, Env, TestServer};

/// Site of the Pixel fixture (WGS-84), in Central European time.
const PIXEL_SITE: (f64, f64) = (50.2996, 14.8203);

pub async fn site(c: &Client, lat: f64, lon: f64, timezone: &str) -> String {
    let r = c
        .post(
            "/api/v1/sites",
            &json!({ "name": "Steelworks No. 3", "lat": lat, "lon": lon, "datum": "wgs84", "radius_m": 300, "timezone": timezone }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

pub async fn task(c: &Client, site_id: &str) -> Value {
    let now = Utc::now();
    let agency_id = crate::support::server::default_org(c, "agency").await;
    let r = c
        .post(
            "/api/v1/tasks",
            &json!({
                "title": "Cover open coal piles",
                "site_id": site_id,
                "agency_id": agency_id,
                "due_at": now + Duration::days(60),
                "phases": [
                    { "title": "Cover the piles", "due_at": now + Duration::days(10) },
                    { "title": "Install dust nets", "due_at": now + Duration::days(30) },
                ],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

pub async fn record(c: &Client, task_id: &str, device_time: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let r = c
        .put(
            &format!("/mobile/v1/records/{id}"),
            &json!({ "task_id": task_id, "kind": "inspection", "note": "piles uncovered", "device_time": device_time }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    id
}

/// Uploads a JPEG the phone names with `encoded_name` (RFC 8187 percent-encoded UTF-8) in
/// `Content-Disposition`; returns the photo id.
pub async fn upload_named(c: &Client, record_id: &str, bytes: Vec<u8>, encoded_name: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let r = c
        .send(
            c.request(
                reqwest::Method::PUT,
                &format!("/mobile/v1/records/{record_id}/photos/{id}"),
            )
            .header("content-type", "image/jpeg")
            .header(
                "content-disposition",
                format!("attachment; filename*=UTF-8''{encoded_name}"),
            )
            .body(bytes),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    id
}

pub async fn upload(c: &Client, record_id: &str, bytes: Vec<u8>) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let r = c
        .put_bytes(
            &format!("/mobile/v1/records/{record_id}/photos/{id}"),
            bytes,
            "image/jpeg",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "received");
    id
}

fn codes(photo: &Value) -> Vec<String> {
    photo["verification"]["reasons"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| r["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn reason<'a>(photo: &'a Value, code: &str) -> &'a Value {
    photo["verification"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap()
}

/// Tangshan, WGS-84, and the same place as Amap (GCJ-02) shows it, some 560 m off.
const SITE_WGS84: (f64, f64) = (39.6305, 118.1804);
const SITE_GCJ02: (f64, f64) = (39.631807, 118.186677);

/// The README's walk-through, on any backend: a site entered in GCJ-02, a fresh photo taken
/// there (verified), one 2 km away (suspicious), and real phone photos from `../shared`.
async fn walkthrough(server: &TestServer) {
    let admin = server.admin().await;
    let supervisor = server.user(&admin, "supervisor1", "supervisor").await;
    let inspector = server.user(&admin, "inspector1", "inspector").await;
    crate::support::server::default_org(&admin, "agency").await;
    let r = supervisor
        .post(
            "/api/v1/sites",
            &json!({ "name": "Coking plant No. 2", "lat": SITE_GCJ02.0, "lon": SITE_GCJ02.1, "datum": "gcj02", "radius_m": 300 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let location = &r.json()["location"];
    let converted = GeoPoint::new(
        location["lat"].as_f64().unwrap(),
        location["lon"].as_f64().unwrap(),
    )
    .unwrap();
    assert!(
        converted.distance_m(GeoPoint::new(SITE_WGS84.0, SITE_WGS84.1).unwrap()) < 2.0,
        "{location}"
    );
    let site_id = r.json()["id"].as_str().unwrap().to_owned();
    let task = task(&supervisor, &site_id).await;
    let task_id = task["id"].as_str().unwrap();
    let record_id = record(&inspector, task_id, &Utc::now().to_rfc3339()).await;
    let now = Utc::now().format("%Y:%m:%d %H:%M:%S").to_string();
    let at_site = Exif {
        datetime_original: Some(now.clone()),
        offset_time_original: Some("+00:00".into()),
        gps: Some(SITE_WGS84),
        ..Exif::default()
    };
    let far = Exif {
        gps: Some((SITE_WGS84.0 + 0.018, SITE_WGS84.1)),
        ..at_site.clone()
    };
    let fresh = photos::jpeg(1600, 1200, &at_site);
    let verified_id = upload(&inspector, &record_id, fresh.clone()).await;
    let far_id = upload(&inspector, &record_id, photos::jpeg(1600, 1200, &far)).await;

    let before = inspector
        .get(&format!("/api/v1/photos/{verified_id}"))
        .await
        .json();
    assert_eq!(before["status"], "received");
    assert_eq!(server.drain().await, 2);

    let photo = supervisor
        .get(&format!("/api/v1/photos/{verified_id}"))
        .await
        .json();
    assert_eq!(photo["status"], "done", "{photo}");
    assert_eq!(photo["verification"]["verdict"], "verified", "{photo}");
    assert_eq!(photo["bytes"], fresh.len());
    assert_eq!(photo["content_type"], "image/jpeg");
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(1600), Some(1200))
    );
    let photo = supervisor.get(&format!("/api/v1/photos/{far_id}")).await.json();
    assert_eq!(photo["verification"]["verdict"], "suspicious", "{photo}");
    let outside = reason(&photo, "outside_site");
    assert!(
        (1900.0..2100.0).contains(&outside["distance_m"].as_f64().unwrap()),
        "{outside}"
    );
    assert_eq!(outside["allowed_m"], 300.0);
    assert_eq!(codes(&photo), ["outside_site"]);

    // The original comes back byte for byte; thumbnails are JPEGs of the right size, no EXIF.
    let original = supervisor
        .get(&format!("/api/v1/photos/{verified_id}/original"))
        .await;
    assert_eq!(original.status, 200);
    assert_eq!(original.body.as_ref(), fresh.as_slice());
    assert_eq!(original.header("content-type"), Some("image/jpeg"));
    assert_eq!(original.header("x-content-type-options"), Some("nosniff"));
    assert!(
        original
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let etag = original.header("etag").unwrap().to_owned();
    assert!(etag.contains(photo_sha(&supervisor, &verified_id).await.as_str()));
    let again = supervisor
        .send(
            supervisor
                .request(
                    reqwest::Method::GET,
                    &format!("/api/v1/photos/{verified_id}/original"),
                )
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(again.status, 304);
    for (size, edge) in [("small", 256), ("large", 1280)] {
        let t = supervisor
            .get(&format!("/api/v1/photos/{verified_id}/thumbnails/{size}"))
            .await;
        assert_eq!(t.status, 200);
        assert_eq!(t.header("content-type"), Some("image/jpeg"));
        assert!(t.header("etag").is_some() && t.header("cache-control").is_some());
        let img = image::load_from_memory(&t.body).unwrap();
        assert_eq!((img.width(), img.height()), (edge, edge * 3 / 4), "{size}");
        assert!(
            exif::Reader::new()
                .read_from_container(&mut std::io::Cursor::new(&t.body))
                .is_err(),
            "thumbnail carries EXIF"
        );
    }

    // The task page shows the phases with their overdue state and the evidence under the record.
    let page = supervisor.get(&format!("/api/v1/tasks/{task_id}")).await.json();
    assert_eq!(page["phases"].as_array().unwrap().len(), 2);
    assert_eq!(page["phases"][0]["overdue"], false);
    let shown = &page["records"][0]["photos"];
    assert_eq!(shown.as_array().unwrap().len(), 2);
    assert_eq!(shown[0]["verdict"], "verified");
    assert_eq!(shown[1]["verdict"], "suspicious");
    let mobile = inspector
        .get(&format!("/mobile/v1/records/{record_id}"))
        .await
        .json();
    assert_eq!(mobile["photos"][1]["reasons"][0]["code"], "outside_site");

    // The list pages with a cursor and filters on overdue state, on every backend.
    let second = crate::flow::task(&supervisor, &site_id).await;
    let first_page = supervisor.get("/api/v1/tasks?limit=1&overdue=false").await.json();
    assert_eq!(first_page["items"][0]["id"], task_id);
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let next = supervisor
        .get(&format!("/api/v1/tasks?limit=1&cursor={cursor}"))
        .await
        .json();
    assert_eq!(next["items"][0]["id"], second["id"]);
    assert_eq!(
        supervisor.get("/api/v1/tasks?overdue=true").await.json()["items"],
        json!([])
    );

    // Real phone photos: an old one is reused evidence, and a Photoshopped one from Poland is
    // far away, edited and old.
    let Some(pixel) = photos::shared("exifr-pixel-tiny.jpg") else {
        eprintln!("../shared/fixtures/photos is not there; the real-photo part is skipped");
        return;
    };
    let edited = photos::shared("photoprism-xiaomi-mia1-photoshop.jpg").unwrap();
    let old_id = upload(&inspector, &record_id, pixel.clone()).await;
    let edited_id = upload(&inspector, &record_id, edited).await;
    server.drain().await;
    let old = supervisor.get(&format!("/api/v1/photos/{old_id}")).await.json();
    assert_eq!(old["verification"]["verdict"], "suspicious", "{old}");
    assert!(codes(&old).contains(&"time_before_task".to_owned()), "{old}");
    assert_eq!(old["exif"]["make"], "Google");
    let t = supervisor
        .get(&format!("/api/v1/photos/{old_id}/thumbnails/large"))
        .await;
    assert_eq!(
        image::load_from_memory(&t.body).unwrap().width(),
        1012,
        "never upscaled"
    );
    let original = supervisor.get(&format!("/api/v1/photos/{old_id}/original")).await;
    assert_eq!(original.body.as_ref(), pixel.as_slice());
    let edited = supervisor
        .get(&format!("/api/v1/photos/{edited_id}"))
        .await
        .json();
    let found = codes(&edited);
    for code in ["time_before_task", "outside_site", "edited_by_software"] {
        assert!(found.contains(&code.to_owned()), "{code} missing: {edited}");
    }
    assert!(reason(&edited, "outside_site")["distance_m"].as_f64().unwrap() > 6_000_000.0);
}

async fn photo_sha(c: &Client, id: &str) -> String {
    c.get(&format!("/api/v1/photos/{id}")).await.json()["sha256"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn walkthrough_on_sqlite_and_filesystem() {
    let server = TestServer::start(Env::embedded().await).await;
    walkthrough(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn walkthrough_on_postgres_and_s3() {
    let Some(env) = Env::scaled().await else { return };
    let server = TestServer::start(env).await;
    walkthrough(&server).await;
    // The objects really are in the bucket, under server-made keys.
    let s3 = server.env.s3.as_ref().unwrap().client();
    let listed = s3
        .list_objects_v2()
        .bucket(crate::support::server::BUCKET)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    let photos = if photos::shared_dir().is_some() { 4 } else { 2 };
    let count = |prefix: &str| keys.iter().filter(|k| k.starts_with(prefix)).count();
    assert_eq!(count("originals/"), photos, "{keys:?}");
    assert_eq!(count("thumbnails/"), 2 * photos, "{keys:?}");
    server.stop().await;
}

/// Every readable fixture's EXIF values match the manifest (GPS within 1 m, time to the second).
#[tokio::test]
async fn exif_values_match_the_manifest() {
    let Some(manifest) = photos::manifest() else {
        eprintln!("skipping: ../shared/fixtures/photos is not there");
        return;
    };
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, PIXEL_SITE.0, PIXEL_SITE.1, "UTC").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), "2018-07-25T14:40:00Z").await;
    let mut checked = 0;
    for (name, row) in &manifest {
        let bytes = photos::shared(name).unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        let r = staff
            .put_bytes(
                &format!("/mobile/v1/records/{record_id}/photos/{id}"),
                bytes,
                "image/jpeg",
            )
            .await;
        if r.status != 201 {
            // Refused at the door: must be one of the broken or unsupported files, with a clear code.
            let code = r.json()["code"].as_str().unwrap().to_owned();
            assert!(
                matches!(
                    code.as_str(),
                    "empty_file" | "image_truncated" | "unsupported_type"
                ),
                "{name}: {} {}",
                r.status,
                r.text()
            );
            continue;
        }
        server.drain().await;
        let photo = staff.get(&format!("/api/v1/photos/{id}")).await.json();
        assert_eq!(photo["status"], "done", "{name}: {photo}");
        check_against_manifest(name, row, &photo);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} fixtures were processed");
    server.stop().await;
}

fn check_against_manifest(name: &str, row: &photos::ManifestRow, photo: &Value) {
    let exif = &photo["exif"];
    let orientation: Option<u16> = row["orientation"].parse().ok();
    let (w, h): (i64, i64) = (row["width"].parse().unwrap(), row["height"].parse().unwrap());
    let (dw, dh) = if matches!(orientation, Some(5..=8)) {
        (h, w)
    } else {
        (w, h)
    };
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(dw), Some(dh)),
        "{name} size: {photo}"
    );
    if let Some(o) = orientation {
        assert_eq!(
            exif["orientation"].as_u64(),
            Some(u64::from(o)),
            "{name} orientation"
        );
    }
    for key in ["make", "model"] {
        if !row[key].is_empty() {
            assert_eq!(exif[key], row[key].as_str(), "{name} {key}");
        }
    }
    let dt = row["datetime_original"].trim();
    if let Ok(local) = chrono::NaiveDateTime::parse_from_str(dt, "%Y:%m:%d %H:%M:%S") {
        let ours = exif["captured_at_local"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no capture time"));
        assert_eq!(
            &ours[..19],
            local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "{name} capture time"
        );
        let offset = row["offset_time_original"].trim();
        if !offset.is_empty() {
            let fixed: chrono::FixedOffset = offset.parse().unwrap();
            let utc = local.and_local_timezone(fixed).unwrap().with_timezone(&Utc);
            let ours: chrono::DateTime<Utc> = exif["captured_at"].as_str().unwrap().parse().unwrap();
            assert_eq!(ours.timestamp(), utc.timestamp(), "{name} UTC capture time");
        }
    } else {
        assert!(exif["captured_at"].is_null(), "{name}: blank date read as a time");
    }
    let (lat, lon) = (row["gps_lat"].parse::<f64>(), row["gps_lon"].parse::<f64>());
    match (lat, lon) {
        (Ok(lat), Ok(lon)) if lat.abs() <= 90.0 && (lat, lon) != (0.0, 0.0) => {
            let g = &exif["gps"];
            let ours = GeoPoint::new(g["lat"].as_f64().unwrap(), g["lon"].as_f64().unwrap()).unwrap();
            let d = ours.distance_m(GeoPoint::new(lat, lon).unwrap());
            assert!(d < 1.0, "{name}: GPS {d} m off");
        }
        (Ok(_), Ok(_)) => {
            assert!(exif["gps"].is_null(), "{name}: invalid GPS was accepted");
            assert!(
                codes(photo).contains(&"gps_invalid".to_owned()),
                "{name}: {photo}"
            );
        }
        _ => assert!(exif["gps"].is_null(), "{name}: GPS out of nowhere"),
    }
}

/// Without `../shared`: generated photos cover each verdict.
#[tokio::test]
async fn generated_photos_get_the_right_verdicts() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let (lat, lon) = (39.6305, 118.1804);
    let site_id = site(&staff, lat, lon, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let stamp = today.format("%Y:%m:%d %H:%M:%S").to_string();
    let cases = [
        (
            "verified",
            Exif {
                datetime_original: Some(stamp.clone()),
                gps: Some((lat + 0.001, lon)),
                ..Exif::default()
            },
            vec![],
        ),
        (
            "suspicious",
            Exif {
                datetime_original: Some(stamp.clone()),
                gps: Some((lat + 4.5, lon)),
                ..Exif::default()
            },
            vec!["outside_site"],
        ),
        ("unverifiable", Exif::default(), vec!["no_exif", "no_gps"]),
        (
            "suspicious",
            Exif {
                datetime_original: Some(
                    (today + Duration::days(2))
                        .format("%Y:%m:%d %H:%M:%S")
                        .to_string(),
                ),
                gps: Some((lat, lon)),
                ..Exif::default()
            },
            vec!["time_in_future"],
        ),
        (
            "suspicious",
            Exif {
                datetime_original: Some("2020:01:01 08:00:00".into()),
                offset_time_original: Some("+08:00".into()),
                gps: Some((lat, lon)),
                ..Exif::default()
            },
            vec!["time_before_task"],
        ),
        (
            "unverifiable",
            Exif {
                gps: Some((lat, lon)),
                orientation: Some(1),
                ..Exif::default()
            },
            vec!["no_capture_time"],
        ),
    ];
    let mut ids = Vec::new();
    for (i, (_, exif, _)) in cases.iter().enumerate() {
        // Vary the size so no two photos share bytes.
        ids.push(
            upload(
                &staff,
                &record_id,
                photos::scene_jpeg(320 + i as u32, 240, 1 + i as u32, exif),
            )
            .await,
        );
    }
    server.drain().await;
    for ((verdict, _, expected), id) in cases.iter().zip(&ids) {
        let photo = staff.get(&format!("/api/v1/photos/{id}")).await.json();
        assert_eq!(photo["verification"]["verdict"], *verdict, "{photo}");
        assert_eq!(codes(&photo), *expected, "{photo}");
    }
    // A record made for another day: a photo taken today is outside its window.
    let later = (Utc::now() + Duration::days(2)).to_rfc3339();
    let other_day = record(&staff, task["id"].as_str().unwrap(), &later).await;
    let exif = Exif {
        datetime_original: Some(stamp.clone()),
        gps: Some((lat, lon)),
        ..Exif::default()
    };
    let id = upload(&staff, &other_day, photos::scene_jpeg(300, 200, 20, &exif)).await;
    // No GPS in the photo: the phone's own fix is weaker evidence, never "verified".
    let fixed = uuid::Uuid::new_v4().to_string();
    let body = json!({ "task_id": task["id"], "kind": "inspection", "note": "", "device_time": Utc::now(),
        "device_location": { "lat": lat, "lon": lon, "accuracy_m": 5e6 } });
    assert_eq!(
        staff
            .put(&format!("/mobile/v1/records/{fixed}"), &body)
            .await
            .status,
        422
    );
    let mut body = body;
    body["device_location"]["accuracy_m"] = json!(8.0);
    assert_eq!(
        staff
            .put(&format!("/mobile/v1/records/{fixed}"), &body)
            .await
            .status,
        201
    );
    let no_gps = Exif {
        datetime_original: Some(stamp.clone()),
        ..Exif::default()
    };
    let fix_id = upload(&staff, &fixed, photos::scene_jpeg(301, 200, 21, &no_gps)).await;
    server.drain().await;
    let photo = staff.get(&format!("/api/v1/photos/{id}")).await.json();
    assert_eq!(codes(&photo), ["time_outside_window"], "{photo}");
    let photo = staff.get(&format!("/api/v1/photos/{fix_id}")).await.json();
    assert_eq!(photo["verification"]["verdict"], "unverifiable", "{photo}");
    assert_eq!(codes(&photo), ["device_fix_used"], "{photo}");

    let far = staff.get(&format!("/api/v1/photos/{}", ids[1])).await.json();
    let d = reason(&far, "outside_site")["distance_m"].as_f64().unwrap();
    assert!(
        (499_000.0..502_000.0).contains(&d),
        "4.5° of latitude is about 500 km, got {d}"
    );
    server.stop().await;
}

/// All eight orientations, mirrored ones too: the red quadrant ends up where a viewer sees it.
#[tokio::test]
async fn thumbnails_respect_all_eight_orientations() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    // Stored 400×300 with red top-left. Where the red quadrant appears after applying each
    // orientation (as [right?, bottom?]) and whether width and height swap.
    let expected = [
        (1, false, false, false),
        (2, true, false, false),
        (3, true, true, false),
        (4, false, true, false),
        (5, false, false, true),
        (6, true, false, true),
        (7, true, true, true),
        (8, false, true, true),
    ];
    let mut ids = Vec::new();
    for (o, ..) in expected {
        let exif = Exif {
            orientation: Some(o),
            ..Exif::default()
        };
        ids.push(upload(&staff, &record_id, photos::jpeg(400, 300, &exif)).await);
    }
    server.drain().await;
    for ((o, right, bottom, swapped), id) in expected.iter().zip(&ids) {
        let t = staff.get(&format!("/api/v1/photos/{id}/thumbnails/small")).await;
        let img = image::load_from_memory(&t.body).unwrap().to_rgb8();
        let (w, h) = img.dimensions();
        assert_eq!((w > h), !swapped, "orientation {o}: {w}×{h}");
        assert_eq!(w.max(h), 256);
        let x = if *right { w * 3 / 4 } else { w / 4 };
        let y = if *bottom { h * 3 / 4 } else { h / 4 };
        let px = img.get_pixel(x, y);
        assert!(
            px[0] > 150 && px[2] < 100,
            "orientation {o}: expected red at ({x},{y}), got {px:?}"
        );
    }
    server.stop().await;
}

/// A phase past its due date without an accepted report is overdue, on the task and in the list.
#[tokio::test]
async fn overdue_phases_show_and_filter() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let soon = task(&staff, &site_id).await;
    let later = task(&staff, &site_id).await;
    let soon_id = soon["id"].as_str().unwrap();
    let phase_id = soon["phases"][0]["id"].as_str().unwrap();
    // Let the first phase's due date pass, as time would.
    let past = Utc::now() - Duration::hours(1);
    match &server.app.store {
        fieldproof_core::store::Store::Sqlite(pool) => {
            sqlx::query("UPDATE phases SET due_at = $1 WHERE id = $2")
                .bind(past)
                .bind(uuid::Uuid::parse_str(phase_id).unwrap())
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("UPDATE tasks SET next_due_at = $1 WHERE id = $2")
                .bind(past)
                .bind(uuid::Uuid::parse_str(soon_id).unwrap())
                .execute(pool)
                .await
                .unwrap();
        }
        fieldproof_core::store::Store::Postgres(_) => unreachable!(),
    }
    let page = staff.get(&format!("/api/v1/tasks/{soon_id}")).await.json();
    assert_eq!(page["overdue"], true);
    assert_eq!(page["phases"][0]["overdue"], true);
    assert_eq!(page["phases"][1]["overdue"], false);
    let overdue = staff.get("/api/v1/tasks?overdue=true").await.json();
    let ids: Vec<_> = overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [soon_id]);
    assert_eq!(overdue["items"][0]["overdue_phase_count"], 1);
    let on_time = staff.get("/api/v1/tasks?overdue=false").await.json();
    let ids: Vec<_> = on_time["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [later["id"].as_str().unwrap()]);
    server.stop().await;
}
