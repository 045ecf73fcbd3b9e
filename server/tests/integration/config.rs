//! config get / validate / apply.

use mcpproxy_client::types;
use serde_json::json;

use crate::common::*;

fn document(value: serde_json::Value) -> types::ConfigDocument {
    serde_json::from_value(value).expect("config document")
}

#[tokio::test]
async fn test_config_get_masks_secrets() {
    let mut config = config_with(json!([{
        "name": "gh", "command": "true", "env": {"GITHUB_TOKEN": "ghp_supersecretvalue", "MODE": "fast"}
    }]));
    config["custom_key_we_do_not_know"] = json!({"kept": true});
    let server = TestServer::start(config).await;
    let view = server
        .client()
        .config_get()
        .await
        .expect("config")
        .into_inner();
    let body = serde_json::to_value(&view.data.config).expect("json");
    // One constant mask for every value (it reveals nothing), and every env value is masked
    // whatever its name (issue 11 §4).
    assert_eq!(body["api_key"], "********");
    assert_eq!(body["mcpServers"][0]["env"]["GITHUB_TOKEN"], "********");
    assert_eq!(body["mcpServers"][0]["env"]["MODE"], "********");
    assert_eq!(body["custom_key_we_do_not_know"]["kept"], true);
    assert_eq!(
        view.data.config_path,
        server.config_path().display().to_string()
    );
    assert!(
        !serde_json::to_string(&view)
            .expect("json")
            .contains("supersecret")
    );
    server.stop().await;
}

#[tokio::test]
async fn test_config_validate_reports_field_errors() {
    let server = TestServer::start(config_with(json!([]))).await;
    let report = server
        .client()
        .config_validate(&document(json!({
            "listen": "127.0.0.1:8080", "top_k": 0,
            "mcpServers": [{"name": "", "command": "x"}, {"name": "h", "protocol": "http"}]
        })))
        .await
        .expect("validate")
        .into_inner();
    assert!(!report.data.valid);
    let fields: Vec<&str> = report
        .data
        .errors
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, ["top_k", "mcpServers[0].name", "mcpServers[1].url"]);
    let ok = server
        .client()
        .config_validate(&document(json!({})))
        .await
        .expect("validate")
        .into_inner();
    assert!(ok.data.valid, "{:?}", ok.data.errors);
    server.stop().await;
}

#[tokio::test]
async fn test_config_apply_rejects_invalid_and_leaves_the_file_untouched() {
    let server = TestServer::start(config_with(json!([{"name": "a", "command": "true"}]))).await;
    let before = std::fs::read(server.config_path()).expect("config");
    let err = server
        .client()
        .config_apply(&document(
            json!({"tools_limit": 0, "mcpServers": [{"name": "a"}, {"name": "a", "command": "x"}]}),
        ))
        .await
        .expect_err("invalid");
    let mcpproxy_client::Error::ErrorResponse(resp) = err else {
        panic!("expected an error response")
    };
    assert_eq!(resp.status().as_u16(), 400);
    let body = resp.into_inner();
    assert_eq!(body.code, "VALIDATION_ERROR");
    let fields: Vec<String> = body
        .errors
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        ["tools_limit", "mcpServers[0].command", "mcpServers[1].name"]
    );
    assert_eq!(std::fs::read(server.config_path()).expect("config"), before);

    // A body that is not a configuration at all (wrong types) is a 400 too.
    let err = server
        .client()
        .config_apply(&document(json!({"mcpServers": "nope"})))
        .await
        .expect_err("malformed");
    let mcpproxy_client::Error::ErrorResponse(resp) = err else {
        panic!("expected an error response")
    };
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(std::fs::read(server.config_path()).expect("config"), before);
    server.stop().await;
}

#[tokio::test]
async fn test_config_apply_round_trip_keeps_secrets_and_applies() {
    let server = TestServer::start(config_with(json!([{
        "name": "gh", "command": "true", "env": {"GITHUB_TOKEN": "ghp_supersecretvalue"}
    }])))
    .await;
    let client = server.client();
    let mut view = serde_json::to_value(
        client
            .config_get()
            .await
            .expect("get")
            .into_inner()
            .data
            .config,
    )
    .expect("json");
    view["tools_limit"] = json!(25);
    let result = client
        .config_apply(&document(view))
        .await
        .expect("apply")
        .into_inner();
    assert!(result.data.applied_immediately);
    assert!(!result.data.requires_restart);
    assert_eq!(result.data.changed_fields, ["tools_limit"]);
    let on_disk = server.config_on_disk();
    assert_eq!(on_disk["tools_limit"], 25);
    assert_eq!(
        on_disk["api_key"], KEY,
        "masked key must not overwrite the real one"
    );
    assert_eq!(
        on_disk["mcpServers"][0]["env"]["GITHUB_TOKEN"],
        "ghp_supersecretvalue"
    );

    let mut moved = on_disk.clone();
    moved["listen"] = json!("127.0.0.1:1");
    let result = client
        .config_apply(&document(moved))
        .await
        .expect("apply")
        .into_inner();
    assert!(result.data.requires_restart);
    assert!(!result.data.applied_immediately);
    assert!(
        result
            .data
            .restart_reason
            .unwrap_or_default()
            .contains("Listen")
    );
    assert_eq!(
        server.config_on_disk()["listen"],
        "127.0.0.1:1",
        "saved even when a restart is needed"
    );

    let same = client
        .config_apply(&document(server.config_on_disk()))
        .await
        .expect("apply")
        .into_inner();
    assert!(!same.data.applied_immediately && same.data.changed_fields.is_empty());
    server.stop().await;
}
