//! Resumable uploads: tus 1.0.0 driven by the real `tuspy` and `tus-js-client` libraries over
//! a network that cuts connections, resumed on a second server process, and the IETF
//! resumable-upload draft over the same store; every refusal the protocols define.

use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use reqwest::Method;
use sha2::{Digest, Sha256};

use crate::flow::{record, site, task};
use crate::processes::{server_process, staff_with_record};
use crate::support::clients;
use crate::support::cutter::Cutter;
use crate::support::photos::{self, Exif};
use crate::support::server::{Client, Env, Resp, TestServer};

/// A record of the default supervisor's on a new task, and that supervisor's client.
async fn inspector(server: &TestServer) -> (Client, String) {
    let staff = server.staff().await;
    let site_id = site(&staff, 39.6305, 118.1804, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    (staff, record_id)
}

fn photo(size: usize) -> Vec<u8> {
    photos::padded_jpeg(size, &Exif::default())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn metadata(record_id: &str, photo_id: &str) -> String {
    format!(
        "record_id {},photo_id {},content_type {}",
        STANDARD.encode(record_id),
        STANDARD.encode(photo_id),
        STANDARD.encode("image/jpeg")
    )
}

/// A tus request with the protocol header.
fn tus(c: &Client, method: Method, path: &str) -> reqwest::RequestBuilder {
    c.request(method, path).header("tus-resumable", "1.0.0")
}

/// Creates a tus upload of `length` bytes and returns its path.
async fn create(c: &Client, record_id: &str, photo_id: &str, length: usize) -> String {
    let r = c
        .send(
            tus(c, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", length.to_string())
                .header("upload-metadata", metadata(record_id, photo_id)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    assert!(r.header("upload-expires").is_some_and(|v| v.ends_with(" GMT")));
    r.header("location").unwrap().to_owned()
}

async fn patch(c: &Client, path: &str, offset: usize, chunk: &[u8]) -> Resp {
    c.send(
        tus(c, Method::PATCH, path)
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(chunk.to_vec()),
    )
    .await
}

async fn offset_of(c: &Client, path: &str) -> Resp {
    c.send(tus(c, Method::HEAD, path)).await
}

async fn photo_sha(c: &Client, photo_id: &str) -> Option<String> {
    let r = c.get(&format!("/api/v1/photos/{photo_id}")).await;
    (r.status == 200).then(|| r.json()["sha256"].as_str().unwrap().to_owned())
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    file
}

#[tokio::test]
async fn tus_protocol_chunks_become_the_photo_and_refusals_lose_nothing() {
    let server = TestServer::start(Env::embedded().await).await;
    let (c, record_id) = inspector(&server).await;
    let bytes = photo(600_000);
    let photo_id = uuid::Uuid::new_v4().to_string();

    let r = c.send(c.request(Method::OPTIONS, "/mobile/v1/uploads")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("tus-version"), Some("1.0.0"));
    assert_eq!(
        r.header("tus-extension"),
        Some("creation,creation-with-upload,checksum,termination,expiration")
    );
    assert_eq!(r.header("tus-checksum-algorithm"), Some("sha1,sha256"));
    assert_eq!(r.header("tus-max-size"), Some("8388608"));

    let path = create(&c, &record_id, &photo_id, bytes.len()).await;
    let head = offset_of(&c, &path).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("upload-offset"), Some("0"));
    assert_eq!(
        head.header("upload-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert_eq!(
        head.header("upload-metadata"),
        Some(metadata(&record_id, &photo_id).as_str())
    );

    // Missing or wrong Tus-Resumable: 412 naming the version served.
    for version in [None, Some("0.2.2")] {
        let mut req = c
            .request(Method::PATCH, &path)
            .header("upload-offset", "0")
            .header("content-type", "application/offset+octet-stream")
            .body(bytes[..10].to_vec());
        if let Some(v) = version {
            req = req.header("tus-resumable", v);
        }
        let r = c.send(req).await;
        r.assert_problem(412, "tus_version_unsupported");
        assert_eq!(r.header("tus-version"), Some("1.0.0"));
        assert_eq!(r.header("tus-resumable"), Some("1.0.0"));
    }
    // The wrong content type.
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "0")
                .header("content-type", "image/jpeg")
                .body(bytes[..10].to_vec()),
        )
        .await;
    r.assert_problem(415, "unsupported_type");

    // First chunk, with a correct sha256 checksum.
    let first = &bytes[..200_000];
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "0")
                .header("content-type", "application/offset+octet-stream")
                .header(
                    "upload-checksum",
                    format!("sha256 {}", STANDARD.encode(Sha256::digest(first))),
                )
                .body(first.to_vec()),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("upload-offset"), Some("200000"));

    // An offset that does not match: 409, nothing changes.
    let r = patch(&c, &path, 100_000, &bytes[100_000..300_000]).await;
    r.assert_problem(409, "upload_offset_mismatch");
    assert_eq!(r.json()["expected-offset"], 200_000);
    // A checksum that does not match: 460, the chunk is discarded.
    let second = &bytes[200_000..400_000];
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "200000")
                .header("content-type", "application/offset+octet-stream")
                .header("upload-checksum", format!("sha1 {}", STANDARD.encode([0u8; 20])))
                .body(second.to_vec()),
        )
        .await;
    r.assert_problem(460, "checksum_mismatch");
    // An algorithm we do not offer: 400.
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "200000")
                .header("content-type", "application/offset+octet-stream")
                .header("upload-checksum", "md5 AAAAAAAAAAAAAAAAAAAAAA==")
                .body(second.to_vec()),
        )
        .await;
    r.assert_problem(400, "malformed_request");
    // A chunk past Upload-Length: 413, discarded whole (declared, and sent chunked).
    let mut too_long = bytes[200_000..].to_vec();
    too_long.extend_from_slice(b"one byte too many");
    let r = patch(&c, &path, 200_000, &too_long).await;
    r.assert_problem(413, "upload_length_exceeded");
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(too_long))]);
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "200000")
                .header("content-type", "application/offset+octet-stream")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    r.assert_problem(413, "upload_length_exceeded");
    assert_eq!(offset_of(&c, &path).await.header("upload-offset"), Some("200000"));

    // Another user cannot see, append to or end it.
    let admin = server.admin().await;
    let other = server.user(&admin, "other-inspector", "supervisor").await;
    assert_eq!(offset_of(&other, &path).await.status, 404);
    patch(&other, &path, 200_000, second)
        .await
        .assert_problem(404, "not_found");
    let r = other.send(tus(&other, Method::DELETE, &path)).await;
    r.assert_problem(404, "not_found");

    // The rest, with sha1; the last chunk makes the photo, once.
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "200000")
                .header("content-type", "application/offset+octet-stream")
                .header(
                    "upload-checksum",
                    format!("sha1 {}", STANDARD.encode(sha1_digest(&bytes[200_000..]))),
                )
                .body(bytes[200_000..].to_vec()),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("upload-offset"), Some(bytes.len().to_string().as_str()));
    assert_eq!(photo_sha(&c, &photo_id).await, Some(sha256_hex(&bytes)));
    let head = offset_of(&c, &path).await;
    assert_eq!(
        head.header("upload-offset"),
        Some(bytes.len().to_string().as_str())
    );
    let r = patch(&c, &path, bytes.len(), b"more").await;
    r.assert_problem(400, "upload_completed");

    // The same photo again through a plain PUT is the same idempotent photo.
    let r = c
        .put_bytes(
            &format!("/mobile/v1/records/{record_id}/photos/{photo_id}"),
            bytes.clone(),
            "image/jpeg",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Chunks are deleted once the photo is made.
    assert!(
        !server
            .env
            .settings
            .data_dir
            .join("objects/uploads")
            .join(path.rsplit('/').next().unwrap())
            .exists()
    );
}

fn sha1_digest(bytes: &[u8]) -> [u8; 20] {
    use sha1::Digest as _;
    sha1::Sha1::digest(bytes).into()
}

#[tokio::test]
async fn tus_creation_with_upload_termination_expiry_and_refused_photos() {
    let mut env = Env::embedded().await;
    env.settings.upload_expiry_secs = 2;
    let server = TestServer::start(env).await;
    let (c, record_id) = inspector(&server).await;
    let bytes = photo(300_000);

    // creation-with-upload: the first chunk rides on the POST.
    let photo_id = uuid::Uuid::new_v4().to_string();
    let r = c
        .send(
            tus(&c, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", bytes.len().to_string())
                .header("upload-metadata", metadata(&record_id, &photo_id))
                .header("content-type", "application/offset+octet-stream")
                .body(bytes[..100_000].to_vec()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("upload-offset"), Some("100000"));
    let path = r.header("location").unwrap().to_owned();

    // Termination: 204, then the upload is gone.
    let r = c.send(tus(&c, Method::DELETE, &path)).await;
    assert_eq!(r.status, 204);
    assert_eq!(offset_of(&c, &path).await.status, 404);
    assert_eq!(photo_sha(&c, &photo_id).await, None);

    // Expiry: 410 once its time is up, then cleaned up (row and objects).
    let path = create(&c, &record_id, &photo_id, bytes.len()).await;
    assert_eq!(patch(&c, &path, 0, &bytes[..1000]).await.status, 204);
    let id = path.rsplit('/').next().unwrap().to_owned();
    let chunks = server.env.settings.data_dir.join("objects/uploads").join(&id);
    assert!(chunks.exists(), "{}", chunks.display());
    tokio::time::sleep(StdDuration::from_millis(2200)).await;
    patch(&c, &path, 1000, &bytes[1000..])
        .await
        .assert_problem(410, "upload_expired");
    assert_eq!(offset_of(&c, &path).await.status, 410);
    let removed = fieldproof_core::service::resumable::remove_expired(&server.app, Utc::now())
        .await
        .unwrap();
    assert!(removed >= 1);
    assert_eq!(offset_of(&c, &path).await.status, 404);
    assert!(!chunks.exists());
    assert_eq!(photo_sha(&c, &photo_id).await, None);

    // A finished upload that is not an image: the plain PUT's 415, no photo, upload gone.
    let text = b"%PDF-1.7 not a photo at all".repeat(100);
    let path = create(&c, &record_id, &photo_id, text.len()).await;
    patch(&c, &path, 0, &text)
        .await
        .assert_problem(415, "unsupported_type");
    assert_eq!(offset_of(&c, &path).await.status, 404);
    assert_eq!(photo_sha(&c, &photo_id).await, None);

    // Creation refusals: no length, too long, bad metadata, someone else's record.
    let r = c
        .send(
            tus(&c, Method::POST, "/mobile/v1/uploads")
                .header("upload-metadata", metadata(&record_id, &photo_id)),
        )
        .await;
    r.assert_problem(400, "malformed_request");
    let r = c
        .send(
            tus(&c, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", (8 * 1024 * 1024 + 1).to_string())
                .header("upload-metadata", metadata(&record_id, &photo_id)),
        )
        .await;
    r.assert_problem(413, "payload_too_large");
    let r = c
        .send(
            tus(&c, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", "10")
                .header(
                    "upload-metadata",
                    format!("record_id {}", STANDARD.encode(&record_id)),
                ),
        )
        .await;
    r.assert_problem(400, "malformed_request");
    let r = c
        .send(
            tus(&c, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", "10")
                .header(
                    "upload-metadata",
                    format!(
                        "{},filetype {}",
                        metadata(&record_id, &photo_id),
                        STANDARD.encode("video/mp4")
                    ),
                ),
        )
        .await;
    r.assert_problem(415, "unsupported_type");
    let admin = server.admin().await;
    let other = server.user(&admin, "other-inspector", "supervisor").await;
    let r = other
        .send(
            tus(&other, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", "10")
                .header("upload-metadata", metadata(&record_id, &photo_id)),
        )
        .await;
    r.assert_problem(403, "forbidden");
    let r = c
        .send(
            c.request(Method::POST, "/mobile/v1/uploads")
                .header("upload-length", "10")
                .header("upload-metadata", metadata(&record_id, &photo_id)),
        )
        .await;
    r.assert_problem(412, "tus_version_unsupported");
    let anonymous = server.anonymous();
    let r = anonymous
        .send(
            tus(&anonymous, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", "10")
                .header("upload-metadata", metadata(&record_id, &photo_id)),
        )
        .await;
    r.assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn ietf_draft_uploads_resume_from_the_same_store() {
    let server = TestServer::start(Env::embedded().await).await;
    let (c, record_id) = inspector(&server).await;
    let bytes = photo(500_000);
    let photo_id = uuid::Uuid::new_v4().to_string();
    let put_path = format!("/mobile/v1/records/{record_id}/photos/{photo_id}");
    let ietf = |method: Method, path: &str| {
        c.request(method, path)
            .header("upload-draft-interop-version", "6")
    };

    // Creation: the ordinary photo PUT with Upload-Complete: ?0 and the first part.
    let r = c
        .send(
            ietf(Method::PUT, &put_path)
                .header("upload-complete", "?0")
                .header("upload-length", bytes.len().to_string())
                .body(bytes[..150_000].to_vec()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("upload-complete"), Some("?0"));
    assert_eq!(r.header("upload-offset"), Some("150000"));
    assert_eq!(r.header("upload-limit"), Some("max-size=8388608"));
    assert_eq!(r.header("tus-resumable"), None);
    let path = r.header("location").unwrap().to_owned();

    let head = c.send(ietf(Method::HEAD, &path)).await;
    assert_eq!(head.status, 204);
    assert_eq!(head.header("upload-offset"), Some("150000"));
    assert_eq!(head.header("upload-complete"), Some("?0"));
    assert_eq!(
        head.header("upload-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(head.header("cache-control"), Some("no-store"));

    // A mismatching offset: 409 with the draft's problem type and both offsets.
    let r = c
        .send(
            ietf(Method::PATCH, &path)
                .header("upload-offset", "100")
                .header("upload-complete", "?1")
                .header("content-type", "application/partial-upload")
                .body(bytes[100..].to_vec()),
        )
        .await;
    assert_eq!(r.status, 409);
    let problem = r.json();
    assert_eq!(
        problem["type"],
        "https://iana.org/assignments/http-problem-types#mismatching-upload-offset"
    );
    assert_eq!(
        (
            problem["expected-offset"].as_u64(),
            problem["provided-offset"].as_u64()
        ),
        (Some(150_000), Some(100))
    );
    // A tus client may resume the same upload: the store is shared.
    let r = patch(&c, &path, 150_000, &bytes[150_000..300_000]).await;
    assert_eq!(r.status, 204, "{}", r.text());
    // The rest, marked complete, answers as the photo PUT would.
    let r = c
        .send(
            ietf(Method::PATCH, &path)
                .header("upload-offset", "300000")
                .header("upload-complete", "?1")
                .header("content-type", "application/partial-upload")
                .body(bytes[300_000..].to_vec()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("upload-complete"), Some("?1"));
    assert_eq!(r.json()["sha256"], sha256_hex(&bytes));
    let head = c.send(ietf(Method::HEAD, &path)).await;
    assert_eq!(head.header("upload-complete"), Some("?1"));
    let r = c
        .send(
            ietf(Method::PATCH, &path)
                .header("upload-offset", bytes.len().to_string())
                .header("upload-complete", "?1")
                .body(Vec::new()),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["type"],
        "https://iana.org/assignments/http-problem-types#completed-upload"
    );

    // Without a length: it becomes known with the last part; then the same bytes again are
    // the same photo (200), as with the plain PUT.
    let r = c
        .send(
            ietf(Method::PUT, &put_path)
                .header("upload-complete", "?0")
                .body(bytes[..1000].to_vec()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let path = r.header("location").unwrap().to_owned();
    assert_eq!(
        c.send(ietf(Method::HEAD, &path)).await.header("upload-length"),
        None
    );
    let r = c
        .send(
            ietf(Method::PATCH, &path)
                .header("upload-offset", "1000")
                .header("upload-complete", "?1")
                .body(bytes[1000..].to_vec()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Whole in one request with Upload-Complete: ?1 is the plain PUT, plus a Location.
    let other_id = uuid::Uuid::new_v4().to_string();
    let r = c
        .send(
            ietf(
                Method::PUT,
                &format!("/mobile/v1/records/{record_id}/photos/{other_id}"),
            )
            .header("upload-complete", "?1")
            .body(bytes.clone()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], other_id.as_str());
    // A bad Upload-Complete value.
    let r = c
        .send(
            ietf(Method::PUT, &put_path)
                .header("upload-complete", "yes")
                .body(bytes.clone()),
        )
        .await;
    r.assert_problem(400, "malformed_request");
}

#[tokio::test]
async fn tuspy_upload_cut_off_several_times_resumes_to_the_exact_photo() {
    let Some(dir) = clients::dir() else { return };
    let server = TestServer::start(Env::embedded().await).await;
    let (c, record_id) = inspector(&server).await;
    let bytes = photo(3_000_000);
    let file = write_temp(&bytes);
    // Every connection that carries more than 400 kB is cut, four times over.
    let cutter = Cutter::start(&server.base, 400_000, 4).await;
    let photo_id = uuid::Uuid::new_v4().to_string();
    let args = |endpoint: &str| {
        vec![
            format!("{endpoint}/mobile/v1/uploads"),
            file.path().display().to_string(),
            record_id.clone(),
            photo_id.clone(),
            (1024 * 1024).to_string(),
            "--retries".into(),
            "10".into(),
        ]
    };
    let token = c.token.clone().unwrap();
    let out = tokio::task::spawn_blocking({
        let (dir, args, token) = (dir.clone(), args(&cutter.base), token.clone());
        move || clients::tuspy(&dir, &token, &args)
    })
    .await
    .unwrap();
    assert!(out.ok, "{:?} {}", out.report, out.stderr);
    assert_eq!(cutter.cuts_left(), 0, "the network should have cut the upload");
    assert_eq!(out.report["offset"], bytes.len());
    assert_eq!(photo_sha(&c, &photo_id).await, Some(sha256_hex(&bytes)));

    // With sha1 checksums, cut chunks are discarded whole and sent again.
    let cutter = Cutter::start(&server.base, 300_000, 2).await;
    let checksum_photo = uuid::Uuid::new_v4().to_string();
    let mut with_checksum = args(&cutter.base);
    with_checksum[3].clone_from(&checksum_photo);
    with_checksum.push("--checksum".into());
    let out = tokio::task::spawn_blocking(move || clients::tuspy(&dir, &token, &with_checksum))
        .await
        .unwrap();
    assert!(out.ok, "{:?} {}", out.report, out.stderr);
    assert_eq!(cutter.cuts_left(), 0);
    assert_eq!(photo_sha(&c, &checksum_photo).await, Some(sha256_hex(&bytes)));
    let photos = c.get(&format!("/mobile/v1/records/{record_id}")).await.json();
    assert_eq!(photos["photos"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn tus_js_client_resumes_on_a_second_server_process() {
    let Some(dir) = clients::dir() else { return };
    let Some(env) = Env::scaled().await else { return };
    let (first, first_base) = server_process(&env).await;
    let (c, record_id) = staff_with_record(&first_base).await;
    let bytes = photo(2_500_000);
    let file = write_temp(&bytes);
    let photo_id = uuid::Uuid::new_v4().to_string();
    let args = |endpoint: &str, retries: &str, url: Option<String>| {
        let mut a = vec![
            format!("{endpoint}/mobile/v1/uploads"),
            file.path().display().to_string(),
            record_id.clone(),
            photo_id.clone(),
            (512 * 1024).to_string(),
            retries.to_owned(),
        ];
        a.extend(url);
        a
    };

    // The phone loses the network part-way, with no retries left: the upload stops.
    let cutter = Cutter::start(&first_base, 400_000, 1).await;
    let first_args = args(&cutter.base, "0", None);
    let token = c.token.clone().unwrap();
    let out = tokio::task::spawn_blocking({
        let (dir, token) = (dir.clone(), token.clone());
        move || clients::tus_js(&dir, &token, &first_args)
    })
    .await
    .unwrap();
    assert!(
        !out.ok,
        "the cut should have stopped the upload: {:?}",
        out.report
    );
    let url = out.report["url"].as_str().unwrap().to_owned();
    let path = url
        .split_once("/mobile/")
        .map(|(_, p)| format!("/mobile/{p}"))
        .unwrap();
    // What arrived before the cut is committed by the first server; then it goes away.
    let mut committed = 0;
    for _ in 0..50 {
        committed = offset_of(&c, &path)
            .await
            .header("upload-offset")
            .unwrap()
            .parse()
            .unwrap();
        if committed > 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert!(committed > 100_000 && committed < 400_000, "{committed}");
    drop(first);

    // Another replica picks it up from PostgreSQL and S3.
    let (_second, second_base) = server_process(&env).await;
    let mut c2 = c.clone();
    c2.base.clone_from(&second_base);
    let head = offset_of(&c2, &path).await;
    assert_eq!(head.status, 200);
    let resumed_at: usize = head.header("upload-offset").unwrap().parse().unwrap();
    assert_eq!(resumed_at, committed);
    let second_args = args(&second_base, "2", Some(format!("{second_base}{path}")));
    let out = tokio::task::spawn_blocking(move || clients::tus_js(&dir, &token, &second_args))
        .await
        .unwrap();
    assert!(out.ok, "{:?} {}", out.report, out.stderr);
    assert_eq!(photo_sha(&c2, &photo_id).await, Some(sha256_hex(&bytes)));

    // The chunks left S3 with the upload.
    let s3 = env.s3.as_ref().unwrap().client();
    let left = s3
        .list_objects_v2()
        .bucket(crate::support::server::BUCKET)
        .prefix("uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count().unwrap_or(0), 0, "{:?}", left.contents());
}

#[tokio::test]
async fn tus_leftovers_overrides_and_encodings() {
    let server = TestServer::start(Env::embedded().await).await;
    let (c, record_id) = inspector(&server).await;
    let bytes = photo(300_000);
    let uploads_dir = server.env.settings.data_dir.join("objects/uploads");
    let holds_nothing =
        |dir: &std::path::Path| std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none());

    // A failed creation-with-upload leaves no upload behind (its client never got a Location).
    let photo_id = uuid::Uuid::new_v4().to_string();
    let r = c
        .send(
            tus(&c, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", bytes.len().to_string())
                .header("upload-metadata", metadata(&record_id, &photo_id))
                .header("content-type", "application/offset+octet-stream")
                .header(
                    "upload-checksum",
                    format!("sha256 {}", STANDARD.encode([0u8; 32])),
                )
                .body(bytes[..1000].to_vec()),
        )
        .await;
    r.assert_problem(460, "checksum_mismatch");
    assert_eq!(r.json()["title"], "Checksum Mismatch");
    assert!(holds_nothing(&uploads_dir));

    // An empty or generic declared type is left to the bytes, as with the plain PUT.
    for filetype in ["", "application/octet-stream", "image/jpg"] {
        let r = c
            .send(
                tus(&c, Method::POST, "/mobile/v1/uploads")
                    .header("upload-length", "10")
                    .header(
                        "upload-metadata",
                        format!(
                            "{},filetype {}",
                            metadata(&record_id, &photo_id),
                            STANDARD.encode(filetype)
                        ),
                    ),
            )
            .await;
        assert_eq!(r.status, 201, "{filetype}: {}", r.text());
    }

    let path = create(&c, &record_id, &photo_id, bytes.len()).await;
    // Photo bytes are never content-encoded: 415 before anything is inflated or kept.
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "0")
                .header("content-type", "application/offset+octet-stream")
                .header("content-encoding", "gzip")
                .body(bytes[..1000].to_vec()),
        )
        .await;
    r.assert_problem(415, "unsupported_type");
    // A header sent twice is ambiguous: 400.
    let r = c
        .send(
            tus(&c, Method::PATCH, &path)
                .header("upload-offset", "0")
                .header("upload-offset", "10")
                .header("content-type", "application/offset+octet-stream")
                .body(bytes[..1000].to_vec()),
        )
        .await;
    r.assert_problem(400, "malformed_request");
    assert_eq!(offset_of(&c, &path).await.header("upload-offset"), Some("0"));

    // X-HTTP-Method-Override: a POST that means PATCH.
    let r = c
        .send(
            tus(&c, Method::POST, &path)
                .header("x-http-method-override", "PATCH")
                .header("upload-offset", "0")
                .header("content-type", "application/offset+octet-stream")
                .body(bytes[..1000].to_vec()),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("upload-offset"), Some("1000"));

    // Terminated while a chunk is still arriving: the chunk is not kept anywhere.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let slow = tokio::spawn({
        let c = c.clone();
        let path = path.clone();
        async move {
            c.send(
                tus(&c, Method::PATCH, &path)
                    .header("upload-offset", "1000")
                    .header("content-type", "application/offset+octet-stream")
                    .body(reqwest::Body::wrap_stream(stream)),
            )
            .await
        }
    });
    tx.send(Ok(bytes::Bytes::copy_from_slice(&bytes[1000..50_000])))
        .await
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let r = c
        .send(tus(&c, Method::POST, &path).header("x-http-method-override", "DELETE"))
        .await;
    assert_eq!(r.status, 204);
    tx.send(Ok(bytes::Bytes::copy_from_slice(&bytes[50_000..])))
        .await
        .unwrap();
    drop(tx);
    slow.await.unwrap().assert_problem(404, "not_found");
    assert!(holds_nothing(&uploads_dir.join(path.rsplit('/').next().unwrap())));

    // A photo id that belongs to another record is refused before any byte is sent.
    let taken = uuid::Uuid::new_v4().to_string();
    let r = c
        .put_bytes(
            &format!("/mobile/v1/records/{record_id}/photos/{taken}"),
            bytes.clone(),
            "image/jpeg",
        )
        .await;
    assert_eq!(r.status, 201);
    let staff = server.staff().await;
    let task_id = c.get(&format!("/mobile/v1/records/{record_id}")).await.json()["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_record = record(&staff, &task_id, &Utc::now().to_rfc3339()).await;
    let r = staff
        .send(
            tus(&staff, Method::POST, "/mobile/v1/uploads")
                .header("upload-length", "10")
                .header("upload-metadata", metadata(&other_record, &taken)),
        )
        .await;
    r.assert_problem(409, "photo_conflict");
}
