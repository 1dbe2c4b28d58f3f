//! Phone sync for an inspector who sees 2,000 tasks with 8,000 phases, on PostgreSQL, over
//! real HTTP with gzip: the first full sync against paging the console's task list over the
//! same tasks (the reference), and an incremental sync after 10 changes against fetching those
//! 10 task pages one by one (what a phone would do without sync). Median and p99 latency and
//! the compressed bytes on the wire.
//!
//! Run: `cargo bench -p fieldproof-server --bench mobile_sync` (PostgreSQL on 127.0.0.1:5432,
//! or `FIELDPROOF_BENCH_DATABASE_URL`). `SYNC_BENCH_TASKS` sets the number of tasks.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
#[path = "../../core/benches/support.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::Http;
use fieldproof_core::config::{Secret, Settings};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "bench-password-1";
const RUNS: usize = 15;
const INCREMENTAL_RUNS: usize = 30;

/// Syncs until nothing more waits; returns the last cursor, tasks received and wire bytes.
async fn sync(phone: &Http, cursor: Option<&str>) -> (String, usize, usize) {
    let (mut cursor, mut tasks, mut bytes) = (cursor.map(str::to_owned), 0, 0);
    loop {
        let path = match &cursor {
            Some(c) => format!("/mobile/v1/sync?limit=500&cursor={c}"),
            None => "/mobile/v1/sync?limit=500".to_owned(),
        };
        let (page, wire) = phone.get_gzip(&path).await;
        tasks += page["tasks"].as_array().unwrap().len();
        bytes += wire;
        cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return (cursor.unwrap(), tasks, bytes);
        }
    }
}

/// Pages through the console's task list (200 a page); returns tasks and wire bytes.
async fn list_all(c: &Http) -> (usize, usize) {
    let (mut cursor, mut tasks, mut bytes) = (None::<String>, 0, 0);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tasks?limit=200&cursor={c}"),
            None => "/api/v1/tasks?limit=200".to_owned(),
        };
        let (page, wire) = c.get_gzip(&path).await;
        tasks += page["items"].as_array().unwrap().len();
        bytes += wire;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (tasks, bytes),
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn row(label: &str, samples: &mut [Duration], bytes: usize) {
    let (median, p99) = support::median_p99(samples);
    println!("{label:<58} {:>10} {:>10} {:>10} B", ms(median), ms(p99), bytes);
}

#[tokio::main]
async fn main() {
    let tasks: usize = std::env::var("SYNC_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let (store, db_name) = match support::fresh_store("sync", 4).await {
        Ok(s) => s,
        Err(e) => {
            println!("skipped: no PostgreSQL for the benchmark ({e})");
            return;
        }
    };
    let url = match support::admin_url().rsplit_once('/') {
        Some((server, _)) => format!("{server}/{db_name}"),
        None => unreachable!(),
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        database_url: Some(Secret::new(url)),
        admin_password: Some(Secret::new(PASSWORD)),
        ..Settings::default()
    };
    let app = fieldproof_server::open_app(settings).await.unwrap();
    fieldproof_server::bootstrap_admin(&app).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(fieldproof_server::serve(
        app.clone(),
        listener,
        shutdown.clone(),
        false,
    ));

    // An inspector's group with `tasks` tasks of four phases each.
    let admin = Http::login(&base, "admin", PASSWORD).await;
    let org = |name: &str, kind: &str| json!({ "name": name, "kind": kind, "region_code": "130200", "contacts": [] });
    let group = admin.post("/api/v1/orgs", &org("督查组", "supervision")).await["id"].clone();
    let agency = admin.post("/api/v1/orgs", &org("办理机构", "agency")).await["id"].clone();
    for (name, role) in [("sup", "supervisor"), ("insp", "inspector")] {
        admin
            .post(
                "/api/v1/users",
                &json!({ "username": name, "password": PASSWORD, "role": role, "display_name": name, "org_id": group }),
            )
            .await;
    }
    let supervisor = Http::login(&base, "sup", PASSWORD).await;
    let site = supervisor
        .post(
            "/api/v1/sites",
            &json!({ "name": "唐山钢铁三厂", "lat": 39.63, "lon": 118.18, "datum": "wgs84", "radius_m": 300 }),
        )
        .await["id"]
        .clone();
    let started = Instant::now();
    let now = Utc::now();
    let mut ids = Vec::with_capacity(tasks);
    for chunk in (0..tasks).collect::<Vec<_>>().chunks(8) {
        let batch = chunk.iter().map(|i| {
            let body = json!({
                "title": format!("第{i}号整改任务：煤场苫盖与防尘网"), "description": "露天煤堆未苫盖，扬尘严重",
                "site_id": site, "agency_id": agency, "due_at": now + chrono::Duration::days(120),
                "phases": (1..=4).map(|p| json!({ "title": format!("第{p}阶段"), "due_at": now + chrono::Duration::days(20 * p) })).collect::<Vec<_>>(),
            });
            let supervisor = &supervisor;
            async move { supervisor.post("/api/v1/tasks", &body).await["id"].as_str().unwrap().to_owned() }
        });
        ids.extend(futures_util::future::join_all(batch).await);
    }
    fieldproof_core::service::audit::seal(&app).await.unwrap();
    println!(
        "seeded {tasks} tasks with {} phases in {:.1} s\n",
        tasks * 4,
        started.elapsed().as_secs_f64()
    );

    let phone = Http::login(&base, "insp", PASSWORD).await;
    println!(
        "{:<58} {:>10} {:>10} {:>12}",
        format!("(PostgreSQL, {tasks} tasks, gzip)"),
        "median",
        "p99",
        "on the wire"
    );
    let (mut full, mut listed) = (Vec::new(), Vec::new());
    let (mut full_bytes, mut list_bytes, mut cursor) = (0, 0, String::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let (next, got, bytes) = sync(&phone, None).await;
        full.push(t.elapsed());
        assert_eq!(got, tasks);
        (full_bytes, cursor) = (bytes, next);
        let t = Instant::now();
        let (got, bytes) = list_all(&phone).await;
        listed.push(t.elapsed());
        assert_eq!(got, tasks);
        list_bytes = bytes;
    }
    row(
        "first full sync (pages of 500, tasks+phases+site+urges)",
        &mut full,
        full_bytes,
    );
    row(
        "reference: console task list (pages of 200, no phases)",
        &mut listed,
        list_bytes,
    );

    let (mut incremental, mut pages) = (Vec::new(), Vec::new());
    let (mut inc_bytes, mut page_bytes) = (0, 0);
    for run in 0..INCREMENTAL_RUNS {
        let changed: Vec<&String> = ids.iter().skip(run * 10).take(10).collect();
        for id in &changed {
            supervisor
                .post(
                    &format!("/api/v1/tasks/{id}/urges"),
                    &json!({ "message": "请按期整改" }),
                )
                .await;
        }
        fieldproof_core::service::audit::seal(&app).await.unwrap();
        let t = Instant::now();
        let (next, got, bytes) = sync(&phone, Some(&cursor)).await;
        incremental.push(t.elapsed());
        assert_eq!(got, 10);
        (inc_bytes, cursor) = (bytes, next);
        let t = Instant::now();
        let mut bytes = 0;
        for id in &changed {
            bytes += phone.get_gzip(&format!("/api/v1/tasks/{id}")).await.1;
        }
        pages.push(t.elapsed());
        page_bytes = bytes;
    }
    row("incremental sync after 10 changes", &mut incremental, inc_bytes);
    row(
        "reference: the 10 changed task pages, one by one",
        &mut pages,
        page_bytes,
    );
    let (_, _, unchanged_bytes) = sync(&phone, Some(&cursor)).await;
    println!("incremental sync with nothing changed: {unchanged_bytes} B on the wire");

    shutdown.cancel();
    let _ = server.await;
    app.store.close().await;
    store.close().await;
    support::drop_database(store, &db_name).await.unwrap();
}
