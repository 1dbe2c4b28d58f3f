//! The tus client libraries the tests drive — Python `tuspy` and npm `tus-js-client` — as
//! installed by `scripts/install-test-clients.sh` (run here on first use).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The installed clients' directory, installing them once per test run; `None` (the test
/// is skipped) when they cannot be installed outside CI. In CI a failure fails the test.
pub fn dir() -> Option<PathBuf> {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let ok = *INSTALLED.get_or_init(|| {
        Command::new("bash")
            .arg(root().join("scripts/install-test-clients.sh"))
            .status()
            .is_ok_and(|s| s.success())
    });
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "installing the tus test clients failed (scripts/install-test-clients.sh)"
        );
        eprintln!("skipped: the tus test clients could not be installed");
        return None;
    }
    Some(root().join("target/test-clients"))
}

/// What a client script printed on its last line (JSON), and whether it succeeded.
pub struct Outcome {
    /// Exit status was zero.
    pub ok: bool,
    /// The last line of standard output, parsed.
    pub report: serde_json::Value,
    /// Standard error, for failure messages.
    pub stderr: String,
}

fn run(mut cmd: Command) -> Outcome {
    let out = cmd.output().expect("run a tus client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("null");
    Outcome {
        ok: out.status.success(),
        report: serde_json::from_str(last).unwrap_or(serde_json::Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `tests/e2e/clients/tuspy_upload.py` as the user of `token` with `args` (see the
/// script).
pub fn tuspy(dir: &std::path::Path, token: &str, args: &[String]) -> Outcome {
    let mut cmd = Command::new(dir.join("venv/bin/python"));
    cmd.env("TUS_TOKEN", token)
        .arg(root().join("tests/e2e/clients/tuspy_upload.py"))
        .args(args);
    run(cmd)
}

/// Runs `tests/e2e/clients/tus_js_upload.cjs` as the user of `token` with `args` (see the
/// script).
pub fn tus_js(dir: &std::path::Path, token: &str, args: &[String]) -> Outcome {
    let mut cmd = Command::new("node");
    cmd.env("TUS_TOKEN", token)
        .env("NODE_PATH", dir.join("node/node_modules"))
        .arg(root().join("tests/e2e/clients/tus_js_upload.cjs"))
        .args(args);
    run(cmd)
}

/// Validates the OpenAPI document in `file` with Python's `openapi-spec-validator`.
pub fn validate_openapi(dir: &std::path::Path, file: &std::path::Path) -> Outcome {
    let mut cmd = Command::new(dir.join("venv/bin/openapi-spec-validator"));
    cmd.arg(file);
    run(cmd)
}
