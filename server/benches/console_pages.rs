//! The web console on PostgreSQL over real HTTP: a task page with 200 photos rendered by the
//! server next to the same task as API JSON (the reference), and the task list over 100,000
//! tasks (first page, a filtered page and a later page) next to the API's list of the same
//! page, and the light counts the list loads afterwards next to the API's. Median and p99 of
//! the whole request, as a browser on the same machine sees it.
//!
//! Run: `cargo bench -p fieldproof-server --bench console_pages` (PostgreSQL on
//! 127.0.0.1:5432, or `FIELDPROOF_BENCH_DATABASE_URL`). `CONSOLE_BENCH_TASKS` sets the size.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
#[path = "../../core/benches/support.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::Http;
use fieldproof_core::config::{Secret, Settings};
use fieldproof_media_worker::synth::{SynthExif, scene_jpeg};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "bench-password-1";
const RUNS: usize = 40;
const PHOTOS: usize = 200;

/// A console visitor holding a session cookie.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: String,
}

impl Browser {
    async fn sign_in(base: &str, username: &str) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client
            .post(format!("{base}/login"))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Browser {
            base: base.to_owned(),
            client,
            cookie,
        }
    }

    /// GETs a page; returns its size after checking it is a 200.
    async fn page(&self, path: &str) -> usize {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().await.unwrap().len()
    }
}

/// GETs an API page with the bearer token; returns its size.
async fn api(c: &Http, path: &str) -> usize {
    let r = c
        .client
        .get(format!("{}{path}", c.base))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().len()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn row(label: &str, samples: &mut [Duration], bytes: usize) {
    let (median, p99) = support::median_p99(samples);
    println!("{label:<58} {:>10} {:>10} {:>10} B", ms(median), ms(p99), bytes);
}

/// Times `RUNS` requests of each of a pair, interleaved so both see the same machine.
async fn pair<A, B, FA, FB>(label: &str, reference: &str, mut a: A, mut b: B)
where
    A: FnMut() -> FA,
    B: FnMut() -> FB,
    FA: std::future::Future<Output = usize>,
    FB: std::future::Future<Output = usize>,
{
    let (mut sa, mut sb, mut bytes_a, mut bytes_b) = (Vec::new(), Vec::new(), 0, 0);
    a().await;
    b().await;
    for _ in 0..RUNS {
        let t = Instant::now();
        bytes_a = a().await;
        sa.push(t.elapsed());
        let t = Instant::now();
        bytes_b = b().await;
        sb.push(t.elapsed());
    }
    row(label, &mut sa, bytes_a);
    row(reference, &mut sb, bytes_b);
}

#[tokio::main]
async fn main() {
    let tasks: usize = std::env::var("CONSOLE_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (store, db_name) = match support::fresh_store("console", 4).await {
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
        database_url: Some(Secret::new(url.clone())),
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

    let admin = Http::login(&base, "admin", PASSWORD).await;
    let org = |name: &str, kind: &str| json!({ "name": name, "kind": kind, "region_code": "130203", "contacts": [] });
    let group = admin.post("/api/v1/orgs", &org("督查组", "supervision")).await["id"].clone();
    let agency = admin.post("/api/v1/orgs", &org("办理机构", "agency")).await["id"].clone();
    for (name, role, org) in [("sup", "supervisor", &group), ("staff", "agency", &agency)] {
        admin
            .post(
                "/api/v1/users",
                &json!({ "username": name, "password": PASSWORD, "role": role, "display_name": name, "org_id": org }),
            )
            .await;
    }
    let supervisor = Http::login(&base, "sup", PASSWORD).await;
    let staff = Http::login(&base, "staff", PASSWORD).await;
    let (lat, lon) = (39.6305, 118.1804);
    let site = supervisor
        .post(
            "/api/v1/sites",
            &json!({ "name": "唐山钢铁三厂", "lat": lat, "lon": lon, "datum": "wgs84", "radius_m": 300 }),
        )
        .await["id"]
        .clone();
    let now = Utc::now();

    // The task under review: 10 reports of 20 photos each, processed by the real pipeline.
    let started = Instant::now();
    let task = supervisor
        .post(
            "/api/v1/tasks",
            &json!({
                "title": "煤场苫盖整改", "description": "露天煤堆未苫盖", "site_id": site, "agency_id": agency,
                "due_at": now + chrono::Duration::days(90),
                "phases": [{ "title": "第1阶段", "due_at": now + chrono::Duration::days(10) }],
            }),
        )
        .await;
    let task_id = task["id"].as_str().unwrap().to_owned();
    let phase_id = task["phases"][0]["id"].as_str().unwrap().to_owned();
    let taken = now.format("%Y:%m:%d %H:%M:%S").to_string();
    for r in 0..PHOTOS / 20 {
        let record = uuid::Uuid::new_v4();
        let put = staff
            .client
            .put(format!("{base}/mobile/v1/records/{record}"))
            .bearer_auth(&staff.token)
            .json(&json!({ "task_id": task_id, "phase_id": phase_id, "kind": "rectification", "note": format!("第{r}次汇报"), "device_time": now }))
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success());
        for p in 0..20 {
            let exif = SynthExif {
                datetime_original: Some(taken.clone()),
                offset_time_original: Some("+00:00".into()),
                gps: Some((lat + 0.0001 * p as f64, lon)),
                ..SynthExif::default()
            };
            let bytes = scene_jpeg(320, 240, (r * 20 + p) as u32, &exif).unwrap();
            let r = staff
                .client
                .put(format!(
                    "{base}/mobile/v1/records/{record}/photos/{}",
                    uuid::Uuid::new_v4()
                ))
                .bearer_auth(&staff.token)
                .header("content-type", "image/jpeg")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    }
    let processed = fieldproof_media_worker::Worker::new(app.clone())
        .drain()
        .await
        .unwrap();
    println!(
        "seeded a task with {processed} processed photos in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The rest of the list: tasks of the same group and agency, written directly.
    let started = Instant::now();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let creator: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE username = 'sup'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tasks (id, title, description, site_id, due_at, status, created_by, created_at, group_id, agency_id, \
                            region_code, next_due_at, search_text) \
         SELECT gen_random_uuid(), '第' || i || '号整改任务', '扬尘治理', $1::uuid, $2 + make_interval(days => i % 200), \
                CASE WHEN i % 5 = 0 THEN 'completed' ELSE 'in_progress' END, $3, $2 - make_interval(secs => i), $4::uuid, $5::uuid, \
                '130203', CASE WHEN i % 5 = 0 THEN NULL ELSE $2 + make_interval(days => (i % 60) - 20) END, \
                '第' || i || '号整改任务' || chr(10) || '扬尘治理' \
         FROM generate_series(1, $6::int) AS i",
    )
    .bind(site.as_str().unwrap().parse::<uuid::Uuid>().unwrap())
    .bind(now)
    .bind(creator)
    .bind(group.as_str().unwrap().parse::<uuid::Uuid>().unwrap())
    .bind(agency.as_str().unwrap().parse::<uuid::Uuid>().unwrap())
    .bind(tasks as i32)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    pool.close().await;
    println!(
        "seeded {tasks} more tasks in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );

    let browser = Browser::sign_in(&base, "sup").await;
    let html = reqwest::Client::new()
        .get(format!("{base}/tasks/{task_id}"))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("<figure class=").count() / 2,
        PHOTOS,
        "each photo in its report and in before/after"
    );
    let next_cursor = {
        let page: serde_json::Value = supervisor
            .client
            .get(format!("{base}/api/v1/tasks?limit=50"))
            .bearer_auth(&supervisor.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["next_cursor"].as_str().unwrap().to_owned()
    };
    println!(
        "{:<58} {:>10} {:>10} {:>12}",
        format!("(PostgreSQL, {} tasks)", tasks + 1),
        "median",
        "p99",
        "size"
    );
    let task_page = format!("/tasks/{task_id}");
    let task_api = format!("/api/v1/tasks/{task_id}");
    pair(
        "console task page, 200 photos (HTML, all sections)",
        "reference: the same task as API JSON",
        || browser.page(&task_page),
        || api(&supervisor, &task_api),
    )
    .await;
    pair(
        "console task list, first page of 50",
        "reference: API list, first page of 50",
        || browser.page("/tasks"),
        || api(&supervisor, "/api/v1/tasks?limit=50"),
    )
    .await;
    pair(
        "console task list, red and text-filtered",
        "reference: API list, same filters",
        || browser.page("/tasks?light=red&q=%E6%95%B4%E6%94%B9"),
        || {
            api(
                &supervisor,
                "/api/v1/tasks?limit=50&light=red&q=%E6%95%B4%E6%94%B9",
            )
        },
    )
    .await;
    pair(
        "console light counts over every task (loaded after the list)",
        "reference: API light counts",
        || browser.page("/tasks/lights"),
        || api(&supervisor, "/api/v1/tasks/lights"),
    )
    .await;
    let next_console = format!("/tasks?cursor={next_cursor}");
    let next_api = format!("/api/v1/tasks?limit=50&cursor={next_cursor}");
    pair(
        "console task list, second page (cursor)",
        "reference: API list, second page",
        || browser.page(&next_console),
        || api(&supervisor, &next_api),
    )
    .await;

    shutdown.cancel();
    let _ = server.await;
    app.store.close().await;
    store.close().await;
    support::drop_database(store, &db_name).await.unwrap();
}
