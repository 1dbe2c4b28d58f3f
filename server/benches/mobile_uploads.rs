//! 50 phones uploading 5 MB photos at once over loopback to a `fieldproof serve` process on
//! the embedded default (SQLite and a directory): plain `PUT` and tus (1 MiB chunks), in MB/s,
//! next to the rate at which this machine writes the same bytes to the same file system
//! directly (the reference), in the same run. Then the server's peak memory (VmHWM) with
//! 1 MB, 5 MB and 40 MB photos, each on a fresh process: it stays flat because bodies are
//! streamed to disk, not buffered.
//!
//! Run: `cargo bench -p fieldproof-server --bench mobile_uploads`. Needs no database.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Http as Phone;
use serde_json::json;

const PASSWORD: &str = "bench-password-1";
const PHONES: usize = 50;
const ROUNDS: usize = 5;
const MB: usize = 1_000_000;

struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_fieldproof"))
            .args(["serve", "--no-worker"])
            .env("FIELDPROOF_DATA_DIR", dir.path())
            .env("FIELDPROOF_LISTEN", format!("127.0.0.1:{port}"))
            .env("FIELDPROOF_ADMIN_PASSWORD", PASSWORD)
            .env("FIELDPROOF_MAX_UPLOAD_BYTES", (64 * MB).to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Built at once, so that even a failed start kills and waits for the process.
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        for _ in 0..300 {
            if reqwest::get(format!("{}/readyz", server.base))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("fieldproof did not start");
    }

    /// Peak resident memory of the server process so far, in MB.
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb / 1000.0
    }

    fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// One photo in one plain `PUT`.
async fn put_photo(phone: &Phone, record: &str, bytes: Bytes) {
    let id = uuid::Uuid::new_v4();
    let r = phone
        .client
        .put(format!("{}/mobile/v1/records/{record}/photos/{id}", phone.base))
        .bearer_auth(&phone.token)
        .header("content-type", "image/jpeg")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// One photo by tus: creation, then PATCHes of at most `chunk` bytes.
async fn tus_photo(phone: &Phone, record: &str, bytes: Bytes, chunk: usize) {
    let id = uuid::Uuid::new_v4().to_string();
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let r = phone
        .client
        .post(format!("{}/mobile/v1/uploads", phone.base))
        .bearer_auth(&phone.token)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", bytes.len().to_string())
        .header(
            "upload-metadata",
            format!("record_id {},photo_id {}", b64(record), b64(&id)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let mut offset = 0;
    while offset < bytes.len() {
        let end = offset.saturating_add(chunk).min(bytes.len());
        let r = phone
            .client
            .patch(format!("{}{location}", phone.base))
            .bearer_auth(&phone.token)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(bytes.slice(offset..end))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        offset = end;
    }
}

/// A group, a supervisor (`sup`) and a record of theirs on a new task.
async fn setup(base: &str) -> (Phone, String) {
    let admin = Phone::login(base, "admin", PASSWORD).await;
    let org = |name: &str, kind: &str| json!({ "name": name, "kind": kind, "region_code": "130200", "contacts": [] });
    let group = admin.post("/api/v1/orgs", &org("督查组", "supervision")).await["id"].clone();
    let agency = admin.post("/api/v1/orgs", &org("办理机构", "agency")).await["id"].clone();
    admin
        .post(
            "/api/v1/users",
            &json!({ "username": "sup", "password": PASSWORD, "role": "supervisor", "display_name": "sup", "org_id": group }),
        )
        .await;
    let phone = Phone::login(base, "sup", PASSWORD).await;
    let site = phone
        .post(
            "/api/v1/sites",
            &json!({ "name": "唐山钢铁三厂", "lat": 39.63, "lon": 118.18, "datum": "wgs84", "radius_m": 300 }),
        )
        .await["id"]
        .clone();
    let now = chrono::Utc::now();
    let task = phone
        .post(
            "/api/v1/tasks",
            &json!({ "title": "煤场苫盖", "site_id": site, "agency_id": agency,
                     "due_at": now + chrono::Duration::days(30),
                     "phases": [{ "title": "苫盖", "due_at": now + chrono::Duration::days(10) }] }),
        )
        .await["id"]
        .clone();
    let record = uuid::Uuid::new_v4().to_string();
    let r = phone
        .client
        .put(format!("{base}/mobile/v1/records/{record}"))
        .bearer_auth(&phone.token)
        .json(&json!({ "task_id": task, "kind": "inspection", "note": "煤堆未苫盖", "device_time": now }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    (phone, record)
}

/// Distinct photos of `size` bytes (distinct so that no upload is a repeat of another).
fn photos(count: usize, size: usize) -> Vec<Bytes> {
    let base = fieldproof_media_worker::synth::padded_jpeg(size, &Default::default()).unwrap();
    (0..count)
        .map(|i| {
            let mut photo = base.clone();
            // Inside the first padding segment: still a valid JPEG, different bytes.
            photo[10..18].copy_from_slice(&(i as u64).to_le_bytes());
            Bytes::from(photo)
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Way {
    Direct,
    Put,
    /// tus with PATCHes of at most this many bytes.
    Tus(usize),
}

/// Moves `photos` once the given way, all at once; returns the elapsed time.
async fn round(
    way: Way,
    phone: &Phone,
    record: &str,
    photos: &[Bytes],
    direct_dir: &std::path::Path,
) -> Duration {
    let started = Instant::now();
    let jobs = photos.iter().cloned().map(|bytes| {
        let (phone, record, dir) = (phone.clone(), record.to_owned(), direct_dir.to_path_buf());
        tokio::spawn(async move {
            match way {
                Way::Direct => {
                    let path = dir.join(uuid::Uuid::new_v4().to_string());
                    tokio::fs::write(&path, &bytes).await.unwrap();
                }
                Way::Put => put_photo(&phone, &record, bytes).await,
                Way::Tus(chunk) => tus_photo(&phone, &record, bytes, chunk).await,
            }
        })
    });
    for job in futures_util::future::join_all(jobs).await {
        job.unwrap();
    }
    started.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let server = Server::start().await;
    let (phone, record) = setup(&server.base).await;
    let direct_dir = server.data_dir().join("direct");
    std::fs::create_dir_all(&direct_dir).unwrap();
    let photo_size = 5 * MB;
    let total_mb = (PHONES * photo_size) as f64 / MB as f64;
    let ways = [
        ("reference: the same bytes written to the same disk", Way::Direct),
        ("plain PUT /mobile/v1/records/…/photos/…", Way::Put),
        ("tus, one PATCH (tus-js-client's default)", Way::Tus(usize::MAX)),
        ("tus, 1 MiB PATCHes", Way::Tus(1024 * 1024)),
    ];
    let mut samples = vec![Vec::new(); ways.len()];
    // Interleaved, so that the page cache and the disk treat every way alike.
    for _ in 0..ROUNDS {
        for ((_, way), times) in ways.iter().zip(&mut samples) {
            let batch = photos(PHONES, photo_size);
            times.push(round(*way, &phone, &record, &batch, &direct_dir).await);
        }
    }
    let rate = |d: Duration| total_mb / d.as_secs_f64();
    let reference = rate(median(samples[0].clone()));
    println!("{PHONES} phones × 5 MB at once, loopback, median of {ROUNDS} interleaved rounds\n");
    println!("{:<52} {:>10} {:>10}", "", "MB/s", "of direct");
    for ((label, _), times) in ways.iter().zip(samples) {
        let r = rate(median(times));
        println!("{label:<52} {r:>10.0} {:>9.0}%", 100.0 * r / reference);
    }
    println!(
        "server peak memory after all of it: {:.1} MB\n",
        server.peak_rss_mb()
    );
    drop(server);

    println!("server peak memory (VmHWM), fresh process each:");
    for (count, size) in [(PHONES, MB), (PHONES, 5 * MB), (10, 40 * MB)] {
        let server = Server::start().await;
        let (phone, record) = setup(&server.base).await;
        let idle = server.peak_rss_mb();
        let batch = photos(count, size);
        round(Way::Put, &phone, &record, &batch, &direct_dir).await;
        let after_put = server.peak_rss_mb();
        let batch = photos(count, size);
        round(Way::Tus(1024 * 1024), &phone, &record, &batch, &direct_dir).await;
        println!(
            "  {count} × {:>2} MB at once: idle {idle:.1} MB, after PUT {after_put:.1} MB, after tus {:.1} MB",
            size / MB,
            server.peak_rss_mb()
        );
    }
}
