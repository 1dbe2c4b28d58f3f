//! The real `fieldproof` binary: separate `serve --no-worker` and `worker` processes share one
//! PostgreSQL database and one S3 bucket, and a killed worker loses nothing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use chrono::Utc;

use crate::flow::{record, site, task, upload};
use crate::support::photos::{self, Exif};
use crate::support::server::{ADMIN_PASSWORD, Client, Env};

pub(crate) struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fieldproof(env: &Env, args: &[&str], extra: &[(&str, String)]) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldproof"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env.process_env() {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    Process(cmd.spawn().expect("start fieldproof"))
}

async fn ready(base: &str) -> bool {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status() == 200
        {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    false
}

async fn wait_until_ready(base: &str) {
    assert!(ready(base).await, "fieldproof at {base} did not become ready");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn photo_status(c: &Client, id: &str) -> String {
    c.get(&format!("/api/v1/photos/{id}")).await.json()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wait_for_status(c: &Client, id: &str, want: &str) {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while Instant::now() < deadline {
        if photo_status(c, id).await == want {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    panic!("photo {id} never reached {want}");
}

/// Starts `fieldproof serve --no-worker` and waits until it is ready; returns it and its URL.
pub(crate) async fn server_process(env: &Env) -> (Process, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = fieldproof(
        env,
        &["serve", "--no-worker"],
        &[("FIELDPROOF_LISTEN", format!("127.0.0.1:{port}"))],
    );
    wait_until_ready(&base).await;
    (server, base)
}

/// Logs in as the default group's supervisor and files a record on a new task at a Tangshan
/// site.
pub(crate) async fn staff_with_record(base: &str) -> (Client, String) {
    let mut admin = Client::new(base);
    admin.login("admin", ADMIN_PASSWORD).await;
    let staff = crate::support::server::staff(&admin).await;
    let site_id = site(&staff, 39.6305, 118.1804, "Asia/Shanghai").await;
    let task = task(&staff, &site_id).await;
    let record_id = record(&staff, task["id"].as_str().unwrap(), &Utc::now().to_rfc3339()).await;
    (staff, record_id)
}

#[tokio::test]
async fn server_and_worker_processes_share_postgres_and_s3() {
    let Some(mut env) = Env::scaled().await else {
        return;
    };
    env.settings.worker_lease_secs = 2;
    let (_server, base) = server_process(&env).await;
    let (staff, record_id) = staff_with_record(&base).await;
    let stamp = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y:%m:%d %H:%M:%S")
        .to_string();
    let exif = Exif {
        datetime_original: Some(stamp),
        gps: Some((39.6306, 118.1804)),
        ..Exif::default()
    };
    let id = upload(&staff, &record_id, photos::jpeg(640, 480, &exif)).await;

    // With no worker running, the server alone does not process photos.
    tokio::time::sleep(StdDuration::from_millis(800)).await;
    assert_eq!(photo_status(&staff, &id).await, "received");

    // A worker that is killed mid-flight leaves a lease that lapses; the next worker finishes.
    let dead = uuid::Uuid::new_v4().to_string();
    let store = fieldproof_core::store::Store::connect(&env.settings.database_url(), 2)
        .await
        .unwrap();
    store
        .claim_photo(&dead, Utc::now(), chrono::Duration::seconds(2))
        .await
        .unwrap()
        .unwrap();
    let _worker = fieldproof(&env, &["worker"], &[]);
    wait_for_status(&staff, &id, "done").await;
    let photo = staff.get(&format!("/api/v1/photos/{id}")).await.json();
    assert_eq!(photo["verification"]["verdict"], "verified", "{photo}");
    assert_eq!(photo["attempts"], 2);
    let thumb = staff.get(&format!("/api/v1/photos/{id}/thumbnails/large")).await;
    assert_eq!(thumb.status, 200);
    assert_eq!(image::load_from_memory(&thumb.body).unwrap().width(), 640);
    store.close().await;
    drop(_worker);
    drop(_server);
    if let Some(db) = env.db.take() {
        db.drop_db().await;
    }
}

#[tokio::test]
async fn embedded_serve_starts_with_nothing_configured_and_prints_a_generated_password() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldproof"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("FIELDPROOF_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Keep reading to the end so the server never writes into a closed pipe.
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut found = None;
        for l in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if found.is_none() && l.contains("password:") {
                found = Some(l);
                break;
            }
        }
        found
    });
    let base = format!("http://127.0.0.1:{port}");
    if !ready(&base).await {
        let _ = child.kill();
        let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
        panic!(
            "fieldproof did not become ready; its log:\n{log}\nexit: {:?}",
            child.try_wait()
        );
    }
    let line = line.await.unwrap().expect("a password line");
    let password = line.rsplit(' ').next().unwrap().to_owned();
    let mut admin = Client::new(&base);
    admin.login("admin", &password).await;
    assert!(dir.path().join("data/fieldproof.db").exists());
    assert!(dir.path().join("data/objects").is_dir());
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn a_queued_photo_wakes_an_idle_worker_process_at_once() {
    let Some(mut env) = Env::scaled().await else {
        return;
    };
    let (_server, base) = server_process(&env).await;
    // Polling once a minute: only the PostgreSQL notification can wake this worker in time.
    let _worker = fieldproof(
        &env,
        &["worker"],
        &[("FIELDPROOF_WORKER_POLL_MS", "60000".into())],
    );
    let (staff, record_id) = staff_with_record(&base).await;
    // Give the idle worker time to start and find the queue empty.
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let started = Instant::now();
    let id = upload(&staff, &record_id, photos::jpeg(320, 240, &Exif::default())).await;
    wait_for_status(&staff, &id, "done").await;
    assert!(
        started.elapsed() < StdDuration::from_secs(20),
        "the worker was not woken"
    );
    drop(_worker);
    drop(_server);
    if let Some(db) = env.db.take() {
        db.drop_db().await;
    }
}
