//! Listing 100 tasks out of 100,000 on PostgreSQL with the filters the console and phones use,
//! next to the unfiltered first page as the reference, with the executed query plan.
//!
//! Run: `cargo bench -p fieldproof-core --bench task_list` (PostgreSQL on 127.0.0.1:5432, or
//! `FIELDPROOF_BENCH_DATABASE_URL`). `TASK_BENCH_TASKS` sets the number of tasks.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fieldproof_core::domain::TaskStatus;
use fieldproof_core::ids::{OrgId, TaskId};
use fieldproof_core::store::{Scope, Store, TaskFilter, TaskSort};
use uuid::Uuid;

const GROUPS: usize = 5;
const AGENCIES: usize = 50;
const REGIONS: [&str; 5] = ["130202", "130203", "130204", "130102", "130104"];
const RUNS: usize = 200;

/// A small deterministic generator, so every run seeds the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

struct Seeded {
    groups: Vec<OrgId>,
    agencies: Vec<OrgId>,
}

async fn seed(pool: &sqlx::PgPool, tasks: usize, now: DateTime<Utc>) -> Seeded {
    let mut orgs = Vec::new();
    for (i, kind) in (0..GROUPS)
        .map(|i| (i, "supervision"))
        .chain((0..AGENCIES).map(|i| (i, "agency")))
    {
        let id = OrgId::new();
        sqlx::query(
            "INSERT INTO orgs (id, name, kind, region_code, contacts, active, created_at) \
             VALUES ($1, $2, $3, $4, '[]', TRUE, $5)",
        )
        .bind(id)
        .bind(format!("{kind} {i}"))
        .bind(kind)
        .bind(REGIONS[i % REGIONS.len()])
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        orgs.push((kind, id));
    }
    let groups: Vec<OrgId> = orgs
        .iter()
        .filter(|o| o.0 == "supervision")
        .map(|o| o.1)
        .collect();
    let agencies: Vec<OrgId> = orgs.iter().filter(|o| o.0 == "agency").map(|o| o.1).collect();
    let user = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, password_hash, org_id, created_at) \
         VALUES ($1, 'bench', 'bench', 'supervisor', 'x', $2, $3)",
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
    let mut rng = Lcg(42);
    let words = [
        "煤场苫盖",
        "脱硫设施",
        "道路扬尘",
        "VOCs 治理",
        "锅炉改造",
        "堆场围挡",
    ];
    for chunk in (0..tasks).collect::<Vec<_>>().chunks(10_000) {
        let mut t = TaskColumns::default();
        let mut p = PhaseColumns::default();
        for _ in chunk {
            let id = TaskId::new().0;
            let status = match rng.next(20) {
                0..=11 => TaskStatus::InProgress,
                12..=14 => TaskStatus::Completed,
                15..=16 => TaskStatus::Closed,
                17..=18 => TaskStatus::Issued,
                _ => TaskStatus::Cancelled,
            };
            let agency = agencies[rng.next(AGENCIES as u64) as usize];
            let agency_index = agencies.iter().position(|a| *a == agency).unwrap_or(0);
            let mut phase_dues = Vec::new();
            if matches!(
                status,
                TaskStatus::InProgress | TaskStatus::Completed | TaskStatus::Closed
            ) {
                let first = now + chrono::Duration::days(rng.next(90) as i64 - 30);
                let accepted = if status == TaskStatus::InProgress {
                    rng.next(4)
                } else {
                    4
                };
                for seq in 0..4_i64 {
                    let due = first + chrono::Duration::days(15 * seq);
                    let phase_status = if (seq as u64) < accepted {
                        "accepted"
                    } else {
                        "open"
                    };
                    p.id.push(Uuid::now_v7());
                    p.task_id.push(id);
                    p.seq.push(seq as i32 + 1);
                    p.due_at.push(due);
                    p.status.push(phase_status.to_owned());
                    if phase_status != "accepted" {
                        phase_dues.push(due);
                    }
                }
            }
            let title = format!(
                "{}整改 #{}",
                words[rng.next(words.len() as u64) as usize],
                t.id.len()
            );
            t.id.push(id);
            t.title.push(title.clone());
            t.status.push(status.as_str().to_owned());
            t.group.push(groups[rng.next(GROUPS as u64) as usize].0);
            t.agency.push(agency.0);
            t.region.push(REGIONS[agency_index % REGIONS.len()].to_owned());
            t.next_due.push(if status == TaskStatus::InProgress {
                phase_dues.into_iter().min()
            } else {
                None
            });
            t.search.push(title.to_lowercase());
        }
        sqlx::query(
            "INSERT INTO tasks (id, title, site_id, due_at, status, created_by, created_at, group_id, agency_id, \
             region_code, next_due_at, search_text) \
             SELECT u.id, u.title, $3, $4, u.status, $5, $4, u.grp, u.agency, u.region, u.next_due, u.search \
             FROM UNNEST($1::uuid[], $2::text[], $6::text[], $7::uuid[], $8::uuid[], $9::text[], $10::timestamptz[], \
                         $11::text[]) AS u(id, title, status, grp, agency, region, next_due, search)",
        )
        .bind(&t.id)
        .bind(&t.title)
        .bind(site)
        .bind(now)
        .bind(user)
        .bind(&t.status)
        .bind(&t.group)
        .bind(&t.agency)
        .bind(&t.region)
        .bind(&t.next_due)
        .bind(&t.search)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO phases (id, task_id, seq, title, due_at, starts_at, status) \
             SELECT u.id, u.task_id, u.seq, 'phase', u.due_at, $6, u.status \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::timestamptz[], $5::text[]) AS u(id, task_id, seq, due_at, status)",
        )
        .bind(&p.id)
        .bind(&p.task_id)
        .bind(&p.seq)
        .bind(&p.due_at)
        .bind(&p.status)
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    Seeded { groups, agencies }
}

#[derive(Default)]
struct TaskColumns {
    id: Vec<Uuid>,
    title: Vec<String>,
    status: Vec<String>,
    group: Vec<Uuid>,
    agency: Vec<Uuid>,
    region: Vec<String>,
    next_due: Vec<Option<DateTime<Utc>>>,
    search: Vec<String>,
}

#[derive(Default)]
struct PhaseColumns {
    id: Vec<Uuid>,
    task_id: Vec<Uuid>,
    seq: Vec<i32>,
    due_at: Vec<DateTime<Utc>>,
    status: Vec<String>,
}

async fn measure(
    store: &Store,
    scope: Scope,
    filter: &TaskFilter,
    now: DateTime<Utc>,
) -> (Duration, Duration, usize) {
    for _ in 0..10 {
        store.list_tasks(scope, filter, now).await.unwrap();
    }
    let mut samples = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        rows = store.list_tasks(scope, filter, now).await.unwrap().len();
        samples.push(start.elapsed());
    }
    let (median, p99) = support::median_p99(&mut samples);
    (median, p99, rows)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let tasks: usize = std::env::var("TASK_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (store, name) = match support::fresh_store("tasks", 4).await {
        Ok(s) => s,
        Err(e) => {
            println!("task_list: skipped, PostgreSQL is not reachable: {e}");
            return;
        }
    };
    let Store::Postgres(pool) = &store else {
        unreachable!("the benchmark connects to PostgreSQL")
    };
    let now = Utc::now();
    let started = Instant::now();
    let seeded = seed(pool, tasks, now).await;
    println!(
        "task_list: {tasks} tasks (4 phases each when planned) seeded in {:.1?}",
        started.elapsed()
    );
    let page = |f: TaskFilter| TaskFilter { limit: 100, ..f };
    let cases: Vec<(&str, Scope, TaskFilter)> = vec![
        (
            "reference: first page, no filter (admin)",
            Scope::All,
            page(TaskFilter::default()),
        ),
        (
            "agency's own: in_progress + overdue",
            Scope::Agency(seeded.agencies[7]),
            page(TaskFilter {
                status: Some(TaskStatus::InProgress),
                overdue: Some(true),
                ..TaskFilter::default()
            }),
        ),
        (
            "group's: region 1302 + sort next_due",
            Scope::Group(seeded.groups[1]),
            page(TaskFilter {
                region_prefix: Some("1302".into()),
                sort: TaskSort::NextDue,
                ..TaskFilter::default()
            }),
        ),
        (
            "all overdue, most overdue first (admin)",
            Scope::All,
            page(TaskFilter {
                overdue: Some(true),
                sort: TaskSort::NextDue,
                ..TaskFilter::default()
            }),
        ),
        (
            "group's: agency + status + text",
            Scope::Group(seeded.groups[2]),
            page(TaskFilter {
                agency_id: Some(seeded.agencies[3]),
                status: Some(TaskStatus::InProgress),
                text: Some("煤场".into()),
                ..TaskFilter::default()
            }),
        ),
        (
            "all: text only",
            Scope::All,
            page(TaskFilter {
                text: Some("脱硫".into()),
                ..TaskFilter::default()
            }),
        ),
    ];
    println!(
        "  {:<44} {:>10} {:>10} {:>6}",
        "query (100 per page)", "median", "p99", "rows"
    );
    for (label, scope, filter) in &cases {
        let (median, p99, rows) = measure(&store, *scope, filter, now).await;
        println!("  {label:<44} {median:>10.2?} {p99:>10.2?} {rows:>6}");
    }
    for (label, scope, filter) in cases.iter().skip(1).take(2) {
        println!("\n  plan of \"{label}\":");
        for line in store
            .explain_list_tasks(*scope, filter, now)
            .await
            .unwrap()
            .lines()
        {
            println!("    {line}");
        }
    }
    support::drop_database(store, &name).await.unwrap();
}
