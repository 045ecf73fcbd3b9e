//! Raw HTTP: every secured operation of the spec answers 401 without a valid key (header
//! and query), errors use the envelope, no wildcard CORS, body limits.

use mcpproxy_api::{OPERATIONS, Security};
use serde_json::Value;

use crate::common::*;

/// A concrete URL path for an operation's template.
fn concrete(path: &str) -> String {
    path.replace("/servers/{name}", "/servers/enable_all")
        .replace("{name}", "ghost")
        .replace("{id}", "ghost")
}

/// Every operation of the spec, published or not, with its security.
fn all_operations() -> Vec<(String, String, bool)> {
    let spec: Value = serde_yaml::from_str(mcpproxy_api::SPEC_YAML).expect("spec");
    let global = spec["security"].as_array().is_some_and(|s| !s.is_empty());
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op.get("operationId").is_none() {
                continue;
            }
            let secured = op
                .get("security")
                .and_then(Value::as_array)
                .map_or(global, |s| !s.is_empty());
            out.push((method.to_uppercase(), path.clone(), secured));
        }
    }
    assert_eq!(
        out.iter().filter(|o| o.2).count() + out.iter().filter(|o| !o.2).count(),
        out.len()
    );
    assert!(out.len() >= OPERATIONS.len());
    out
}

#[tokio::test]
async fn test_wire_every_secured_operation_needs_the_key() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let http = raw();
    let mut checked = 0;
    for (method, path, secured) in all_operations() {
        let url = format!("{}{}", server.url(), concrete(&path));
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let attempts = [
            http.request(m.clone(), &url),
            http.request(m.clone(), &url).header("X-API-Key", "wrong"),
            http.request(m.clone(), format!("{url}?apikey=wrong")),
            // A wrong header wins over a right query key.
            http.request(m.clone(), format!("{url}?apikey={KEY}"))
                .header("X-API-Key", "wrong"),
        ];
        for attempt in attempts {
            let resp = attempt
                .body("{}")
                .header("content-type", "application/json")
                .send()
                .await
                .expect("send");
            if secured {
                assert_eq!(resp.status(), 401, "{method} {path}");
                let body: Value = resp.json().await.expect("json");
                assert_eq!(
                    body,
                    serde_json::json!({"success": false, "error": "Invalid or missing API key", "code": "UNAUTHORIZED"})
                );
            } else {
                assert_ne!(resp.status(), 401, "{method} {path} is open");
            }
        }
        if secured && path != "/events" {
            // The right key by query gets past auth.
            let resp = http
                .request(m.clone(), format!("{url}?apikey={KEY}"))
                .json(&serde_json::json!({}))
                .send()
                .await
                .expect("send");
            assert_ne!(resp.status(), 401, "{method} {path} with the query key");
        }
        checked += 1;
    }
    assert!(checked >= 14, "walked {checked} operations");
    server.stop().await;
}

#[tokio::test]
async fn test_wire_errors_use_the_envelope() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let http = raw();
    let get = |path: &str| {
        http.get(format!("{}{path}", server.url()))
            .header("X-API-Key", KEY)
    };
    let unknown = get("/api/v1/no-such-thing").send().await.expect("send");
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.expect("json");
    assert_eq!(
        (body["success"].clone(), body["code"].clone()),
        (Value::Bool(false), Value::from("NOT_FOUND"))
    );

    let wrong_method = http
        .delete(format!("{}/api/v1/status", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(wrong_method.status(), 405);
    let body: Value = wrong_method.json().await.expect("json");
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");

    let malformed = http
        .post(format!("{}/api/v1/config/validate", server.url()))
        .header("X-API-Key", KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.expect("json");
    assert_eq!(body["code"], "BAD_REQUEST");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    server.stop().await;
}

#[tokio::test]
async fn test_wire_oversized_body_is_413_and_nothing_is_written() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let before = std::fs::read(server.config_path()).expect("config");
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let resp = raw()
        .post(format!("{}/api/v1/config/apply", server.url()))
        .header("X-API-Key", KEY)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(std::fs::read(server.config_path()).expect("config"), before);
    server.stop().await;
}

/// No wildcard CORS: `OPTIONS` is not answered before auth (it used to be 200 with
/// `Access-Control-Allow-Origin: *` on any path), and no answer carries `*`. Listed origins
/// are covered by the security suite (`cors.rs`).
#[tokio::test]
async fn test_wire_no_wildcard_cors_and_options_is_not_answered_before_auth() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let options = raw()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/servers", server.url()),
        )
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .expect("send");
    assert_eq!(options.status(), 401);
    assert!(
        options
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let get = raw()
        .get(format!("{}/api/v1/servers", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(get.status(), 200);
    assert!(get.headers().get("access-control-allow-origin").is_none());
    server.stop().await;
}

/// The probes and the OAuth client metadata document (which authorization servers fetch
/// with no key) are the only operations open to anyone.
#[test]
fn test_wire_open_operations_are_exactly_the_probes_and_the_client_document() {
    let open: Vec<String> = all_operations()
        .into_iter()
        .filter(|o| !o.2)
        .map(|o| o.1)
        .collect();
    assert_eq!(open, ["/healthz", "/oauth/client-metadata.json", "/readyz"]);
    assert!(
        OPERATIONS
            .iter()
            .filter(|o| o.security == Security::None)
            .count()
            == 3
    );
}

/// The document is served without a key, names its own URL (or the hosted copy's) as the
/// client id; a bad `url` is a 400 in the envelope; anything else under `/oauth` needs the
/// key (fail closed).
#[tokio::test]
async fn test_wire_the_client_metadata_document_is_open_and_nothing_else_under_oauth() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let http = raw();
    let own = format!("{}/oauth/client-metadata.json", server.url());
    let doc: Value = http
        .get(&own)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["client_id"], own.as_str());
    assert_eq!(
        doc["redirect_uris"],
        serde_json::json!(["http://127.0.0.1/callback"])
    );
    assert_eq!(doc["token_endpoint_auth_method"], "none");
    let hosted = http
        .get(&own)
        .query(&[("url", "https://example.com/mcpproxy.json")])
        .send()
        .await
        .expect("send");
    assert_eq!(hosted.status(), 200);
    let hosted: Value = hosted.json().await.expect("json");
    assert_eq!(hosted["client_id"], "https://example.com/mcpproxy.json");
    let bad = http
        .get(&own)
        .query(&[("url", "javascript:alert(1)")])
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.expect("json");
    assert_eq!(
        (bad["success"].clone(), bad["code"].clone()),
        (serde_json::json!(false), serde_json::json!("BAD_REQUEST"))
    );
    for path in ["/oauth/other", "/oauth", "/oauth/client-metadata.json/x"] {
        let resp = http
            .get(format!("{}{path}", server.url()))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 401, "{path}");
    }
    server.stop().await;
}
