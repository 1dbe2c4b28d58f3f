//! Hostile and malformed input: a clear problem+json, no panic, and nothing stored.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::flow::{record, site, task};
use crate::support::photos::{self, Exif};
use crate::support::server::{Client, Env, TestServer};

/// Files under the object store's directory, to prove that a refusal stored nothing.
fn stored_objects(server: &TestServer) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&server.env.settings.data_dir.join("objects/originals"))
}

/// A server with a record filed by the default group's supervisor, who is returned.
async fn setup() -> (TestServer, Client, String) {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    (server, staff, record_id)
}

/// A JPEG whose frame header claims `w`×`h` (recipe R1 of BAD-INPUTS.md).
fn with_declared_size(mut jpeg: Vec<u8>, w: u16, h: u16) -> Vec<u8> {
    let sof = jpeg
        .windows(2)
        .position(|p| p[0] == 0xFF && matches!(p[1], 0xC0..=0xC2))
        .unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    jpeg
}

#[tokio::test]
async fn bad_photo_bodies_are_refused_and_nothing_is_stored() {
    let (server, staff, record_id) = setup().await;
    let good = photos::jpeg(120, 90, &Exif::default());
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "pdf sent as jpeg",
            b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".to_vec(),
            415,
            "unsupported_type",
        ),
        (
            "svg renamed .jpg",
            br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#.to_vec(),
            415,
            "unsupported_type",
        ),
        (
            "html",
            b"<html><script>alert(1)</script></html>".to_vec(),
            415,
            "unsupported_type",
        ),
        ("zero bytes", Vec::new(), 422, "empty_file"),
        (
            "truncated at half",
            good[..good.len() / 2].to_vec(),
            422,
            "image_truncated",
        ),
        (
            "60000x60000 bomb",
            with_declared_size(good.clone(), 60000, 60000),
            422,
            "image_too_large",
        ),
    ];
    for (what, bytes, status, code) in cases {
        let path = format!("/mobile/v1/records/{record_id}/photos/{}", uuid::Uuid::new_v4());
        let r = staff.put_bytes(&path, bytes, "image/jpeg").await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        r.assert_problem(status, code);
        assert!(
            !r.text().contains("/tmp") && !r.text().contains("originals/"),
            "{what} leaked a path: {}",
            r.text()
        );
    }
    let path = format!("/mobile/v1/records/{record_id}/photos/{}", uuid::Uuid::new_v4());
    let form = staff
        .put_bytes(&path, good.clone(), "multipart/form-data; boundary=x")
        .await;
    form.assert_problem(415, "unsupported_type");
    assert!(form.json()["detail"].as_str().unwrap().contains("multipart"));
    // Over the upload limit: refused from Content-Length, and from the stream when chunked.
    let big = vec![0xFFu8; 9 * 1024 * 1024];
    let path = format!("/mobile/v1/records/{record_id}/photos/{}", uuid::Uuid::new_v4());
    staff
        .put_bytes(&path, big.clone(), "image/jpeg")
        .await
        .assert_problem(413, "payload_too_large");
    let stream = chunked(&big);
    let r = staff
        .send(
            staff
                .request(reqwest::Method::PUT, &path)
                .header("content-type", "image/jpeg")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    r.assert_problem(413, "payload_too_large");
    assert_eq!(server.app.store.pending_photos().await.unwrap(), 0);
    assert_eq!(stored_objects(&server), 0);
    let staging = std::fs::read_dir(server.env.settings.data_dir.join("staging"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staging, 0, "staging files were left behind");
    // The real truncated fixtures too, when present.
    for name in [
        "photoprism-truncated.jpg",
        "photoprism-empty.jpg",
        "pillow-pixel6-ultrahdr.jpg",
    ] {
        if let Some(bytes) = photos::shared(name) {
            let path = format!("/mobile/v1/records/{record_id}/photos/{}", uuid::Uuid::new_v4());
            let r = staff.put_bytes(&path, bytes, "image/jpeg").await;
            assert_eq!(r.status, 422, "{name}: {}", r.text());
        }
    }
    assert_eq!(stored_objects(&server), 0);
    server.stop().await;
}

fn chunked(
    bytes: &[u8],
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let chunks: Vec<_> = bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    futures_util::stream::iter(chunks)
}

#[tokio::test]
async fn bad_json_and_bad_references_are_refused() {
    let (server, staff, record_id) = setup().await;
    let raw = |body: &'static str| {
        staff
            .request(reqwest::Method::POST, "/api/v1/sites")
            .header("content-type", "application/json")
            .body(body)
    };
    staff
        .send(raw("{\"name\": "))
        .await
        .assert_problem(400, "malformed_request");
    staff
        .send(raw("{\"lat\": NaN}"))
        .await
        .assert_problem(400, "malformed_request");
    staff
        .send(raw(
            "{\"name\":\"x\",\"lat\":1e400,\"lon\":1,\"datum\":\"wgs84\",\"radius_m\":1}",
        ))
        .await
        .assert_problem(400, "malformed_request");
    let deep: &'static str =
        Box::leak(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_boxed_str());
    staff
        .send(raw(deep))
        .await
        .assert_problem(400, "malformed_request");
    staff
        .send(
            staff
                .request(reqwest::Method::POST, "/api/v1/sites")
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await
        .assert_problem(415, "unsupported_type");
    let huge =
        json!({ "name": "A".repeat(2 * 1024 * 1024), "lat": 1, "lon": 1, "datum": "wgs84", "radius_m": 1 });
    staff
        .post("/api/v1/sites", &huge)
        .await
        .assert_problem(413, "payload_too_large");

    let site = |lat: f64, radius: f64| json!({ "name": "x", "lat": lat, "lon": 181, "datum": "wgs84", "radius_m": radius });
    let r = staff.post("/api/v1/sites", &site(91.0, -5.0)).await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<_> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["lat", "lon", "radius_m"]);
    let r = staff
        .post(
            "/api/v1/sites",
            &json!({ "name": "x", "lat": 1, "lon": 1, "datum": "wgs84" }),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "radius_m", "{}", r.text());
    let r = staff
        .post(
            "/api/v1/sites",
            &json!({ "name": "x", "lat": 1, "lon": 1, "datum": "osgb", "radius_m": 5 }),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "datum", "{}", r.text());

    let unknown = uuid::Uuid::new_v4();
    let r = staff
        .put(
            &format!("/mobile/v1/records/{}", uuid::Uuid::new_v4()),
            &json!({ "task_id": unknown, "kind": "inspection", "note": "", "device_time": Utc::now() }),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "task_id");
    let record = staff.get(&format!("/mobile/v1/records/{record_id}")).await.json();
    let r = staff
        .put(
            &format!("/mobile/v1/records/{}", uuid::Uuid::new_v4()),
            &json!({ "task_id": record["task_id"], "phase_id": unknown, "kind": "inspection", "note": "", "device_time": Utc::now() }),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["field"], "phase_id", "{}", r.text());
    let r = staff
        .post(
            "/api/v1/tasks",
            &json!({ "title": "t", "site_id": unknown, "due_at": Utc::now() + Duration::days(2), "phases": [{ "title": "p", "due_at": Utc::now() + Duration::days(1) }] }),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    staff
        .get("/api/v1/tasks/not-a-uuid")
        .await
        .assert_problem(400, "malformed_request");
    staff
        .get(&format!("/api/v1/tasks/{unknown}"))
        .await
        .assert_problem(404, "not_found");
    staff
        .get(&format!("/api/v1/photos/{unknown}"))
        .await
        .assert_problem(404, "not_found");
    staff
        .get("/api/v1/tasks?status=open'--")
        .await
        .assert_problem(422, "validation_failed");
    staff
        .get("/api/v1/tasks?region=999999")
        .await
        .assert_problem(422, "validation_failed");
    staff
        .get("/api/v1/tasks?cursor=not-a-cursor")
        .await
        .assert_problem(422, "validation_failed");
    staff
        .get("/api/v1/tasks?overdue=maybe")
        .await
        .assert_problem(400, "malformed_request");
    staff
        .get("/api/v1/tasks?limit=100000")
        .await
        .assert_problem(422, "validation_failed");
    staff
        .send(staff.request(reqwest::Method::DELETE, "/api/v1/tasks"))
        .await
        .assert_problem(405, "method_not_allowed");
    staff
        .get("/api/v1/nothing-here")
        .await
        .assert_problem(404, "not_found");
    // Nothing was created by any of it.
    let tasks = staff.get("/api/v1/tasks").await.json();
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn authentication_and_roles_are_enforced() {
    let (server, staff, record_id) = setup().await;
    let admin = server.admin().await;
    let anonymous = server.anonymous();
    let r = anonymous.get("/api/v1/tasks").await;
    r.assert_problem(401, "unauthenticated");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    let mut forged = server.anonymous();
    forged.token = Some("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiJ9.".into());
    forged
        .get(&format!("/mobile/v1/records/{record_id}"))
        .await
        .assert_problem(401, "unauthenticated");
    let r = anonymous
        .post(
            "/api/v1/auth/login",
            &json!({ "username": "admin", "password": "wrong-password" }),
        )
        .await;
    r.assert_problem(401, "bad_credentials");
    let r = anonymous
        .post(
            "/api/v1/auth/login",
            &json!({ "username": "admin", "password": "x".repeat(2000) }),
        )
        .await;
    r.assert_problem(400, "malformed_request");

    let other_agency = server.org(&admin, "Other agency", "agency").await;
    let agency = server
        .user_in(&admin, "agency1", "agency", Some(&other_agency))
        .await;
    agency
        .post(
            "/api/v1/sites",
            &json!({ "name": "x", "lat": 1, "lon": 1, "datum": "wgs84", "radius_m": 5 }),
        )
        .await
        .assert_problem(403, "forbidden");
    agency
        .post("/api/v1/users", &json!({ "username": "mallory", "password": "password123", "role": "admin", "display_name": "m" }))
        .await
        .assert_problem(403, "forbidden");
    let task_id = staff.get(&format!("/mobile/v1/records/{record_id}")).await.json()["task_id"].clone();
    agency
        .put(
            &format!("/mobile/v1/records/{}", uuid::Uuid::new_v4()),
            &json!({ "task_id": task_id, "kind": "inspection", "note": "", "device_time": Utc::now() }),
        )
        .await
        .assert_problem(403, "forbidden");
    agency
        .get(&format!("/mobile/v1/records/{record_id}"))
        .await
        .assert_problem(404, "not_found");
    admin
        .post("/api/v1/users", &json!({ "username": "agency1", "password": "password123", "role": "admin", "display_name": "dup" }))
        .await
        .assert_problem(409, "username_taken");

    // Logout revokes exactly that token.
    let r = agency
        .send(agency.request(reqwest::Method::POST, "/api/v1/auth/logout"))
        .await;
    assert_eq!(r.status, 204);
    agency
        .get("/api/v1/auth/me")
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(admin.get("/api/v1/auth/me").await.json()["username"], "admin");
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_upload_is_cut_off_and_stores_nothing() {
    let mut env = Env::embedded().await;
    env.settings.upload_idle_secs = 1;
    let server = TestServer::start(env).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let head = photos::jpeg(64, 64, &Exif::default())[..100].to_vec();
    // A few bytes, then silence: a slow-body client.
    let slow = futures_util::stream::unfold(0, move |step| {
        let head = head.clone();
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>(head), 1)),
                1 => {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    None
                }
                _ => None,
            }
        }
    });
    let path = format!("/mobile/v1/records/{record_id}/photos/{}", uuid::Uuid::new_v4());
    let r = staff
        .send(
            staff
                .request(reqwest::Method::PUT, &path)
                .header("content-type", "image/jpeg")
                .body(reqwest::Body::wrap_stream(slow)),
        )
        .await;
    r.assert_problem(408, "upload_stalled");
    assert_eq!(server.app.store.pending_photos().await.unwrap(), 0);
    // The same for a JSON body that never finishes (B40), even before signing in.
    let slow_json = futures_util::stream::unfold(0, |step| async move {
        match step {
            0 => Some((Ok::<_, std::io::Error>(b"{\"username\":".to_vec()), 1)),
            1 => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                None
            }
            _ => None,
        }
    });
    let r = server
        .anonymous()
        .send(
            server
                .anonymous()
                .request(reqwest::Method::POST, "/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(slow_json)),
        )
        .await;
    r.assert_problem(408, "upload_stalled");
    assert_eq!(stored_objects(&server), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_photo_needing_more_decoder_memory_than_allowed_fails_with_its_reason() {
    let mut env = Env::embedded().await;
    env.settings.max_decode_bytes = 1024 * 1024;
    let server = TestServer::start(env).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    // 1000×1000 decoded at full scale (the large thumbnail needs it) takes 4 MB: over 1 MiB.
    let id = crate::flow::upload(&staff, &record_id, photos::jpeg(1000, 1000, &Exif::default())).await;
    server.drain().await;
    let photo = staff.get(&format!("/api/v1/photos/{id}")).await.json();
    assert_eq!(photo["status"], "failed", "{photo}");
    assert_eq!(photo["attempts"], 1, "{photo}");
    assert!(
        photo["error"]
            .as_str()
            .unwrap()
            .contains("more than the limit of 1 MiB"),
        "{photo}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut env = Env::embedded().await;
    env.settings.header_read_timeout_secs = 1;
    let server = TestServer::start(env).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow connection was kept open");
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "answered an incomplete request"
    );
    // Everyone else is served as usual.
    assert_eq!(server.anonymous().get("/healthz").await.status, 200);
    server.stop().await;
}
