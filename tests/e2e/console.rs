//! The web console over HTTP as a browser speaks it: sign-in with a session cookie, CSRF on
//! every form, a strict CSP, escaped user text, the organisation boundary, evidence in words,
//! cached thumbnails and audited originals.

use chrono::Utc;
use serde_json::json;

use crate::support::console::Console;
use crate::support::photos::{self, Exif};
use crate::support::server::{Env, TestServer};
use crate::support::world::World;

/// The site of [`World`]; a photo 2 km north of it is outside its 300 m fence.
const SITE: (f64, f64) = (39.6305, 118.1804);

async fn world() -> (TestServer, World) {
    let server = TestServer::start(Env::embedded().await).await;
    let world = World::new(&server).await;
    (server, world)
}

#[tokio::test]
async fn sign_in_sets_a_strict_session_and_pages_are_locked_down() {
    let (server, world) = world().await;
    let f = world.issue(2).await;
    let mut visitor = Console::new(&server.base);

    let r = visitor.get(&format!("/tasks/{}", f.task)).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some(format!("/login?next=%2Ftasks%2F{}", f.task).as_str())
    );
    let r = visitor.get("/login").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<html lang=\"zh-CN\">"), "Chinese by default");

    let r = visitor
        .post_form(
            "/login",
            &[
                ("username", "sup-a"),
                ("password", "wrong-password"),
                ("next", "/tasks"),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("用户名或密码错误"));
    assert!(r.header("set-cookie").is_none());

    // A sign-in never sends the user to another site.
    let r = visitor
        .post_form(
            "/login",
            &[
                ("username", "sup-a"),
                ("password", "sup-a-password"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/tasks"));
    let cookie = r.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }

    let mut sup = Console::signed_in(&server.base, "sup-a", "sup-a-password").await;
    let r = sup.get("/tasks").await;
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let html = r.text();
    assert!(html.contains("煤场苫盖整改"));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(!html.contains(" on"), "no event-handler attributes");

    // The stylesheet and script are cached for a year under their versioned name.
    let css = html.split("href=\"/assets/console.css").nth(1).unwrap();
    let css = format!("/assets/console.css{}", &css[..css.find('"').unwrap()]);
    let r = sup.get(&css).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    // The API does not accept the cookie: it stays bearer-only.
    let r = sup.get("/api/v1/tasks").await;
    assert_eq!(r.status, 401);

    // English on request, remembered in a cookie.
    let r = sup.get("/lang?to=en&back=/tasks").await;
    assert_eq!(r.status, 303);
    let lang = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let r = sup
        .get_with(
            "/tasks",
            &[("cookie", &format!("{}; {lang}", sup.cookie.clone().unwrap()))],
        )
        .await;
    assert!(r.text().contains("<html lang=\"en\">"));
    assert!(r.text().contains("Tasks"));

    // Signing out revokes the session itself, not only the cookie.
    let stolen = sup.cookie.clone().unwrap();
    let r = sup.submit("/logout", &[]).await;
    assert_eq!(r.status, 303);
    let mut thief = Console::new(&server.base);
    thief.cookie = Some(stolen);
    assert_eq!(thief.get("/tasks").await.status, 303);
    server.stop().await;
}

#[tokio::test]
async fn the_list_filters_sorts_and_pages() {
    let (server, world) = world().await;
    let in_progress = world.issue(2).await;
    let issued = world.issue(0).await;
    let mut sup = Console::signed_in(&server.base, "sup-a", "sup-a-password").await;

    let r = sup.get("/tasks?status=issued").await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.contains(&issued.task) && !html.contains(&in_progress.task));
    let r = sup
        .get("/tasks?status=&agency=&region=&light=green&q=&sort=-created")
        .await;
    assert_eq!(r.status, 200, "empty fields mean any");
    assert!(r.text().contains(&in_progress.task));
    let r = sup
        .get(&format!("/tasks?agency={}&q=%E7%85%A4%E5%9C%BA", world.a.agency))
        .await;
    assert!(r.text().contains(&issued.task));
    let counts = sup.get("/tasks/lights").await.json();
    assert_eq!(
        counts["green"].as_i64().unwrap() + counts["done"].as_i64().unwrap(),
        2,
        "{counts}"
    );
    let r = sup.get("/tasks?light=purple").await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("light"));
    let r = sup.get("/tasks?bogus=1").await;
    assert_eq!(r.status, 400);

    // The other group sees none of side a's tasks, in the list or by typing the id.
    let mut other = Console::signed_in(&server.base, "sup-b", "sup-b-password").await;
    assert!(!other.get("/tasks").await.text().contains(&issued.task));
    let r = other.get(&format!("/tasks/{}", issued.task)).await;
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("煤场苫盖整改"));
    let mut other_agency = Console::signed_in(&server.base, "agency-b", "agency-b-password").await;
    assert_eq!(
        other_agency.get(&format!("/tasks/{}", issued.task)).await.status,
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn actions_need_the_session_token_and_explain_refusals() {
    let (server, world) = world().await;
    let f = world.plan_submitted().await;
    let version = f.plan_version.unwrap().to_string();
    let decide = format!("/tasks/{}/plans/{version}/decide", f.task);
    let mut sup = Console::signed_in(&server.base, "sup-a", "sup-a-password").await;
    let page = sup.get(&format!("/tasks/{}", f.task)).await.text();
    assert!(page.contains(&decide), "the pending plan has its decision form");

    // A forged or missing token, or another site's origin: 403, nothing decided.
    let r = sup
        .post_form(
            &decide,
            &[("csrf", "forged"), ("decision", "approve"), ("comment", "")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("表单已失效"));
    let r = sup.post_form(&decide, &[("decision", "approve")]).await;
    assert_eq!(r.status, 403);
    let r = sup
        .submit_with(
            &decide,
            &[("decision", "approve")],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = sup
        .submit_with(
            &decide,
            &[("decision", "approve")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, 403);
    let plans = world
        .a
        .supervisor
        .get(&format!("/api/v1/tasks/{}/plans", f.task))
        .await
        .json();
    assert_eq!(plans[0]["status"], "submitted", "nothing was decided");

    // A comment over the 10,000-character limit is refused in words, and nothing is written.
    let long = "长".repeat(10_001);
    let r = sup
        .submit(&decide, &[("decision", "reject"), ("comment", &long)])
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("comment"));
    assert!(r.text().len() < 20_000, "the comment is not echoed back whole");
    let plans = world
        .a
        .supervisor
        .get(&format!("/api/v1/tasks/{}/plans", f.task))
        .await
        .json();
    assert_eq!(plans[0]["status"], "submitted");

    // The agency may not decide on its own plan, even with a valid token of its own.
    let mut agency = Console::signed_in(&server.base, "agency-a", "agency-a-password").await;
    let page = agency.get(&format!("/tasks/{}", f.task)).await.text();
    assert!(!page.contains(&decide), "no decision form for the agency");
    let r = agency.submit(&decide, &[("decision", "approve")]).await;
    assert_eq!(r.status, 403);

    let r = sup
        .submit(&decide, &[("decision", "approve"), ("comment", "同意")])
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let task = world
        .a
        .supervisor
        .get(&format!("/api/v1/tasks/{}", f.task))
        .await
        .json();
    assert_eq!(task["status"], "in_progress");

    // The state machine's refusal, in words.
    let r = sup.submit(&decide, &[("decision", "approve")]).await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("当前状态下不能进行此操作"), "{}", r.text());

    // Urge and cancel through their forms; both land in the task's history.
    let r = sup
        .submit(
            &format!("/tasks/{}/urge", f.task),
            &[("phase", ""), ("message", "请加快整改")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let r = sup
        .submit(
            &format!("/tasks/{}/end", f.task),
            &[("how", "cancel"), ("reason", "重复立项")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let page = sup.get(&format!("/tasks/{}", f.task)).await.text();
    assert!(page.contains("请加快整改") && page.contains("重复立项"));
    assert!(
        page.contains("task.cancelled") || page.contains("task.ended"),
        "history shows the end"
    );
    server.stop().await;
}

#[tokio::test]
async fn evidence_is_explained_cached_and_originals_are_audited() {
    let (server, world) = world().await;
    let f = world.issue(1).await;
    let report = world.report(&f, 0).await;
    let now = Utc::now().format("%Y:%m:%d %H:%M:%S").to_string();
    let far = Exif {
        datetime_original: Some(now),
        offset_time_original: Some("+00:00".into()),
        gps: Some((SITE.0 + 0.018, SITE.1)),
        ..Exif::default()
    };
    // `<img src=x onerror=alert(2)>` then U+202E (right-to-left override) and `gpj.exe`.
    let photo = crate::flow::upload_named(
        &world.a.agency_user,
        &report,
        photos::jpeg(640, 480, &far),
        "%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E%E2%80%AEgpj.exe",
    )
    .await;
    server.drain().await;

    // An inspection whose note holds markup: shown as text.
    let id = uuid::Uuid::new_v4().to_string();
    let r = world
        .a
        .inspector
        .put(
            &format!("/mobile/v1/records/{id}"),
            &json!({ "task_id": f.task, "kind": "inspection", "note": "<img src=x onerror=alert(1)>", "device_time": Utc::now() }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let mut sup = Console::signed_in(&server.base, "sup-a", "sup-a-password").await;
    let page = sup.get(&format!("/tasks/{}", f.task)).await.text();
    let at = page.find("onerror=alert(1)").expect("the note is on the page");
    assert!(
        page[at - 30..at + 30].contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{}",
        &page[at - 30..at + 30]
    );
    assert!(!page.contains("<img src=x"));
    assert!(page.contains("存疑"), "the suspicious verdict is shown");
    assert!(
        page.contains("拍摄地点距点位 2.0 km，超出允许的 300 m"),
        "the distance in words"
    );
    assert!(page.contains("<svg class=\"plot\""), "the location plot is drawn");
    assert!(
        page.contains("&#60;img src=x onerror=alert(2)&#62;[U+202E]gpj.exe"),
        "the file name is text, its direction override shown, not obeyed: {}",
        page.find("gpj.exe")
            .map_or("", |at| &page[at.saturating_sub(80)..at + 7])
    );
    assert!(!page.contains("<img src=x") && !page.contains('\u{202e}'));

    // The thumbnail: cached for good under its versioned URL, 304 on revalidation.
    let src = page
        .split(&format!("/photos/{photo}/thumb/small?v="))
        .nth(1)
        .unwrap();
    let url = format!("/photos/{photo}/thumb/small?v={}", &src[..src.find('"').unwrap()]);
    let r = sup.get(&url).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("cache-control"),
        Some("private, max-age=31536000, immutable")
    );
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    let etag = r.header("etag").unwrap().to_owned();
    let r = sup.get_with(&url, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);

    let r = sup.get(&format!("/photos/{photo}")).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("2.0 km"));
    let r = sup.get(&format!("/photos/{photo}/original")).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-disposition").unwrap().starts_with("attachment"));
    let history = world
        .a
        .supervisor
        .get(&format!("/api/v1/tasks/{}/history", f.task))
        .await
        .json();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "photo.original_viewed"),
        "the view of the original is audited"
    );

    // Another group's supervisor cannot reach the photo by its id.
    let mut other = Console::signed_in(&server.base, "sup-b", "sup-b-password").await;
    assert_eq!(other.get(&format!("/photos/{photo}")).await.status, 404);
    assert_eq!(other.get(&url).await.status, 404);
    server.stop().await;
}

/// The audit actions recorded about entities of `kind`, oldest first.
async fn audit_actions(server: &TestServer, kind: &str) -> Vec<String> {
    let pool = sqlx::SqlitePool::connect(&server.env.settings.database_url())
        .await
        .unwrap();
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE entity_kind = $1 ORDER BY at")
            .bind(kind)
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    actions
}

#[tokio::test]
async fn statistics_and_exports_show_only_what_the_reader_may_see() {
    let (server, world) = world().await;
    world.completed().await;
    world.issue(2).await;
    let mut sup = Console::signed_in(&server.base, "sup-a", "sup-a-password").await;
    for by in ["agency", "region", "month"] {
        let r = sup.get(&format!("/stats?by={by}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(
            html.contains("合计") && html.contains("<svg"),
            "{by}: table and charts"
        );
    }
    let html = sup.get("/stats?by=agency").await.text();
    assert!(html.contains("办理机构 a"));
    assert!(
        html.contains("100.0%"),
        "the completed phase was accepted on time"
    );
    assert_eq!(sup.get("/stats?by=colour").await.status, 422);

    // An agency of the other side exports everything: it gets only its own rows (none).
    let mut other = Console::signed_in(&server.base, "agency-b", "agency-b-password").await;
    other.get("/stats").await;
    let r = other
        .submit("/exports", &[("kind", "tasks"), ("format", "xlsx")])
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let r = sup
        .submit("/exports", &[("kind", "tasks"), ("format", "xlsx")])
        .await;
    assert_eq!(r.status, 303);
    let r = sup
        .submit(
            "/exports",
            &[("kind", "statistics"), ("by", "agency"), ("format", "csv")],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = sup
        .post_form(
            "/exports",
            &[("csrf", "forged"), ("kind", "tasks"), ("format", "csv")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = sup
        .submit("/exports", &[("kind", "everything"), ("format", "pdf")])
        .await;
    assert_eq!(r.status, 422);

    let page = sup.get("/exports").await.text();
    assert!(page.contains("data-poll="), "queued exports show their progress");
    // The server's own runner may take some of them first; either way all three finish.
    fieldproof_core::service::exports::drain(&server.app)
        .await
        .unwrap();
    let mut page = sup.get("/exports").await.text();
    for _ in 0..50 {
        if !page.contains("data-poll=") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        page = sup.get("/exports").await.text();
    }
    let ids: Vec<&str> = page
        .split("href=\"/exports/")
        .skip(1)
        .map(|s| &s[..s.find('/').unwrap()])
        .collect();
    assert_eq!(ids.len(), 2, "both of the supervisor's exports are ready");
    let mut xlsx = None;
    for id in &ids {
        let r = sup.get(&format!("/exports/{id}/download")).await;
        assert_eq!(r.status, 200);
        if r.header("content-type").unwrap().contains("spreadsheetml") {
            xlsx = Some(r.body.to_vec());
        } else {
            let csv = String::from_utf8(r.body.to_vec()).unwrap();
            assert!(
                csv.starts_with('\u{feff}') && csv.contains("办理机构 a") && csv.contains("合计"),
                "{csv}"
            );
        }
    }
    let rows = read_xlsx(xlsx.expect("an XLSX export"));
    assert_eq!(rows.len(), 3, "a header and side a's two tasks: {rows:?}");
    assert_eq!(rows[0][0], "任务");
    assert!(rows[1..].iter().all(|r| r[0] == "煤场苫盖整改"));

    // The other agency's export holds only the header; the supervisor cannot fetch it.
    let page = other.get("/exports").await.text();
    let theirs = page.split("href=\"/exports/").nth(1).unwrap();
    let theirs = &theirs[..theirs.find('/').unwrap()];
    let r = other.get(&format!("/exports/{theirs}/download")).await;
    assert_eq!(r.status, 200);
    assert_eq!(read_xlsx(r.body.to_vec()).len(), 1, "no rows of another agency");
    assert_eq!(sup.get(&format!("/exports/{theirs}/download")).await.status, 404);

    let events = audit_actions(&server, "export").await;
    for action in ["export.requested", "export.finished", "export.downloaded"] {
        assert!(
            events.iter().any(|e| e == action),
            "{action} is audited: {events:?}"
        );
    }
    server.stop().await;
}

/// The cells of the first sheet of an XLSX file, as text.
fn read_xlsx(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn circulars_reach_the_chosen_organisations_in_the_console_and_on_phones() {
    let (server, world) = world().await;
    let f = world.completed().await;
    let first = world.a.agency_user.get("/mobile/v1/sync").await.json();
    assert_eq!(first["circulars"], json!([]));
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();

    let mut sup = Console::signed_in(&server.base, "sup-a", "sup-a-password").await;
    let page = sup.get("/circulars").await.text();
    assert!(page.contains("name=\"recipient\""), "supervisors get the form");
    let r = sup
        .submit(
            "/circulars",
            &[
                ("title", "<b>关于煤场整改的通报</b>"),
                ("body", "办理机构 a 按期完成整改。"),
                ("task", &f.task),
                ("recipient", &world.a.agency),
                ("recipient", &world.a.group),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let r = sup
        .submit("/circulars", &[("title", "无对象"), ("body", "x")])
        .await;
    assert_eq!(r.status, 422, "a circular needs recipients");
    let r = sup
        .submit(
            "/circulars",
            &[("title", "t"), ("body", "x"), ("recipient", "not-an-id")],
        )
        .await;
    assert_eq!(r.status, 422);

    let mut agency = Console::signed_in(&server.base, "agency-a", "agency-a-password").await;
    let page = agency.get("/circulars").await.text();
    assert!(
        page.contains("&#60;b&#62;关于煤场整改的通报&#60;/b&#62;"),
        "titles are escaped"
    );
    assert!(!page.contains("name=\"recipient\""), "agencies cannot publish");
    let r = agency
        .submit(
            "/circulars",
            &[("title", "t"), ("body", "x"), ("recipient", &world.a.agency)],
        )
        .await;
    assert_eq!(r.status, 403);
    let mut other = Console::signed_in(&server.base, "agency-b", "agency-b-password").await;
    assert!(
        !other
            .get("/circulars")
            .await
            .text()
            .contains("关于煤场整改的通报")
    );

    // Phones: the next changes sync brings it, a first sync lists it, the other agency never.
    let next = world
        .a
        .agency_user
        .get(&format!("/mobile/v1/sync?cursor={cursor}"))
        .await
        .json();
    assert_eq!(next["circulars"][0]["title"], "<b>关于煤场整改的通报</b>");
    assert_eq!(next["circulars"][0]["task_id"], f.task.as_str());
    let fresh = world.a.agency_user.get("/mobile/v1/sync").await.json();
    assert_eq!(fresh["circulars"].as_array().unwrap().len(), 1);
    let theirs = world.b.agency_user.get("/mobile/v1/sync").await.json();
    assert_eq!(theirs["circulars"], json!([]));
    assert_eq!(audit_actions(&server, "circular").await, ["circular.published"]);
    let history = world
        .a
        .agency_user
        .get(&format!("/api/v1/tasks/{}/history", f.task))
        .await
        .json();
    assert!(
        !history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "circular.published"),
        "the task's readers need not be among the recipients"
    );
    server.stop().await;
}

#[tokio::test]
async fn refusals_are_bounded_labelled_and_never_cached() {
    let mut env = Env::embedded().await;
    env.settings.upload_idle_secs = 1;
    let server = TestServer::start(env).await;
    let world = World::new(&server).await;

    // A form body that never finishes is cut off instead of holding the connection.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: 1000\r\n\r\nusername=a"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("the server answers within the idle limit")
        .unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 408"));

    // Unknown console routes and methods still carry the console's headers.
    let mut sup = Console::signed_in(&server.base, "sup-a", "sup-a-password").await;
    for (r, status) in [
        (sup.get("/tasks/x/y/z").await, 404),
        (sup.get("/logout").await, 405),
    ] {
        assert_eq!(r.status, status);
        assert!(r.header("content-security-policy").is_some());
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
    }

    // Sign-in throttling says when to come back.
    let mut visitor = Console::new(&server.base);
    let mut last = 0;
    for _ in 0..7 {
        let r = visitor
            .post_form("/login", &[("username", "sup-b"), ("password", "wrong-password")])
            .await;
        last = r.status;
        if r.status == 429 {
            assert!(r.header("retry-after").is_some());
            break;
        }
    }
    assert_eq!(last, 429);

    // At most two exports of one user are being built at once.
    sup.get("/stats").await;
    for _ in 0..2 {
        let r = sup
            .submit("/exports", &[("kind", "tasks"), ("format", "csv")])
            .await;
        assert_eq!(r.status, 303);
    }
    let r = sup
        .submit("/exports", &[("kind", "tasks"), ("format", "csv")])
        .await;
    assert_eq!(r.status, 409, "{}", r.text());

    // Originals are never kept by the browser: each view is asked for, and audited.
    let f = world.reported(1).await;
    let r = sup.get(&format!("/photos/{}/original", f.photo.unwrap())).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    server.stop().await;
}
