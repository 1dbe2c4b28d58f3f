//! A fresh PostgreSQL database per test on the local server. Without a reachable server the
//! PostgreSQL tests skip, except under `CI`, where they fail.

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The administrative URL; override with `FIELDPROOF_TEST_PG_URL`.
fn admin_url() -> String {
    std::env::var("FIELDPROOF_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    name: String,
}

impl TestDb {
    /// Creates an empty database, or `None` (outside CI) when PostgreSQL is not reachable.
    pub async fn create() -> Option<TestDb> {
        let admin = admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipping: PostgreSQL not reachable at {admin}: {e}");
                return None;
            }
            Err(e) => panic!("CI is set but PostgreSQL is not reachable at {admin}: {e}"),
        };
        let name = format!("fp_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(b, _)| b)
            .to_owned();
        Some(TestDb {
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// Drops the database (call after closing every pool on it).
    pub async fn drop_db(self) {
        if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .execute(&mut conn)
                .await;
        }
    }
}
