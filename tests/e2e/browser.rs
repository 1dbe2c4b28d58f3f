//! The console in a real headless Chromium over WebDriver: sign in through the form, filter
//! the list, read a suspicious photo's reasons, see markup in a note and in a photo's file name
//! stay text, accept a report through its form, download an XLSX export of all tasks and read
//! it back, and keep screenshots of each page.

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::photos::{self, Exif};
use crate::support::server::{Env, TestServer};
use crate::support::world::World;

/// The site of [`World`]; a photo 2 km north of it is outside its 300 m fence.
const SITE: (f64, f64) = (39.6305, 118.1804);
/// The note of the inspection: markup that must stay text.
const MARKUP: &str = "<img src=x onerror=alert(1)>";
/// A photo file name that is markup too.
const FILE_NAME: &str = "<svg onload=alert(3)>.jpg";

/// Where the screenshots go: `target/console-screenshots`.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

/// The cells of the first sheet of the XLSX file at `path`, as text.
fn read_xlsx(path: &Path) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let range = book
        .worksheet_range_at(0)
        .expect("a first sheet")
        .expect("a readable first sheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Asserts that `path` holds a PNG with more than its signature.
fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG screenshot",
        path.display()
    );
}

#[tokio::test]
async fn a_supervisor_reviews_evidence_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let server = TestServer::start(Env::embedded().await).await;
    let world = World::new(&server).await;
    let shots = screenshots();

    // One task in progress with a report whose photo was taken 2 km away and an inspection
    // whose note is markup; one task only issued.
    let f = world.issue(1).await;
    let issued = world.issue(0).await;
    let report = world.report(&f, 0).await;
    let far = Exif {
        datetime_original: Some(Utc::now().format("%Y:%m:%d %H:%M:%S").to_string()),
        offset_time_original: Some("+00:00".into()),
        gps: Some((SITE.0 + 0.018, SITE.1)),
        ..Exif::default()
    };
    // The phone names the photo with markup that would run script if it were not escaped.
    let photo = crate::flow::upload_named(
        &world.a.agency_user,
        &report,
        photos::jpeg(640, 480, &far),
        "%3Csvg%20onload%3Dalert(3)%3E.jpg",
    )
    .await;
    server.drain().await;
    let inspection = uuid::Uuid::new_v4().to_string();
    let r = world
        .a
        .inspector
        .put(
            &format!("/mobile/v1/records/{inspection}"),
            &json!({ "task_id": f.task, "kind": "inspection", "note": MARKUP, "device_time": Utc::now() }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Sign in through the form; the session cookie sticks with all its attributes.
    browser.goto(&format!("{}/tasks", server.base)).await;
    assert!(browser.current_url().await.contains("/login?next=%2Ftasks"));
    browser.screenshot(&shots.join("login.png")).await;
    let username = browser.find("form.login input[name=username]").await;
    browser.send_keys(&username, "sup-a").await;
    let password = browser.find("form.login input[name=password]").await;
    browser.send_keys(&password, "sup-a-password").await;
    browser
        .click(&browser.find("form.login button[type=submit]").await)
        .await;
    assert_eq!(
        browser.wait_for_url("/tasks").await,
        format!("{}/tasks", server.base)
    );
    let cookie = browser.cookie("fp_session").await.expect("the session cookie");
    assert_eq!(cookie["secure"], true, "{cookie}");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert_eq!(browser.find_all("tr[data-light]").await.len(), 2);

    // Filter: in progress, with text typed into the search box.
    browser
        .click(
            &browser
                .find("#filters select[name=status] option[value=in_progress]")
                .await,
        )
        .await;
    browser
        .send_keys(&browser.find("#filters input[name=q]").await, "煤场")
        .await;
    browser
        .click(&browser.find("#filters button[type=submit]").await)
        .await;
    let url = browser.wait_for_url("status=in_progress").await;
    assert!(
        url.contains("status=in_progress") && url.contains("q=%E7%85%A4%E5%9C%BA"),
        "{url}"
    );
    let rows = browser.find_all("tr[data-light]").await;
    assert_eq!(rows.len(), 1);
    assert!(browser.text(&rows[0]).await.contains("整改中"));
    assert!(
        browser
            .find_all(&format!("tr[data-light] a[href='/tasks/{}']", issued.task))
            .await
            .is_empty()
    );
    browser.screenshot(&shots.join("list.png")).await;

    // The task page: the suspicious photo explained in words, the markup shown as text.
    browser
        .click(
            &browser
                .find(&format!("tr[data-light] a[href='/tasks/{}']", f.task))
                .await,
        )
        .await;
    assert_eq!(
        browser.wait_for_url(&format!("/tasks/{}", f.task)).await,
        format!("{}/tasks/{}", server.base, f.task)
    );
    let reasons = browser
        .find_all(&format!("#record-{report} figure.suspicious ul.reasons li"))
        .await;
    let mut words = Vec::new();
    for reason in &reasons {
        words.push(browser.text(reason).await);
    }
    assert!(
        words
            .iter()
            .any(|w| w.contains("拍摄地点距点位 2.0 km，超出允许的 300 m")),
        "{words:?}"
    );
    let note = browser.find(&format!("#record-{inspection} p.note")).await;
    assert_eq!(browser.text(&note).await, MARKUP);
    assert_eq!(browser.alert_text().await, None, "no script ran");
    let injected = browser
        .execute("return document.querySelectorAll('img[src=\"x\"]').length;", &[])
        .await;
    assert_eq!(injected, 0);
    assert!(!browser.page_source().await.contains("<img src=\"x\""));
    let name = browser.find(&format!("#record-{report} .file-name")).await;
    assert_eq!(browser.text(&name).await, FILE_NAME, "the file name is text");
    let svgs = browser
        .execute("return document.querySelectorAll('svg[onload]').length;", &[])
        .await;
    assert_eq!(svgs, 0);
    browser.screenshot(&shots.join("task.png")).await;

    // The photo's own page, then back to the task.
    browser
        .click(
            &browser
                .find(&format!("#record-{report} figure.suspicious a"))
                .await,
        )
        .await;
    assert_eq!(
        browser.wait_for_url("/photos/").await,
        format!("{}/photos/{photo}", server.base)
    );
    let reasons = browser.text(&browser.find("ul.reasons").await).await;
    assert!(reasons.contains("2.0 km"), "{reasons}");
    browser.screenshot(&shots.join("photo.png")).await;
    browser.goto(&format!("{}/tasks/{}", server.base, f.task)).await;

    // Accept the report through its form.
    let form = format!("form[action='/records/{report}/review']");
    browser
        .send_keys(
            &browser.find(&format!("{form} textarea[name=comment]")).await,
            "位置已核实",
        )
        .await;
    browser
        .click(
            &browser
                .find(&format!("{form} button[name=decision][value=accept]"))
                .await,
        )
        .await;
    assert_eq!(
        browser.wait_for_url("#record-").await,
        format!("{}/tasks/{}#record-{report}", server.base, f.task)
    );
    let review = browser.find(&format!("#record-{report} .review")).await;
    assert_eq!(browser.text(&review).await, "已通过");
    let record = browser
        .text(&browser.find(&format!("#record-{report}")).await)
        .await;
    assert!(record.contains("位置已核实"), "{record}");
    assert!(
        browser.find_all(&form).await.is_empty(),
        "no form for a decided report"
    );
    let record = world
        .a
        .supervisor
        .get(&format!("/api/v1/records/{report}"))
        .await
        .json();
    assert_eq!(record["review"]["status"], "accepted", "{record}");
    let phase = world
        .a
        .supervisor
        .get(&format!("/api/v1/phases/{}", f.phases[0]))
        .await
        .json();
    assert_eq!(phase["status"], "accepted", "{phase}");

    // Export every task as XLSX from the statistics page and download it in the browser.
    browser.goto(&format!("{}/tasks", server.base)).await;
    let visible = browser
        .execute(
            "return [...document.querySelectorAll('tr[data-light] a[href^=\"/tasks/\"]')]\
             .map(a => a.getAttribute('href').slice('/tasks/'.length));",
            &[],
        )
        .await;
    let mut visible: Vec<&str> = visible
        .as_array()
        .expect("a list")
        .iter()
        .map(|id| id.as_str().expect("a task id"))
        .collect();
    visible.sort_unstable();
    let mut created = vec![f.task.as_str(), issued.task.as_str()];
    created.sort_unstable();
    assert_eq!(visible, created, "the supervisor sees both tasks");
    browser.goto(&format!("{}/stats", server.base)).await;
    browser.screenshot(&shots.join("stats.png")).await;
    browser
        .click(
            &browser
                .find("form:has(input[name=kind][value=tasks]) button[name=format][value=xlsx]")
                .await,
        )
        .await;
    assert_eq!(
        browser.wait_for_url("/exports").await,
        format!("{}/exports", server.base)
    );
    // The server's runner polls every 2 s; build the export now rather than wait for it.
    fieldproof_core::service::exports::drain(&server.app)
        .await
        .expect("the exports are built");
    for _ in 0..50 {
        browser.goto(&format!("{}/exports", server.base)).await;
        if browser.find_all("tr[data-poll]").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let links = browser.find_all("table.exports a.download").await;
    assert_eq!(links.len(), 1, "the one export is ready");
    browser.screenshot(&shots.join("exports.png")).await;
    browser.click(&links[0]).await;
    let xlsx = browser.wait_for_download("xlsx").await;
    let rows = read_xlsx(&xlsx);
    assert_eq!(rows[0][0], "任务", "{rows:?}");
    let mut exported: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    exported.sort_unstable();
    assert_eq!(exported, visible, "one row per visible task: {rows:?}");
    assert!(rows[1..].iter().all(|r| r[0] == "煤场苫盖整改"), "{rows:?}");

    for shot in ["login", "list", "task", "photo", "stats", "exports"] {
        assert_png(&shots.join(format!("{shot}.png")));
    }
    drop(browser);
    server.stop().await;
}
