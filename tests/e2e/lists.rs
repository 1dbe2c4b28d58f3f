//! The task list: filters by status, agency, region, overdue and text, three orders, and cursor
//! pagination that neither skips nor repeats a task.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::server::{Client, Env, TestServer};
use crate::support::world::World;

async fn all_pages(c: &Client, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/api/v1/tasks?limit=2&{query}&cursor={cur}"),
            None => format!("/api/v1/tasks?limit=2&{query}"),
        };
        let page = c.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        let page = page.json();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(items.len() < 100, "pagination does not end");
    }
    items
}

fn titles(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn filters_orders_and_cursors() {
    let server = TestServer::start(Env::embedded().await).await;
    let w = World::new(&server).await;
    let sup = &w.a.supervisor;
    let now = Utc::now();
    // Five tasks with phases due in 5, 1, 3 days (…), one issued without phases, one cancelled.
    let mut ids = Vec::new();
    for (title, first_due) in [("煤场 A", 5), ("脱硫 B", 1), ("煤场 C", 3), ("扬尘 D", 8)] {
        let r = sup
            .post(
                "/api/v1/tasks",
                &json!({ "title": title, "site_id": w.site_id, "agency_id": w.a.agency,
                         "due_at": now + Duration::days(60),
                         "phases": [{ "title": "p", "due_at": now + Duration::days(first_due) }] }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let r = sup
        .post(
            "/api/v1/tasks",
            &json!({ "title": "待计划 E", "site_id": w.site_id, "agency_id": w.a.agency, "due_at": now + Duration::days(60) }),
        )
        .await;
    assert_eq!(r.json()["status"], "issued");
    sup.post(
        &format!("/api/v1/tasks/{}/cancel", ids[3]),
        &json!({ "reason": "停产" }),
    )
    .await;

    assert_eq!(
        titles(&all_pages(sup, "sort=created").await),
        ["煤场 A", "脱硫 B", "煤场 C", "扬尘 D", "待计划 E"]
    );
    assert_eq!(
        titles(&all_pages(sup, "sort=-created").await),
        ["待计划 E", "扬尘 D", "煤场 C", "脱硫 B", "煤场 A"]
    );
    // Earliest open due date first; tasks without one (issued, cancelled) last, by creation.
    assert_eq!(
        titles(&all_pages(sup, "sort=next_due").await),
        ["脱硫 B", "煤场 C", "煤场 A", "扬尘 D", "待计划 E"]
    );
    assert_eq!(
        titles(&all_pages(sup, "q=%E7%85%A4%E5%9C%BA").await),
        ["煤场 A", "煤场 C"]
    );
    assert_eq!(titles(&all_pages(sup, "q=50%25").await), Vec::<String>::new());
    assert_eq!(titles(&all_pages(sup, "status=issued").await), ["待计划 E"]);
    assert_eq!(all_pages(sup, "region=130200").await.len(), 5);
    assert_eq!(all_pages(sup, "region=130000").await.len(), 5);
    assert_eq!(all_pages(sup, "region=110000").await.len(), 0);
    assert_eq!(
        all_pages(sup, &format!("agency_id={}", w.b.agency)).await.len(),
        0
    );

    // Overdue: phase 1 of "脱硫 B" falls due; the item carries its overdue days and counts.
    if let fieldproof_core::store::Store::Sqlite(pool) = &server.app.store {
        let task = uuid::Uuid::parse_str(&ids[1]).unwrap();
        let past = now - Duration::hours(30);
        sqlx::query("UPDATE phases SET due_at = $1 WHERE task_id = $2")
            .bind(past)
            .bind(task)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("UPDATE tasks SET next_due_at = $1 WHERE id = $2")
            .bind(past)
            .bind(task)
            .execute(pool)
            .await
            .unwrap();
    }
    let overdue = all_pages(sup, "overdue=true").await;
    assert_eq!(titles(&overdue), ["脱硫 B"]);
    assert_eq!(overdue[0]["overdue_days"], 2);
    assert_eq!(overdue[0]["phase_count"], 1);
    assert_eq!(overdue[0]["overdue_phase_count"], 1);
    assert_eq!(overdue[0]["accepted_phase_count"], 0);
    assert_eq!(all_pages(sup, "overdue=false").await.len(), 4);
    // The other group sees none of it.
    assert!(all_pages(&w.b.supervisor, "sort=next_due").await.is_empty());
    server.stop().await;
}
