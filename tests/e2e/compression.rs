//! Small payloads, checked with curl: answers compressed by negotiation (gzip, br, zstd),
//! images never, and gzip request bodies inflated within the JSON limit.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::Utc;
use serde_json::Value;

use crate::flow::{record, site, task, upload};
use crate::support::photos::{self, Exif};
use crate::support::server::{Env, TestServer};

/// Runs curl and returns (status line and headers, body).
fn curl(args: &[&str]) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers");
    let out = Command::new("curl")
        .args(["-s", "-D", headers.to_str().unwrap()])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_to_string(headers).unwrap().to_lowercase(),
        out.stdout,
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run gzip");
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out.stdout
}

#[tokio::test]
async fn answers_are_compressed_by_negotiation_and_images_are_not() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    for _ in 0..5 {
        task(&staff, &site_id).await;
    }
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let photo = upload(&staff, &record_id, photos::jpeg(600, 400, &Exif::default())).await;
    server.drain().await;
    let auth = format!("Authorization: Bearer {}", staff.token.clone().unwrap());
    let tasks_url = format!("{}/api/v1/tasks", server.base);
    let thumb_url = format!("{}/api/v1/photos/{photo}/thumbnails/large", server.base);
    let base = server.base.clone();
    let created = tokio::task::spawn_blocking(move || {
        let (headers, plain) = curl(&["-H", &auth, &tasks_url]);
        assert!(!headers.contains("content-encoding"), "{headers}");
        let expected: Value = serde_json::from_slice(&plain).unwrap();
        for encoding in ["gzip", "br", "zstd"] {
            let accept = format!("Accept-Encoding: {encoding}");
            let (headers, raw) = curl(&["-H", &auth, "-H", &accept, &tasks_url]);
            assert!(headers.contains(&format!("content-encoding: {encoding}")), "{headers}");
            assert!(raw.len() < plain.len(), "{encoding}: {} of {} bytes", raw.len(), plain.len());
            let (_, decoded) = curl(&["--compressed", "-H", &auth, "-H", &accept, &tasks_url]);
            assert_eq!(serde_json::from_slice::<Value>(&decoded).unwrap(), expected, "{encoding}");
        }
        let (headers, body) = curl(&["-H", &auth, "-H", "Accept-Encoding: gzip, br, zstd", &thumb_url]);
        assert!(headers.contains("content-type: image/jpeg"), "{headers}");
        assert!(!headers.contains("content-encoding"), "images are sent as they are: {headers}");
        assert!(body.starts_with(&[0xFF, 0xD8]));

        // A gzip body is inflated; one that inflates past the JSON limit is refused whole.
        let dir = tempfile::tempdir().unwrap();
        let site = serde_json::json!({ "name": "Coking plant", "lat": 39.7, "lon": 118.3, "datum": "wgs84", "radius_m": 200 });
        let small = dir.path().join("site.json.gz");
        std::fs::write(&small, gzip(site.to_string().as_bytes())).unwrap();
        let sites_url = format!("{base}/api/v1/sites");
        let post = |file: &std::path::Path| {
            curl(&[
                "-H", &auth,
                "-H", "Content-Type: application/json",
                "-H", "Content-Encoding: gzip",
                "--data-binary", &format!("@{}", file.display()),
                &sites_url,
            ])
        };
        let (headers, body) = post(&small);
        assert!(headers.starts_with("http/1.1 201"), "{headers} {}", String::from_utf8_lossy(&body));
        let created: Value = serde_json::from_slice(&body).unwrap();
        let mut bomb = br#"{"name": "x", "address": ""#.to_vec();
        bomb.extend(std::iter::repeat_n(b'a', 20 << 20));
        bomb.extend_from_slice(br#"", "lat": 39.7, "lon": 118.3, "datum": "wgs84", "radius_m": 200}"#);
        let packed = gzip(&bomb);
        assert!(packed.len() < 100 << 10, "{} bytes", packed.len());
        let big = dir.path().join("bomb.json.gz");
        std::fs::write(&big, packed).unwrap();
        let (headers, body) = post(&big);
        assert!(headers.starts_with("http/1.1 413"), "{headers}");
        assert!(headers.contains("content-type: application/problem+json"), "{headers}");
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "payload_too_large", "{problem}");
        created["id"].as_str().unwrap().to_owned()
    })
    .await
    .unwrap();
    let site = staff.get(&format!("/api/v1/sites/{created}")).await.json();
    assert_eq!(site["name"], "Coking plant", "{site}");
    server.stop().await;
}

#[tokio::test]
async fn request_encodings_other_than_one_gzip_are_refused() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let body =
        serde_json::json!({ "name": "x", "lat": 39.7, "lon": 118.3, "datum": "wgs84", "radius_m": 200 });
    for encoding in ["br", "deflate", "zstd", "x-foo", "gzip, gzip"] {
        let r = staff
            .send(
                staff
                    .request(reqwest::Method::POST, "/api/v1/sites")
                    .header("content-encoding", encoding)
                    .json(&body),
            )
            .await;
        r.assert_problem(415, "unsupported_type");
    }
    let r = staff
        .send(
            staff
                .request(reqwest::Method::POST, "/api/v1/sites")
                .header("content-encoding", "identity")
                .json(&body),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn record_reads_answer_304_until_the_record_changes() {
    let server = TestServer::start(Env::embedded().await).await;
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6, 118.2, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    let path = format!("/mobile/v1/records/{record_id}");
    let first = staff.get(&path).await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_owned();
    let conditional = |tag: &str| {
        staff
            .request(reqwest::Method::GET, &path)
            .header("if-none-match", tag.to_owned())
    };
    let again = staff.send(conditional(&etag)).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    upload(&staff, &record_id, photos::jpeg(300, 200, &Exif::default())).await;
    let changed = staff.send(conditional(&etag)).await;
    assert_eq!(changed.status, 200, "a new photo changes the record");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(
        changed.json()["photos"].as_array().unwrap().len(),
        1,
        "{}",
        changed.text()
    );
    server.stop().await;
}
