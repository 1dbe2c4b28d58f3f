//! A real Chromium driven over the W3C WebDriver protocol: Debian's headless `chromium`
//! through `chromedriver` on a free loopback port. Without them the browser tests skip,
//! except under `CI`, where they fail.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// Debian's Chromium launcher (package `chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver (package `chromium-driver`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key under which WebDriver hands out element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser session on its own chromedriver; dropping it closes both.
pub struct Browser {
    /// The chromedriver process.
    driver: Child,
    /// The port chromedriver listens on.
    port: u16,
    /// The WebDriver session id (empty until the session exists).
    id: String,
    /// The HTTP client that speaks to chromedriver.
    http: reqwest::Client,
    /// Where Chromium saves downloads: a directory inside `_tmp`, so each session has its own.
    downloads: PathBuf,
    /// chromedriver's and Chromium's `TMPDIR` (profile, singleton socket), removed on drop.
    _tmp: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or `None` (outside CI) when
    /// either is not installed.
    pub async fn start() -> Option<Browser> {
        let absent: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !absent.is_empty() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {absent:?} is missing: install the chromium and chromium-driver packages"
            );
            eprintln!("skipping: {absent:?} not installed (apt-get install chromium chromium-driver)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let downloads = tmp.path().join("downloads");
        std::fs::create_dir(&downloads).expect("the download directory");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        fieldproof_core::sms::install_tls_provider();
        let mut browser = Browser {
            driver,
            port,
            id: String::new(),
            http: reqwest::Client::new(),
            downloads: downloads.clone(),
            _tmp: tmp,
        };
        browser.wait_ready().await;
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            // An alert stays open for `alert_text` instead of being dismissed by the next command.
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,900"],
                // Downloads go to the session's own directory without asking.
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                },
            },
        }}});
        let session = browser
            .call(reqwest::Method::POST, "/session", Some(capabilities))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {CHROMIUM}: {e}"));
        browser.id = session["sessionId"].as_str().expect("a session id").to_owned();
        Some(browser)
    }

    /// Waits up to 20 s for chromedriver's `/status` to say it is ready.
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(status) = self.call(reqwest::Method::GET, "/status", None).await
                && status["ready"] == true
            {
                return;
            }
            if let Ok(Some(exit)) = self.driver.try_wait() {
                panic!("{CHROMEDRIVER} exited at start: {exit}");
            }
            assert!(Instant::now() < deadline, "{CHROMEDRIVER} not ready after 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a WebDriver command to `path` (relative to the server); the answer's `value`, or
    /// the error `value` (`error`, `message`) when it failed.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let mut req = self
            .http
            .request(method, format!("http://127.0.0.1:{}{path}", self.port));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.map_err(|e| json!({ "error": e.to_string() }))?;
        let ok = r.status().is_success();
        let mut answer: Value = r.json().await.map_err(|e| json!({ "error": e.to_string() }))?;
        let value = answer["value"].take();
        if ok { Ok(value) } else { Err(value) }
    }

    /// Sends a command to this session's `path`; panics with WebDriver's error.
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.id), body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {} — {}", e["error"], e["message"]))
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> String {
        let url = self.cmd(reqwest::Method::GET, "/url", None).await;
        url.as_str().expect("a URL").to_owned()
    }

    /// The address once it contains `part`: a click that submits a form or follows a link
    /// returns before the browser has moved on, and on a loaded machine that takes a moment.
    pub async fn wait_for_url(&self, part: &str) -> String {
        let mut url = self.current_url().await;
        for _ in 0..150 {
            if url.contains(part) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            url = self.current_url().await;
        }
        url
    }

    /// The current page's DOM, serialised.
    pub async fn page_source(&self) -> String {
        let html = self.cmd(reqwest::Method::GET, "/source", None).await;
        html.as_str().expect("the source").to_owned()
    }

    /// The first element matching `css`; panics when there is none.
    pub async fn find(&self, css: &str) -> String {
        let body = json!({ "using": "css selector", "value": css });
        let found = self.cmd(reqwest::Method::POST, "/element", Some(body)).await;
        found[ELEMENT].as_str().expect("an element").to_owned()
    }

    /// Every element matching `css`, in document order.
    pub async fn find_all(&self, css: &str) -> Vec<String> {
        let body = json!({ "using": "css selector", "value": css });
        let found = self.cmd(reqwest::Method::POST, "/elements", Some(body)).await;
        found
            .as_array()
            .expect("a list")
            .iter()
            .map(|e| e[ELEMENT].as_str().expect("an element").to_owned())
            .collect()
    }

    /// The rendered text of `element`.
    pub async fn text(&self, element: &str) -> String {
        let text = self
            .cmd(reqwest::Method::GET, &format!("/element/{element}/text"), None)
            .await;
        text.as_str().expect("text").to_owned()
    }

    /// Clicks `element` (for an `<option>`, selects it), waiting for any page load it starts.
    pub async fn click(&self, element: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Types `text` into `element`.
    pub async fn send_keys(&self, element: &str, text: &str) {
        let body = json!({ "text": text });
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(body),
        )
        .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns
    /// what it returns.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Value {
        let body = json!({ "script": script, "args": args });
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(body)).await
    }

    /// The text of the open alert, confirm or prompt, if one is open.
    pub async fn alert_text(&self) -> Option<String> {
        let path = format!("/session/{}/alert/text", self.id);
        match self.call(reqwest::Method::GET, &path, None).await {
            Ok(text) => Some(text.as_str().unwrap_or_default().to_owned()),
            Err(e) if e["error"] == "no such alert" => None,
            Err(e) => panic!("WebDriver {path}: {} — {}", e["error"], e["message"]),
        }
    }

    /// The cookie `name` as WebDriver describes it (`value`, `secure`, `httpOnly`,
    /// `sameSite`, …), if the browser holds it.
    pub async fn cookie(&self, name: &str) -> Option<Value> {
        let path = format!("/session/{}/cookie/{name}", self.id);
        match self.call(reqwest::Method::GET, &path, None).await {
            Ok(cookie) => Some(cookie),
            Err(e) if e["error"] == "no such cookie" => None,
            Err(e) => panic!("WebDriver {path}: {} — {}", e["error"], e["message"]),
        }
    }

    /// The file with extension `ext` that Chromium has finished downloading into this
    /// session's directory: waits up to 15 s for it to appear with no `.crdownload` (a
    /// download still being written) beside it, and panics when none does.
    pub async fn wait_for_download(&self, ext: &str) -> PathBuf {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let names: Vec<PathBuf> = std::fs::read_dir(&self.downloads)
                .expect("the download directory")
                .map(|entry| entry.expect("a directory entry").path())
                .collect();
            let with = |ext: &str| {
                names
                    .iter()
                    .find(|p| p.extension().is_some_and(|e| e == ext))
                    .cloned()
            };
            if with("crdownload").is_none()
                && let Some(done) = with(ext)
            {
                return done;
            }
            assert!(
                Instant::now() < deadline,
                "no finished .{ext} download after 15 s in {}: {names:?}",
                self.downloads.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .expect("a base64 PNG");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

impl Drop for Browser {
    /// Ends the session, which closes Chromium (killing chromedriver alone would leave it
    /// running), then stops chromedriver. `drop` cannot await, so the `DELETE` goes out as
    /// plain HTTP/1.1 on a blocking socket.
    fn drop(&mut self) {
        if !self.id.is_empty()
            && let Ok(mut socket) = TcpStream::connect(("127.0.0.1", self.port))
        {
            let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.id, self.port
            );
            if socket.write_all(request.as_bytes()).is_ok() {
                let _ = socket.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
