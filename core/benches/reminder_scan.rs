//! The reminder scan over 1,000,000 phases on PostgreSQL, 1% of them due or overdue: the
//! candidate query (with its executed plan), the first scan that creates every reminder with
//! its messages and audit events, and a second scan right after that creates nothing; next to
//! a full count of the phase table as the reference.
//!
//! Run: `cargo bench -p fieldproof-core --bench reminder_scan` (PostgreSQL on 127.0.0.1:5432,
//! or `FIELDPROOF_BENCH_DATABASE_URL`). `REMINDER_BENCH_TASKS` sets the number of tasks (four
//! phases each; default 250,000).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fieldproof_core::App;
use fieldproof_core::auth::Passwords;
use fieldproof_core::config::Settings;
use fieldproof_core::service::reminders;
use fieldproof_core::storage::ObjectStore;
use fieldproof_core::store::Store;
use uuid::Uuid;

const RUNS: usize = 5;

/// Orgs with two contacts each, a supervisor with a mobile, one site, `tasks` tasks with four
/// phases each; the first 1% of tasks have every phase due between 20 days ago and tomorrow,
/// the others are due 10 days or more ahead.
async fn seed(pool: &sqlx::PgPool, tasks: i64, now: DateTime<Utc>) {
    let contacts =
        r#"[{"name":"王工","mobile":"13800138000"},{"name":"李组长","mobile":"13900000001","leader":true}]"#;
    let mut groups = Vec::new();
    let mut agencies = Vec::new();
    for i in 0..55 {
        let (kind, list) = if i < 5 {
            ("supervision", &mut groups)
        } else {
            ("agency", &mut agencies)
        };
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO orgs (id, name, kind, region_code, contacts, active, created_at) \
             VALUES ($1, $2, $3, '130202', $4, TRUE, $5)",
        )
        .bind(id)
        .bind(format!("{kind} {i}"))
        .bind(kind)
        .bind(contacts)
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        list.push(id);
    }
    let user = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, password_hash, org_id, created_at, mobile) \
         VALUES ($1, 'bench', 'bench', 'supervisor', 'x', $2, $3, '13700000002')",
    )
    .bind(user)
    .bind(groups[0])
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
    let site = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO sites (id, name, input_lat, input_lon, datum, lat, lon, radius_m, timezone, created_by, created_at) \
         VALUES ($1, 'site', 39.6, 118.2, 'wgs84', 39.6, 118.2, 300, 'Asia/Shanghai', $2, $3)",
    )
    .bind(site)
    .bind(user)
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
    let due_tasks = tasks / 100;
    sqlx::query(
        "INSERT INTO tasks (id, title, site_id, due_at, status, created_by, created_at, group_id, agency_id, search_text) \
         SELECT md5('t' || g)::uuid, '任务' || g, $1, $2::timestamptz + interval '400 days', \
                CASE WHEN g <= $3 OR g % 10 < 6 THEN 'in_progress' ELSE 'completed' END, \
                $4, $2, ($5::uuid[])[1 + g % 5], ($6::uuid[])[1 + g % 50], '' \
         FROM generate_series(1, $7::bigint) g",
    )
    .bind(site)
    .bind(now)
    .bind(due_tasks)
    .bind(user)
    .bind(&groups)
    .bind(&agencies)
    .bind(tasks)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO phases (id, task_id, seq, title, due_at, status, starts_at) \
         SELECT md5('p' || g || '-' || s)::uuid, md5('t' || g)::uuid, s, '第' || s || '阶段', \
                CASE WHEN g <= $2 THEN $1::timestamptz - interval '20 days' + ((g * 4 + s) % 22) * interval '1 day' \
                     ELSE $1::timestamptz + (10 + g % 365 + 15 * s) * interval '1 day' END, \
                CASE WHEN g > $2 AND g % 10 >= 6 THEN 'accepted' ELSE 'open' END, \
                $1::timestamptz - interval '30 days' \
         FROM generate_series(1, $3::bigint) g, generate_series(1, 4) s",
    )
    .bind(now)
    .bind(due_tasks)
    .bind(tasks)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE tasks t SET next_due_at = d.due FROM (SELECT task_id, MIN(due_at) AS due FROM phases \
         WHERE status <> 'accepted' GROUP BY task_id) d WHERE d.task_id = t.id",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tasks: i64 = std::env::var("REMINDER_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250_000);
    let (store, name) = support::fresh_store("reminders", 8).await?;
    let Store::Postgres(pool) = store.clone() else {
        return Err("the reminder benchmark needs PostgreSQL".into());
    };
    let now = Utc::now();
    let started = Instant::now();
    seed(&pool, tasks, now).await;
    let phases = count(&pool, "SELECT COUNT(*) FROM phases").await;
    let data = tempfile::tempdir()?;
    let settings = Settings {
        data_dir: data.path().to_path_buf(),
        ..Settings::default()
    };
    let objects = ObjectStore::open(&settings).await?;
    let app = App::new(settings, store.clone(), objects, Passwords::new(1)?);
    let horizon = now + app.settings.schedule().horizon();
    let due = count(
        &pool,
        &format!(
            "SELECT COUNT(*) FROM phases WHERE status <> 'accepted' AND due_at <= '{}'",
            horizon.to_rfc3339()
        ),
    )
    .await;
    println!(
        "seeded {phases} phases of {tasks} tasks ({due} open and due within the warning horizon) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut reference = Vec::new();
    let mut candidates = Vec::new();
    let mut found = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        count(&pool, "SELECT COUNT(*) FROM phases").await;
        reference.push(t.elapsed());
        let t = Instant::now();
        found = store.reminder_candidates(horizon).await?.len();
        candidates.push(t.elapsed());
    }
    let (ref_med, ref_p99) = support::median_p99(&mut reference);
    let (cand_med, cand_p99) = support::median_p99(&mut candidates);

    let t = Instant::now();
    let created = reminders::scan(&app, now).await?;
    let first = t.elapsed();
    let messages = count(&pool, "SELECT COUNT(*) FROM reminder_messages").await;
    let events = count(
        &pool,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'reminder.created'",
    )
    .await;

    let mut again = Vec::new();
    let mut created_again = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        created_again += reminders::scan(&app, now).await?;
        again.push(t.elapsed());
    }
    let (again_med, again_p99) = support::median_p99(&mut again);

    println!("{:<62} {:>10} {:>10}", "", "median", "p99");
    println!(
        "{:<62} {:>8.1} ms {:>7.1} ms",
        "reference: COUNT(*) over all phases",
        ms(ref_med),
        ms(ref_p99)
    );
    println!(
        "{:<62} {:>8.1} ms {:>7.1} ms",
        format!("candidate query ({found} phases)"),
        ms(cand_med),
        ms(cand_p99)
    );
    println!(
        "{:<62} {:>8.1} ms",
        format!("first scan: {created} reminders, {messages} messages, {events} events"),
        ms(first)
    );
    println!(
        "{:<62} {:>8.1} ms {:>7.1} ms",
        format!("second scan right after: {created_again} created"),
        ms(again_med),
        ms(again_p99)
    );
    println!(
        "\nplan of the candidate query:\n{}",
        store.explain_reminder_candidates(horizon).await?
    );
    assert_eq!(created_again, 0, "a second scan created reminders");
    support::drop_database(store, &name).await?;
    Ok(())
}
