//! What the HTTP benchmarks share: a signed-in client of a running server.

#![allow(dead_code, reason = "each benchmark uses the part it needs")]

use serde_json::{Value, json};

/// A signed-in HTTP client of a running server.
#[derive(Clone)]
pub struct Http {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The connection pool.
    pub client: reqwest::Client,
    /// The bearer token.
    pub token: String,
}

impl Http {
    /// Signs in as `username`.
    pub async fn login(base: &str, username: &str, password: &str) -> Http {
        fieldproof_core::sms::install_tls_provider();
        let client = reqwest::Client::new();
        let r: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Http {
            base: base.to_owned(),
            client,
            token: r["token"].as_str().unwrap().to_owned(),
        }
    }

    /// POSTs JSON and returns the JSON answer, which must be a success.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// GET with gzip, as a phone asks; returns the decoded JSON and the bytes on the wire.
    pub async fn get_gzip(&self, path: &str) -> (Value, usize) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let gzipped = r.headers().get("content-encoding").is_some();
        let wire = r.bytes().await.unwrap();
        let json = if gzipped {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&wire[..]), &mut text).unwrap();
            serde_json::from_slice(&text).unwrap()
        } else {
            serde_json::from_slice(&wire).unwrap()
        };
        (json, wire.len())
    }
}
