//! §2 of the boundary issue: CORS, Host and Origin (DNS rebinding) on every route family —
//! `/api/v1`, `/events`, the `/events/ws` upgrade, `/mcp`, Swagger and the probes — and the
//! headers of HTML pages.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::*;
use crate::raw;

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"cors","version":"1"}}}"#;

/// One request: method, path, headers, body.
type Probe = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static [u8],
);

/// One request per route family.
fn families() -> Vec<Probe> {
    let keyed = vec![("X-API-Key", KEY)];
    vec![
        ("GET", "/api/v1/status", keyed.clone(), b""),
        ("GET", "/events", keyed, b""),
        ("GET", "/healthz", vec![], b""),
        ("GET", "/swagger/", vec![], b""),
        (
            "POST",
            "/mcp",
            vec![
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ],
            INIT.as_bytes(),
        ),
    ]
}

fn port_of(server: &TestServer) -> u16 {
    server
        .addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

#[tokio::test]
async fn test_cors_foreign_hosts_and_origins_are_refused_on_every_route_family() {
    let server = TestServer::start(config_with(json!([]))).await;
    let port = port_of(&server);
    let own = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ];
    let other_port = format!("http://localhost:{}", port.wrapping_add(1).max(1));
    let foreign = [
        "http://evil.example".to_string(),
        other_port,
        format!("https://127.0.0.1:{port}"),
        "null".to_string(),
    ];
    for (method, path, headers, body) in families() {
        // No Origin (curl, SDKs) and the proxy's own origins pass, without CORS headers.
        let plain = raw::tcp(&server.addr, method, path, &headers, body).await;
        assert_eq!(plain.status, 200, "{method} {path}: {plain:?}");
        for origin in &own {
            let with: Vec<_> = [headers.clone(), vec![("Origin", origin.as_str())]].concat();
            let answer = raw::tcp(&server.addr, method, path, &with, body).await;
            assert_eq!(answer.status, 200, "{path} from {origin}: {answer:?}");
            assert_eq!(answer.header("access-control-allow-origin"), None);
        }
        for origin in &foreign {
            let with: Vec<_> = [headers.clone(), vec![("Origin", origin.as_str())]].concat();
            let answer = raw::tcp(&server.addr, method, path, &with, body).await;
            assert_eq!(answer.status, 403, "{path} from {origin}: {answer:?}");
            assert_eq!(answer.header("access-control-allow-origin"), None);
        }
        for host in ["evil.example", "evil.example:80", "10.1.2.3"] {
            let with: Vec<_> = [headers.clone(), vec![("Host", host)]].concat();
            let answer = raw::tcp(&server.addr, method, path, &with, body).await;
            assert_eq!(answer.status, 403, "{path} as Host {host}: {answer:?}");
        }
        // OPTIONS is never a blanket 200, with or without a preflight's headers.
        for origin in [None, Some(own[0].as_str()), Some("http://evil.example")] {
            let mut with = vec![("Access-Control-Request-Method", "POST")];
            with.extend(origin.map(|o| ("Origin", o)));
            let answer = raw::tcp(&server.addr, "OPTIONS", path, &with, b"").await;
            assert!(
                !(200..300).contains(&answer.status),
                "OPTIONS {path} from {origin:?}: {answer:?}"
            );
            assert_eq!(answer.header("access-control-allow-origin"), None);
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn test_cors_the_websocket_upgrade_checks_host_and_origin() {
    let server = TestServer::start(config_with(json!([]))).await;
    let port = port_of(&server);
    let url = format!("ws://{}/events/ws?apikey={KEY}", server.addr);
    let connect = |headers: Vec<(&'static str, String)>| {
        let mut request = url.as_str().into_client_request().expect("request");
        for (k, v) in headers {
            request
                .headers_mut()
                .insert(k, v.parse().expect("header value"));
        }
        tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(request),
        )
    };
    let status_of = |result: Result<_, tokio_tungstenite::tungstenite::Error>| match result {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("websocket: {e}"),
    };
    let ok = connect(vec![]).await.expect("in time");
    assert_eq!(status_of(ok.map(|(ws, _)| ws)), 101);
    let own = connect(vec![("Origin", format!("http://localhost:{port}"))])
        .await
        .expect("in time");
    assert_eq!(status_of(own.map(|(ws, _)| ws)), 101);
    for (name, value) in [
        ("Origin", "http://evil.example".to_string()),
        (
            "Origin",
            format!("http://localhost:{}", port.wrapping_add(1).max(1)),
        ),
        ("Host", "rebound.evil.example".to_string()),
    ] {
        let refused = connect(vec![(name, value.clone())]).await.expect("in time");
        assert_eq!(status_of(refused.map(|(ws, _)| ws)), 403, "{name}: {value}");
    }
    server.stop().await;
}

#[tokio::test]
async fn test_cors_listed_origins_get_cors_and_preflight_others_do_not() {
    let listed = "http://app.example:3000";
    let mut config = config_with(json!([]));
    config["cors_allowed_origins"] = json!([listed]);
    let server = TestServer::start(config).await;
    for (method, path, headers, body) in families() {
        let preflight = raw::tcp(
            &server.addr,
            "OPTIONS",
            path,
            &[
                ("Origin", listed),
                ("Access-Control-Request-Method", method),
                ("Access-Control-Request-Headers", "x-api-key, content-type"),
            ],
            b"",
        )
        .await;
        assert_eq!(preflight.status, 204, "preflight {path}: {preflight:?}");
        assert_eq!(
            preflight.header("access-control-allow-origin"),
            Some(listed)
        );
        assert!(
            preflight
                .header("access-control-allow-headers")
                .is_some_and(|h| h.contains("X-API-Key"))
        );
        let with: Vec<_> = [headers.clone(), vec![("Origin", listed)]].concat();
        let answer = raw::tcp(&server.addr, method, path, &with, body).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        assert_eq!(answer.header("access-control-allow-origin"), Some(listed));
        assert_ne!(answer.header("access-control-allow-origin"), Some("*"));
        // The listed origin still needs the key where the route does.
        if path.starts_with("/api") {
            let keyless = raw::tcp(&server.addr, method, path, &[("Origin", listed)], b"").await;
            assert_eq!(keyless.status, 401);
        }
        let unlisted = raw::tcp(
            &server.addr,
            "OPTIONS",
            path,
            &[
                ("Origin", "http://app.example:3001"),
                ("Access-Control-Request-Method", method),
            ],
            b"",
        )
        .await;
        assert_eq!(unlisted.status, 403, "{path}: {unlisted:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn test_cors_the_socket_ignores_host_and_origin() {
    let server = TestServer::start(config_with(json!([]))).await;
    let answer = raw::unix(
        &server.socket_path(),
        "GET",
        "/api/v1/status",
        &[
            ("Host", "anything.example"),
            ("Origin", "http://evil.example"),
        ],
        b"",
    )
    .await;
    // Only the owner's uid can connect and no browser can: the socket trusts its caller.
    assert_eq!(answer.status, 200, "{answer:?}");
    server.stop().await;
}

#[tokio::test]
async fn test_cors_html_pages_carry_security_headers() {
    let server = TestServer::start(config_with(json!([]))).await;
    let page = raw::tcp(&server.addr, "GET", "/swagger/", &[], b"").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    let csp = page.header("content-security-policy").expect("CSP");
    for directive in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    // No inline script (the CSP would block it); the set-up file disables the validator.
    assert!(!page.body.contains("SwaggerUIBundle("), "{}", page.body);
    let init = raw::tcp(
        &server.addr,
        "GET",
        "/swagger/swagger-initializer.js",
        &[],
        b"",
    )
    .await;
    assert_eq!(init.status, 200);
    assert!(init.body.contains("validatorUrl: null"), "{}", init.body);
    let api = raw::tcp(
        &server.addr,
        "GET",
        "/api/v1/status",
        &[("X-API-Key", KEY)],
        b"",
    )
    .await;
    assert_eq!(api.header("x-content-type-options"), Some("nosniff"));
    server.stop().await;
}
