//! What the hash chain costs: 16 concurrent writers append audit events on PostgreSQL, each in
//! its own transaction like a real change, next to the same number of plain inserts into an
//! unchained table of the same shape, in the same run. The chained figure counts until every
//! event is also sealed into the chain by a sealer running alongside, as in production.
//!
//! Run: `cargo bench -p fieldproof-core --bench audit_chain` (PostgreSQL on 127.0.0.1:5432,
//! or `FIELDPROOF_BENCH_DATABASE_URL`). `AUDIT_BENCH_EVENTS` sets the events per writer.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use fieldproof_core::audit::{Actor, AuditEvent, ClientInfo};
use fieldproof_core::ids::{TaskId, UserId};
use fieldproof_core::store::Store;

const WRITERS: usize = 16;

fn event(writer: usize, i: usize) -> AuditEvent {
    let actor = Actor {
        user_id: Some(UserId::new()),
        org_id: None,
        role: Some("supervisor".into()),
        client: ClientInfo::new(Some("10.1.2.3".into()), Some("bench/1.0")),
    };
    AuditEvent::new(
        Utc::now(),
        &actor,
        "report.accepted",
        "record",
        uuid::Uuid::now_v7(),
        &serde_json::json!({ "writer": writer, "i": i, "comment": "整改到位，同意验收" }),
    )
    .on_task(TaskId::new())
}

async fn plain_inserts(pool: &sqlx::PgPool, per_writer: usize) -> Duration {
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let e = event(w, i);
                let mut tx = pool.begin().await.unwrap();
                sqlx::query(
                    "INSERT INTO plain_events (id, at, actor_id, actor_org_id, actor_role, client_ip, user_agent, \
                     action, entity_kind, entity_id, task_id, summary) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(e.id.0)
                .bind(e.at)
                .bind(e.actor.user_id.map(|u| u.0))
                .bind(e.actor.org_id.map(|o| o.0))
                .bind(e.actor.role.as_deref())
                .bind(e.actor.client.ip.as_deref())
                .bind(e.actor.client.user_agent.as_deref())
                .bind(&e.action)
                .bind(&e.entity_kind)
                .bind(e.entity_id)
                .bind(e.task_id.map(|t| t.0))
                .bind(&e.summary)
                .execute(&mut *tx)
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    start.elapsed()
}

/// Chained appends with a sealer alongside; returns (all written, all written and sealed).
async fn chained_appends(store: &Store, per_writer: usize) -> (Duration, Duration) {
    let start = Instant::now();
    let writing = Arc::new(AtomicBool::new(true));
    let sealer = {
        let store = store.clone();
        let writing = writing.clone();
        tokio::spawn(async move {
            loop {
                let moved = store.seal_audit(5_000, Utc::now()).await.unwrap();
                if moved.is_none() {
                    if !writing.load(Ordering::SeqCst) && store.unsealed_events().await.unwrap() == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..per_writer {
                store.append_audit(&event(w, i)).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let written = start.elapsed();
    writing.store(false, Ordering::SeqCst);
    sealer.await.unwrap();
    (written, start.elapsed())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let per_writer: usize = std::env::var("AUDIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let (store, name) = match support::fresh_store("audit", WRITERS as u32 + 2).await {
        Ok(s) => s,
        Err(e) => {
            println!("audit_chain: skipped, PostgreSQL is not reachable: {e}");
            return;
        }
    };
    let Store::Postgres(pool) = &store else {
        unreachable!("the benchmark connects to PostgreSQL")
    };
    sqlx::query("CREATE TABLE plain_events (LIKE audit_events INCLUDING DEFAULTS)")
        .execute(pool)
        .await
        .unwrap();
    let total = (WRITERS * per_writer) as f64;
    // A short warm-up of both paths so connections and caches are equal.
    plain_inserts(pool, 20).await;
    chained_appends(&store, 20).await;
    // Two interleaved rounds, so that noise from the rest of the machine shows as a spread
    // instead of favouring whichever path ran in a quiet moment.
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let plain = plain_inserts(pool, per_writer).await;
        let (written, sealed) = chained_appends(&store, per_writer).await;
        rounds.push((plain, written, sealed));
    }
    let report = fieldproof_core::service::audit::Verification {
        chain: {
            let mut walk = fieldproof_core::audit::ChainCheck::new(None);
            let mut after = 0;
            loop {
                let page = store.sealed_events(after, 10_000).await.unwrap();
                let Some(last) = page.last() else { break };
                after = last.seq;
                for e in &page {
                    assert!(walk.push(e), "the chain broke under load");
                }
            }
            walk.finish()
        },
        unsealed: store.unsealed_events().await.unwrap(),
    };
    let rate = |d: Duration| total / d.as_secs_f64();
    println!("audit_chain: {WRITERS} writers × {per_writer} events, one transaction each, PostgreSQL");
    for (i, (plain, written, sealed)) in rounds.iter().enumerate() {
        println!("  round {}", i + 1);
        println!(
            "    plain inserts (unchained table)   {:>8.0} events/s  ({plain:.2?})",
            rate(*plain)
        );
        println!(
            "    chained appends, committed        {:>8.0} events/s  ({written:.2?})",
            rate(*written)
        );
        println!(
            "    chained appends, sealed in chain  {:>8.0} events/s  ({sealed:.2?})",
            rate(*sealed)
        );
        println!(
            "    chained ÷ plain: {:.2} committed, {:.2} sealed (the target is ≥ 0.50)",
            rate(*written) / rate(*plain),
            rate(*sealed) / rate(*plain)
        );
    }
    println!(
        "  chain verified: ok={} checked={} unsealed={}",
        report.chain.ok, report.chain.checked, report.unsealed
    );
    support::drop_database(store, &name).await.unwrap();
}
