//! §1 of the boundary issue: the API key cannot be skipped by writing a path another way.
//!
//! For every secured operation of the spec and every spelling of its path (`//` prefix,
//! doubled inner slashes, trailing slash, `%2F`, a percent-encoded letter in each segment,
//! `.`/`..` segments, mixed case, `;params`) a request without the key over TCP is refused
//! (401, 400 or 404) and never served; spellings that name the same route are 401 exactly.
//! Over the owner's unix socket the same spellings still reach the same route without a key.

use std::collections::BTreeSet;

use mcpproxy_api::{OPERATIONS, Security};
use serde_json::json;

use crate::common::*;
use crate::raw;

/// A concrete path for an operation's template.
fn concrete(template: &str) -> String {
    template
        .replace("/servers/{name}", "/servers/enable_all")
        .replace("{name}", "ghost")
        .replace("{id}", "ghost")
}

/// Spellings of `path`: `(spelling, names the same route)`.
fn variants(path: &str) -> Vec<(String, bool)> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let join = |segs: &[String]| format!("/{}", segs.join("/"));
    let owned: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
    let mut out = vec![
        (format!("/{path}"), true),
        (path.replace('/', "//"), true),
        (format!("{path}/"), true),
        (format!("{path}//"), true),
    ];
    for i in 0..owned.len() {
        // A percent-encoded first letter (`/%61pi/...`), then the whole segment encoded.
        let mut segs = owned.clone();
        let seg = &owned[i];
        let first = seg.chars().next().expect("segment");
        segs[i] = format!("%{:02X}{}", first as u32, &seg[first.len_utf8()..]);
        out.push((join(&segs), true));
        segs[i] = seg.bytes().map(|b| format!("%{b:02x}")).collect();
        out.push((join(&segs), true));
        // Mixed case.
        let mut segs = owned.clone();
        segs[i] = seg.to_ascii_uppercase();
        if segs[i] != *seg {
            out.push((join(&segs), false));
        }
        // `;params` on the segment.
        let mut segs = owned.clone();
        segs[i] = format!("{seg};x=1");
        out.push((join(&segs), false));
        // Dot segments after it.
        for dots in [".", "..", "%2e", "%2E%2e", "x/..", "x/%2e%2e"] {
            let mut segs = owned.clone();
            segs.insert(i + 1, dots.to_string());
            out.push((join(&segs), false));
        }
    }
    for i in 0..owned.len().saturating_sub(1) {
        // `%2F` in place of a separator.
        let mut merged = owned.clone();
        let next = merged.remove(i + 1);
        merged[i] = format!("{}%2F{next}", merged[i]);
        out.push((join(&merged), false));
        merged[i] = merged[i].replace("%2F", "%2f");
        out.push((join(&merged), false));
    }
    out.push((path.to_ascii_uppercase(), false));
    out
}

fn secured_operations() -> Vec<(&'static str, String)> {
    let mut ops: Vec<_> = OPERATIONS
        .iter()
        .filter(|op| op.security == Security::ApiKey)
        .map(|op| (op.method, concrete(op.path)))
        .collect();
    // The WebSocket channel is not in the spec's table but needs the key all the same.
    ops.push(("GET", "/events/ws".to_string()));
    assert!(
        ops.len() >= 30,
        "the spec's secured operations: {}",
        ops.len()
    );
    ops
}

#[tokio::test]
async fn test_paths_no_spelling_of_a_secured_route_is_served_without_the_key() {
    let server = TestServer::start(config_with(json!([]))).await;
    let mut refused = BTreeSet::new();
    let mut checked = 0;
    for (method, path) in secured_operations() {
        for (spelling, same_route) in variants(&path) {
            let answer = raw::tcp(
                &server.addr,
                method,
                &spelling,
                &[("Content-Type", "application/json")],
                b"{}",
            )
            .await;
            assert!(
                [400, 401, 404].contains(&answer.status),
                "{method} {spelling} without a key: {answer:?}"
            );
            assert!(
                !answer.body.contains(KEY),
                "{method} {spelling} leaked the key: {}",
                answer.body
            );
            if same_route {
                assert_eq!(answer.status, 401, "{method} {spelling}: {answer:?}");
            }
            refused.insert(answer.status);
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} spellings checked");
    // Every kind of refusal occurred: the table exercises each rule.
    assert_eq!(refused, BTreeSet::from([400, 401, 404]));
    server.stop().await;
}

#[tokio::test]
async fn test_paths_spellings_reach_the_same_route_over_the_socket_and_with_the_key() {
    let server = TestServer::start(config_with(json!([]))).await;
    let socket = server.socket_path();
    for (method, path) in secured_operations() {
        // GET only: the socket needs no key, and POSTs would act.
        if method != "GET" {
            continue;
        }
        let keyed = [("X-API-Key", KEY)];
        let expected = raw::tcp(&server.addr, method, &path, &keyed, b"")
            .await
            .status;
        // 200, or 404 for the made-up names, or 400 for a missing required query.
        assert!(
            [200, 400, 404].contains(&expected),
            "GET {path} with the key: {expected}"
        );
        for (spelling, same_route) in variants(&path) {
            if !same_route {
                continue;
            }
            let over_socket = raw::unix(&socket, method, &spelling, &[], b"").await;
            assert_eq!(
                over_socket.status, expected,
                "GET {spelling} over the socket: {over_socket:?}"
            );
            let with_key = raw::tcp(&server.addr, method, &spelling, &keyed, b"").await;
            assert_eq!(
                with_key.status, expected,
                "GET {spelling} with the key: {with_key:?}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn test_paths_info_does_not_leak_the_key_and_a_cross_site_apply_adds_nothing() {
    let server = TestServer::start(config_with(json!([]))).await;
    for path in ["//api/v1/info", "/%61pi/v1/info", "/api/v1/info/"] {
        let answer = raw::tcp(&server.addr, "GET", path, &[], b"").await;
        assert_eq!(answer.status, 401, "{path}: {answer:?}");
        assert!(!answer.body.contains(KEY), "{path}: {}", answer.body);
    }
    let canary = server.dir.path().join("canary");
    let mut document = server.config_on_disk();
    document["mcpServers"] = json!([{
        "name": "pwn", "command": "sh",
        "args": ["-c", format!("touch {}", canary.display())], "enabled": true
    }]);
    let body = document.to_string();
    let before = std::fs::read(server.config_path()).expect("config");
    // What a page on another site can send: a Blob body, no Content-Type, its Origin.
    let cross_site = raw::tcp(
        &server.addr,
        "POST",
        "//api/v1/config/apply",
        &[("Origin", "http://evil.example")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(cross_site.status, 403, "{cross_site:?}");
    // Without an Origin and without a key: still refused.
    let keyless = raw::tcp(
        &server.addr,
        "POST",
        "//api/v1/config/apply",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(keyless.status, 401, "{keyless:?}");
    // With the key but no JSON Content-Type (a "simple request"): 415, nothing applied.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut headers = vec![("X-API-Key", KEY)];
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        let answer = raw::tcp(
            &server.addr,
            "POST",
            "/api/v1/config/apply",
            &headers,
            body.as_bytes(),
        )
        .await;
        assert_eq!(answer.status, 415, "{content_type:?}: {answer:?}");
        let envelope: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        assert_eq!(envelope["code"], "UNSUPPORTED_MEDIA_TYPE");
        assert_eq!(envelope["success"], false);
    }
    // Kept: an observation window; nothing may happen in it.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(std::fs::read(server.config_path()).expect("config"), before);
    assert!(!canary.exists(), "the command ran");
    let list = server
        .client()
        .server_list()
        .await
        .expect("list")
        .into_inner();
    assert!(list.data.servers.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn test_paths_outside_every_route_family_are_refused_not_forwarded() {
    let server = TestServer::start(config_with(json!([]))).await;
    for path in [
        "/",
        "/nope",
        "/API/v1/status",
        "/api%2Fv1/status",
        "/Events",
        "/.well-known/x",
    ] {
        let answer = raw::tcp(&server.addr, "GET", path, &[("X-API-Key", KEY)], b"").await;
        assert_eq!(answer.status, 404, "{path}: {answer:?}");
        let envelope: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        assert_eq!(envelope["code"], "NOT_FOUND", "{path}");
    }
    // The open routes stay open, under any spelling dropshot would route the same way.
    for path in [
        "/healthz",
        "//healthz",
        "/%68ealthz",
        "/readyz/",
        "/swagger/",
        "//swagger/swagger.yaml",
    ] {
        let answer = raw::tcp(&server.addr, "GET", path, &[], b"").await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn test_paths_method_not_allowed_lists_the_spec_methods() {
    let server = TestServer::start(config_with(json!([]))).await;
    for (method, path, allow) in [
        ("OPTIONS", "/api/v1/secrets", "GET, POST"),
        ("PUT", "/api/v1/secrets/github-token", "DELETE, GET"),
        // POST adds a server (issue 14).
        ("OPTIONS", "//api/v1/servers", "GET, POST"),
    ] {
        let answer = raw::tcp(&server.addr, method, path, &[("X-API-Key", KEY)], b"").await;
        assert_eq!(answer.status, 405, "{method} {path}: {answer:?}");
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
    }
    server.stop().await;
}
