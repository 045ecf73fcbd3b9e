//! REST regressions found by schemathesis, pinned as plain tests so they fail fast and
//! without Python.

use serde_json::{Value, json};

use crate::common::*;

/// An empty `POST /api/v1/config/apply` used to be read as `{}` and applied: every server
/// was dropped from the file. Now a missing document is refused and nothing is written;
/// quarantine keeps reading no body as "quarantine it" (the Go original's shape).
#[tokio::test]
async fn test_rest_empty_body_is_refused_where_the_document_is_required() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    let before = std::fs::read(server.config_path()).expect("config");
    for path in ["/api/v1/config/apply", "/api/v1/config/validate"] {
        let resp = raw()
            .post(format!("{}{path}", server.url()))
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 400, "{path}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["success"], false, "{path}: {body}");
    }
    assert_eq!(std::fs::read(server.config_path()).expect("config"), before);
    let quarantined = raw()
        .post(format!("{}/api/v1/servers/fx/quarantine", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(quarantined.status(), 200);
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true
    );
    server.stop().await;
}
