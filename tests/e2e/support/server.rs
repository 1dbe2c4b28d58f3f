//! A real server on port 0 against real storage, and a small HTTP client for the tests.

use bytes::Bytes;
use fieldproof_core::App;
use fieldproof_core::config::{Secret, Settings};
use fieldproof_media_worker::Worker;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::pg::TestDb;
use super::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// The bucket of the S3 backends.
pub const BUCKET: &str = "evidence";

/// Where a test server keeps its data.
pub struct Env {
    /// The settings the server runs with.
    pub settings: Settings,
    /// The PostgreSQL database, when scaled out.
    pub db: Option<TestDb>,
    /// The S3 server, when scaled out.
    pub s3: Option<S3Server>,
    /// The data directory.
    _dir: tempfile::TempDir,
}

impl Env {
    /// SQLite file and filesystem objects in a temporary data directory.
    pub async fn embedded() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        Env {
            settings: base_settings(&dir),
            db: None,
            s3: None,
            _dir: dir,
        }
    }

    /// PostgreSQL and an S3-protocol server; `None` when PostgreSQL is absent outside CI.
    pub async fn scaled() -> Option<Env> {
        let db = TestDb::create().await?;
        let s3 = S3Server::start(BUCKET).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = base_settings(&dir);
        settings.database_url = Some(Secret::new(db.url.clone()));
        settings.storage_url = Some(format!("s3://{BUCKET}"));
        settings.s3_endpoint = Some(s3.endpoint.clone());
        settings.s3_access_key_id = Some(Secret::new(ACCESS_KEY));
        settings.s3_secret_access_key = Some(Secret::new(SECRET_KEY));
        Some(Env {
            settings,
            db: Some(db),
            s3: Some(s3),
            _dir: dir,
        })
    }

    /// The `FIELDPROOF_*` variables that make a `fieldproof` process use this environment.
    pub fn process_env(&self) -> Vec<(String, String)> {
        let s = &self.settings;
        let mut vars = vec![
            ("FIELDPROOF_DATA_DIR".into(), s.data_dir.display().to_string()),
            ("FIELDPROOF_DATABASE_URL".into(), s.database_url()),
            ("FIELDPROOF_STORAGE_URL".into(), s.storage_url()),
            ("FIELDPROOF_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("FIELDPROOF_WORKER_POLL_MS".into(), "100".into()),
            (
                "FIELDPROOF_WORKER_LEASE_SECS".into(),
                s.worker_lease_secs.to_string(),
            ),
        ];
        if let Some(endpoint) = &s.s3_endpoint {
            vars.push(("FIELDPROOF_S3_ENDPOINT".into(), endpoint.clone()));
            vars.push(("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()));
            vars.push(("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()));
        }
        vars
    }
}

fn base_settings(dir: &tempfile::TempDir) -> Settings {
    Settings {
        data_dir: dir.path().to_path_buf(),
        admin_password: Some(Secret::new(ADMIN_PASSWORD)),
        max_upload_bytes: 8 * 1024 * 1024,
        worker_poll_ms: 100,
        ..Settings::default()
    }
}

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's context, for draining the queue and inspecting storage.
    pub app: App,
    /// Its environment.
    pub env: Env,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts the real router; photos are processed only when the test drains the queue.
    pub async fn start(env: Env) -> TestServer {
        Self::start_with(env, false).await
    }

    /// Starts the real router, with the media worker in-process when `with_worker`.
    pub async fn start_with(env: Env, with_worker: bool) -> TestServer {
        let app = fieldproof_server::open_app(env.settings.clone())
            .await
            .expect("open app");
        fieldproof_server::bootstrap_admin(&app)
            .await
            .expect("bootstrap admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = CancellationToken::new();
        let (a, s) = (app.clone(), shutdown.clone());
        let handle = tokio::spawn(async move {
            fieldproof_server::serve(a, listener, s, with_worker)
                .await
                .expect("serve");
        });
        TestServer {
            base,
            app,
            env,
            shutdown,
            handle,
        }
    }

    /// Processes every due photo now, as a worker would.
    pub async fn drain(&self) -> usize {
        Worker::new(self.app.clone()).drain().await.expect("drain")
    }

    /// A client without a token.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client logged in as `username`.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let mut c = self.anonymous();
        c.login(username, password).await;
        c
    }

    /// A client logged in as the admin.
    pub async fn admin(&self) -> Client {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user with `role` in the default organisation for it and returns a client
    /// logged in as them.
    pub async fn user(&self, admin: &Client, username: &str, role: &str) -> Client {
        let org = match role {
            "admin" => None,
            "agency" => Some(default_org(admin, "agency").await),
            _ => Some(default_org(admin, "supervision").await),
        };
        self.user_in(admin, username, role, org.as_deref()).await
    }

    /// Creates a user with `role` in `org` and returns a client logged in as them.
    pub async fn user_in(&self, admin: &Client, username: &str, role: &str, org: Option<&str>) -> Client {
        create_user(admin, username, role, org).await;
        self.login(username, &format!("{username}-password")).await
    }

    /// A supervisor of the default group, who may enter sites, issue tasks to the default
    /// agency and file inspections on them.
    pub async fn staff(&self) -> Client {
        staff(&self.admin().await).await
    }

    /// Creates an organisation and returns its id.
    pub async fn org(&self, admin: &Client, name: &str, kind: &str) -> String {
        create_org(admin, name, kind).await
    }

    /// Stops the server and drops its database.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.handle.await;
        self.app.store.close().await;
        if let Some(db) = self.env.db {
            db.drop_db().await;
        }
    }
}

/// An answer: status, headers and body.
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with `status` and `code`.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text()
        );
        assert_eq!(self.json()["code"], code, "{}", self.text());
    }
}

/// A client of the HTTP API.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    /// The bearer token, when logged in.
    pub token: Option<String>,
}

impl Client {
    /// A client of the server at `base`, not logged in.
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            http: {
                fieldproof_core::sms::install_tls_provider();
                reqwest::Client::new()
            },
            token: None,
        }
    }

    /// Logs in and keeps the token.
    pub async fn login(&mut self, username: &str, password: &str) {
        let r = self
            .post(
                "/api/v1/auth/login",
                &json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(r.status, 200, "login {username}: {}", r.text());
        self.token = Some(r.json()["token"].as_str().expect("token").to_owned());
    }

    /// Sends any request built from `reqwest`.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.expect("body");
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A request builder for `method` and `path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(self.request(reqwest::Method::POST, path).json(body))
            .await
    }

    /// PUT JSON.
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(self.request(reqwest::Method::PUT, path).json(body))
            .await
    }

    /// PUT raw bytes.
    pub async fn put_bytes(&self, path: &str, bytes: Vec<u8>, content_type: &str) -> Resp {
        self.send(
            self.request(reqwest::Method::PUT, path)
                .header("content-type", content_type)
                .body(bytes),
        )
        .await
    }
}

/// Creates an organisation in Tangshan and returns its id.
pub async fn create_org(admin: &Client, name: &str, kind: &str) -> String {
    let r = admin
        .post(
            "/api/v1/orgs",
            &json!({ "name": name, "kind": kind, "region_code": "130200",
                     "contacts": [{ "name": "王工", "mobile": "13800138000" }] }),
        )
        .await;
    assert_eq!(r.status, 201, "create org {name}: {}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// The id of the default organisation of `kind` (`supervision` or `agency`), created on first use.
pub async fn default_org(c: &Client, kind: &str) -> String {
    let name = format!("Default {kind}");
    let orgs = c.get("/api/v1/orgs").await.json();
    if let Some(id) = orgs
        .as_array()
        .and_then(|a| a.iter().find(|o| o["name"] == name.as_str()))
        .and_then(|o| o["id"].as_str())
    {
        return id.to_owned();
    }
    create_org(c, &name, kind).await
}

/// Creates a user whose password is `<username>-password`.
pub async fn create_user(admin: &Client, username: &str, role: &str, org: Option<&str>) {
    let r = admin
        .post(
            "/api/v1/users",
            &json!({ "username": username, "password": format!("{username}-password"), "role": role,
                     "display_name": username, "org_id": org }),
        )
        .await;
    assert_eq!(r.status, 201, "create {username}: {}", r.text());
}

/// The default group's supervisor `staff`, created on first use, logged in.
pub async fn staff(admin: &Client) -> Client {
    let group = default_org(admin, "supervision").await;
    default_org(admin, "agency").await;
    let users = admin.get("/api/v1/users").await.json();
    let exists = users
        .as_array()
        .is_some_and(|a| a.iter().any(|u| u["username"] == "staff"));
    if !exists {
        create_user(admin, "staff", "supervisor", Some(&group)).await;
    }
    let mut c = Client::new(&admin.base);
    c.login("staff", "staff-password").await;
    c
}
