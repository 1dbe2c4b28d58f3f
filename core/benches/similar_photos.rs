//! Looking up `similar_photo` among a million photos on PostgreSQL: the quarter-index lookup the
//! worker uses, next to the exact-bytes lookup (`duplicate_photo`, one B-tree probe) as the
//! reference and a full scan comparing every hash as the naive alternative.
//!
//! Run: `cargo bench -p fieldproof-core --bench similar_photos` (PostgreSQL on 127.0.0.1:5432,
//! or `FIELDPROOF_BENCH_DATABASE_URL`). `SIMILAR_BENCH_PHOTOS` sets the number of photos.
//!
//! Real perceptual hashes are not uniform, so each bit is drawn with its own probability
//! between 0.25 and 0.75; that makes the quarter buckets fuller than uniform hashes would.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use fieldproof_core::ids::{PhotoId, RecordId};
use fieldproof_core::store::Store;
use uuid::Uuid;

const RECORDS: usize = 20_000;
const RUNS: usize = 300;
const MAX_DISTANCE: u32 = 6;

/// A small deterministic generator, so every run seeds the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A hash whose bit `i` is set with probability `bias[i]`.
    fn hash(&mut self, bias: &[f64; 64]) -> u64 {
        let mut h = 0u64;
        for (i, p) in bias.iter().enumerate() {
            let unit = (self.next() % 1_000_000) as f64 / 1_000_000.0;
            h |= u64::from(unit < *p) << i;
        }
        h
    }
}

fn quarter(h: u64, q: u32) -> i32 {
    i32::from((h >> (16 * q)) as u16)
}

async fn seed(pool: &sqlx::PgPool, photos: usize) -> (Vec<Uuid>, Vec<(u64, String)>) {
    let now = Utc::now();
    let org = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orgs (id, name, kind, region_code, contacts, active, created_at) \
         VALUES ($1, 'group', 'supervision', '130202', '[]', TRUE, $2)",
    )
    .bind(org)
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
    let user = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, password_hash, org_id, created_at) \
         VALUES ($1, 'bench', 'bench', 'inspector', 'x', $2, $3)",
    )
    .bind(user)
    .bind(org)
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
    let task = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tasks (id, title, site_id, due_at, status, created_by, created_at, group_id) \
         VALUES ($1, 'task', $2, $3, 'in_progress', $4, $3, $5)",
    )
    .bind(task)
    .bind(site)
    .bind(now)
    .bind(user)
    .bind(org)
    .execute(pool)
    .await
    .unwrap();
    let records: Vec<Uuid> = (0..RECORDS).map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO records (id, task_id, kind, note, device_time, created_by, received_at) \
         SELECT u.id, $2, 'inspection', '', $3, $4, $3 FROM UNNEST($1::uuid[]) AS u(id)",
    )
    .bind(&records)
    .bind(task)
    .bind(now)
    .bind(user)
    .execute(pool)
    .await
    .unwrap();
    let mut rng = Lcg(7);
    let mut bias = [0.5; 64];
    for b in &mut bias {
        *b = 0.25 + (rng.below(500) as f64) / 1000.0;
    }
    let mut samples = Vec::new();
    for chunk in (0..photos).collect::<Vec<_>>().chunks(50_000) {
        let mut ids = Vec::with_capacity(chunk.len());
        let mut record_ids = Vec::with_capacity(chunk.len());
        let mut shas = Vec::with_capacity(chunk.len());
        let mut hashes = Vec::with_capacity(chunk.len());
        let mut quarters: [Vec<i32>; 4] = Default::default();
        for i in chunk {
            let h = rng.hash(&bias);
            let sha = format!("{:064x}", u128::from(rng.next()) << 64 | *i as u128);
            if i % (photos / 1000).max(1) == 0 {
                samples.push((h, sha.clone()));
            }
            ids.push(Uuid::now_v7());
            record_ids.push(records[rng.below(RECORDS as u64) as usize]);
            shas.push(sha);
            hashes.push(h as i64);
            for (q, v) in quarters.iter_mut().enumerate() {
                v.push(quarter(h, q as u32));
            }
        }
        sqlx::query(
            "INSERT INTO photos (id, record_id, sha256, size_bytes, content_type, original_key, status, \
             next_attempt_at, received_at, phash, phash_0, phash_1, phash_2, phash_3) \
             SELECT u.id, u.record_id, u.sha, 3000000, 'image/jpeg', 'originals/x', 'done', $8, $8, \
                    u.h, u.q0, u.q1, u.q2, u.q3 \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::int[], $9::int[]) \
                  AS u(id, record_id, sha, h, q0, q1, q2, q3)",
        )
        .bind(&ids)
        .bind(&record_ids)
        .bind(&shas)
        .bind(&hashes)
        .bind(&quarters[0])
        .bind(&quarters[1])
        .bind(&quarters[2])
        .bind(now)
        .bind(&quarters[3])
        .execute(pool)
        .await
        .unwrap();
    }
    // What autovacuum does to a settled table: statistics and the visibility map.
    sqlx::query("VACUUM ANALYZE photos").execute(pool).await.unwrap();
    (records, samples)
}

fn report(label: &str, mut samples: Vec<Duration>, found: usize) {
    let (median, p99) = support::median_p99(&mut samples);
    println!(
        "  {label:<52} {median:>10.2?} {p99:>10.2?} {found:>5}/{}",
        samples.len()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let photos: usize = std::env::var("SIMILAR_BENCH_PHOTOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (store, name) = match support::fresh_store("similar", 4).await {
        Ok(s) => s,
        Err(e) => {
            println!("similar_photos: skipped, PostgreSQL is not reachable: {e}");
            return;
        }
    };
    let Store::Postgres(pool) = &store else {
        unreachable!("the benchmark connects to PostgreSQL")
    };
    let started = Instant::now();
    let (records, samples) = seed(pool, photos).await;
    println!(
        "similar_photos: {photos} photos in {RECORDS} records seeded in {:.1?}",
        started.elapsed()
    );
    let mut rng = Lcg(99);
    // A near-copy of a stored photo: three bits flipped, looked up from another record.
    let queries: Vec<(u64, String, RecordId)> = (0..RUNS)
        .map(|i| {
            let (h, sha) = &samples[i % samples.len()];
            let mut q = *h;
            for _ in 0..3 {
                q ^= 1 << rng.below(64);
            }
            (
                q,
                sha.clone(),
                RecordId(records[rng.below(RECORDS as u64) as usize]),
            )
        })
        .collect();
    for (q, sha, record) in queries.iter().take(20) {
        store.find_similar_use(*q, MAX_DISTANCE, *record).await.unwrap();
        store.find_duplicate_use(sha, PhotoId::new()).await.unwrap();
    }
    println!(
        "  {:<52} {:>10} {:>10} {:>11}",
        "lookup", "median", "p99", "found"
    );
    let (mut times, mut found) = (Vec::new(), 0);
    for (_, sha, _) in &queries {
        let start = Instant::now();
        found += usize::from(
            store
                .find_duplicate_use(sha, PhotoId::new())
                .await
                .unwrap()
                .is_some(),
        );
        times.push(start.elapsed());
    }
    report("reference: same bytes (sha256 index)", times, found);
    let (mut times, mut found) = (Vec::new(), 0);
    for (q, _, record) in &queries {
        let start = Instant::now();
        found += usize::from(
            store
                .find_similar_use(*q, MAX_DISTANCE, *record)
                .await
                .unwrap()
                .is_some(),
        );
        times.push(start.elapsed());
    }
    report("similar within 6 bits (quarter indexes)", times, found);
    let (mut times, mut found) = (Vec::new(), 0);
    for (q, _, record) in queries.iter().take(20) {
        let start = Instant::now();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM photos WHERE phash IS NOT NULL AND record_id <> $2 \
             AND bit_count((phash # $1)::bit(64)) <= $3",
        )
        .bind(*q as i64)
        .bind(record.0)
        .bind(i64::from(MAX_DISTANCE))
        .fetch_one(pool)
        .await
        .unwrap();
        found += usize::from(n > 0);
        times.push(start.elapsed());
    }
    report("naive: compare every hash (full scan, 20 runs)", times, found);
    support::drop_database(store, &name).await.unwrap();
}
