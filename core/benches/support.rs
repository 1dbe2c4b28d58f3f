//! What the PostgreSQL benchmarks share: a fresh, migrated database per run.

use fieldproof_core::store::Store;

/// The server the benchmarks use; `FIELDPROOF_BENCH_DATABASE_URL` overrides it (it must name
/// the `postgres` maintenance database of a server where the user may create databases).
pub fn admin_url() -> String {
    std::env::var("FIELDPROOF_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty database named after `what`, migrates it and connects `connections`.
pub async fn fresh_store(
    what: &str,
    connections: u32,
) -> Result<(Store, String), Box<dyn std::error::Error>> {
    let admin = admin_url();
    let name = format!("fieldproof_bench_{what}_{}", std::process::id());
    let maintenance = sqlx::PgPool::connect(&admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&maintenance)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&maintenance)
        .await?;
    maintenance.close().await;
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => return Err("the benchmark database URL has no database name".into()),
    };
    let store = Store::connect(&url, connections).await?;
    store.migrate().await?;
    Ok((store, name))
}

/// Drops the database made by [`fresh_store`].
pub async fn drop_database(store: Store, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    store.close().await;
    let maintenance = sqlx::PgPool::connect(&admin_url()).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&maintenance)
        .await?;
    Ok(())
}

/// The median and 99th percentile of `samples`.
#[allow(
    dead_code,
    reason = "each bench compiles this module; the audit bench reports rates"
)]
pub fn median_p99(samples: &mut [std::time::Duration]) -> (std::time::Duration, std::time::Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}
