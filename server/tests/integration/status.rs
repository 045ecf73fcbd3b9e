//! status, info, health probes and Swagger.

use crate::common::*;

#[tokio::test]
async fn test_status_and_info_report_counts_version_and_endpoints() {
    let server = TestServer::start(config_with(serde_json::json!([
        fixture_server("a"),
        {"name": "q", "command": "true", "enabled": true, "quarantined": true}
    ])))
    .await;
    let status = server
        .client()
        .status_get()
        .await
        .expect("status")
        .into_inner();
    assert!(status.success);
    assert_eq!(status.status, "running");
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(status.servers.total, 2);
    assert_eq!(status.servers.quarantined, 1);
    assert!(status.data.running);
    assert_eq!(status.data.listen_addr, server.addr);

    let info = server.client().info_get().await.expect("info").into_inner();
    assert_eq!(info.data.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.data.endpoints.http, server.addr);
    assert_eq!(
        info.data.endpoints.socket,
        server.socket_path().display().to_string()
    );
    assert!(info.data.web_ui_url.contains(&format!("apikey={KEY}")));
    assert!(info.data.update.is_none());
    server.stop().await;
}

#[tokio::test]
async fn test_health_probes_need_no_key() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let anonymous = mcpproxy_client::Client::new(&server.url());
    assert_eq!(
        anonymous
            .health_live()
            .await
            .expect("healthz")
            .into_inner()
            .status,
        "ok"
    );
    assert!(
        anonymous
            .health_ready()
            .await
            .expect("readyz")
            .into_inner()
            .ready
    );
    server.stop().await;
}

#[tokio::test]
async fn test_swagger_ui_is_embedded_and_serves_the_exact_spec() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let page = raw()
        .get(format!("{}/swagger/", server.url()))
        .send()
        .await
        .expect("swagger");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("swagger-ui-bundle.js")
    );
    let js = raw()
        .get(format!("{}/swagger/swagger-ui-bundle.js", server.url()))
        .send()
        .await
        .expect("js");
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.expect("js").len() > 1_000_000);
    let spec = raw()
        .get(format!("{}/swagger/swagger.yaml", server.url()))
        .send()
        .await
        .expect("spec");
    assert_eq!(spec.text().await.expect("yaml"), mcpproxy_api::SPEC_YAML);
    server.stop().await;
}
