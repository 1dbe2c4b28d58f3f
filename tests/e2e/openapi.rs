//! The contract: `/mobile/v1/openapi.json` is an OpenAPI 3.1 document generated from the
//! code, it lists every mobile route, and every operation it lists is served.

use std::collections::BTreeSet;

use crate::support::clients;
use crate::support::server::{Env, TestServer};

/// Every route of `/mobile/v1`, as (method, path under the server prefix).
const ROUTES: &[(&str, &str)] = &[
    ("put", "/records/{id}"),
    ("get", "/records/{id}"),
    ("put", "/records/{record_id}/photos/{photo_id}"),
    ("post", "/uploads"),
    ("options", "/uploads"),
    ("head", "/uploads/{id}"),
    ("patch", "/uploads/{id}"),
    ("delete", "/uploads/{id}"),
    ("post", "/uploads/{id}"),
    ("get", "/sync"),
    ("post", "/sync/push"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_every_listed_route_is_served() {
    let server = TestServer::start(Env::embedded().await).await;
    let anonymous = server.anonymous();
    let r = anonymous.get("/mobile/v1/openapi.json").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/mobile/v1");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for schema in [
        "Problem",
        "RecordBody",
        "RecordDto",
        "SyncPageDto",
        "PushItem",
        "PhotoReceipt",
        "Reason",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }

    let listed: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|k| !matches!(k.as_str(), "parameters" | "summary" | "description"))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(listed, expected);

    // Every listed operation answers something other than "no such route" or "method not
    // allowed" (unauthenticated, most say 401).
    for (method, path) in &listed {
        let concrete = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{record_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{photo_id}", &uuid::Uuid::new_v4().to_string());
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = anonymous
            .send(anonymous.request(method.clone(), &format!("/mobile/v1{concrete}")))
            .await;
        assert_ne!(r.status, 405, "{method} {path}");
        let unrouted = r.status == 404 && r.text().contains("route not found");
        assert!(!unrouted, "{method} {path} is listed but not served");
        let doc_op = &doc["paths"][path.as_str()][method.as_str().to_lowercase()];
        assert!(
            doc_op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_passes_an_independent_validator() {
    let Some(dir) = clients::dir() else { return };
    let server = TestServer::start(Env::embedded().await).await;
    let r = server.anonymous().get("/mobile/v1/openapi.json").await;
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(file.path(), &r.body).unwrap();
    let path = file.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || clients::validate_openapi(&dir, &path))
        .await
        .unwrap();
    assert!(out.ok, "{} {:?}", out.stderr, out.report);
}
