//! Secrets: the REST store (metadata only, never values), a `${keyring:…}` reference reaching
//! a stdio server's environment, and a changed or deleted secret restarting or stopping it.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use mcpproxy_client::types;
use serde_json::json;

use crate::common::*;

fn request(name: &str, value: &str) -> types::SecretStoreRequest {
    types::SecretStoreRequest {
        name: name.into(),
        value: value.into(),
        type_: None,
    }
}

fn status_of(err: mcpproxy_client::Error<types::ErrorResponse>) -> u16 {
    match err {
        mcpproxy_client::Error::ErrorResponse(resp) => resp.status().as_u16(),
        other => panic!("expected an error response, got {other}"),
    }
}

#[tokio::test]
async fn test_secrets_store_list_get_delete_never_show_values() {
    let server = TestServer::start(config_with(json!([{
        "name": "gh", "command": "true", "enabled": false,
        "env": {"GITHUB_TOKEN": "${keyring:gh-token}", "HOME_DIR": "${env:MCPPROXY_TEST_UNSET_VAR}"}
    }])))
    .await;
    let client = server.client();
    let stored = client
        .secret_store(&request("gh-token", "ghp_value_never_shown"))
        .await
        .expect("store")
        .into_inner()
        .data;
    assert_eq!(stored.reference, "${keyring:gh-token}");
    assert_eq!(stored.type_, "keyring");
    client
        .secret_store(&request("unused", "v2_never_shown"))
        .await
        .expect("store");

    let list = client.secret_list().await.expect("list").into_inner();
    let text = serde_json::to_string(&list).expect("json");
    assert!(!text.contains("never_shown"), "{text}");
    let summary: Vec<(String, String, bool, Vec<String>)> = list
        .data
        .secrets
        .iter()
        .map(|s| (s.type_.clone(), s.name.clone(), s.is_set, s.used_by.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "env".into(),
                "MCPPROXY_TEST_UNSET_VAR".into(),
                false,
                vec!["gh".to_string()]
            ),
            (
                "keyring".into(),
                "gh-token".into(),
                true,
                vec!["gh".to_string()]
            ),
            ("keyring".into(), "unused".into(), true, vec![]),
        ]
    );
    assert_eq!(list.data.count, 3);

    let one = client
        .secret_get("gh-token")
        .await
        .expect("get")
        .into_inner();
    assert!(one.data.is_set);
    assert_eq!(one.data.used_by, ["gh"]);
    assert_eq!(
        status_of(client.secret_get("nope").await.expect_err("unknown")),
        404
    );
    assert_eq!(
        status_of(
            client
                .secret_store(&request("", "x"))
                .await
                .expect_err("empty name")
        ),
        400
    );
    assert_eq!(
        status_of(
            client
                .secret_store(&request("x", ""))
                .await
                .expect_err("empty value")
        ),
        400
    );

    let file = server.dir.path().join("data").join("secrets.json");
    let mode = std::fs::metadata(&file)
        .expect("store file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let deleted = client
        .secret_delete("unused")
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.data.name, "unused");
    assert_eq!(
        status_of(client.secret_delete("unused").await.expect_err("gone")),
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn test_a_secret_reaches_the_server_environment_and_a_change_restarts_it() {
    // The value the server got is written to a file the test reads: its log shows the
    // stderr line, but redacted (a log never holds a secret, issue 11 §4).
    let seen_dir = tempfile::tempdir().expect("tempdir");
    let seen = seen_dir.path().join("seen");
    let script = format!(
        "echo \"token=$FX_TOKEN\" >&2; echo \"$FX_TOKEN\" >> '{}'; exec '{}' stdio",
        seen.display(),
        fixture_bin().display()
    );
    let values_seen = || std::fs::read_to_string(&seen).unwrap_or_default();
    let server = TestServer::start(config_with(json!([{
        "name": "fx", "command": "sh", "args": ["-c", script], "enabled": true,
        "env": {"FX_TOKEN": "${keyring:fx-token}"}
    }])))
    .await;
    let client = server.client();
    // Not set yet: held back, never started with the placeholder.
    let view = server_view(&server, "fx").await;
    assert_eq!(view.health.summary, "Missing secret: fx-token");
    assert_eq!(view.last_error.as_deref(), Some("Missing secret: fx-token"));
    assert_eq!(
        status_of(client.server_restart("fx").await.expect_err("held")),
        400
    );

    let mut events = EventStream::open(&server).await;
    client
        .secret_store(&request("fx-token", "first-value"))
        .await
        .expect("store");
    let changed = events
        .next_matching(|kind, _| kind == "secrets.changed")
        .await;
    assert_eq!(
        changed["payload"],
        json!({"operation": "store", "secret_name": "fx-token"})
    );
    wait_connected(&server, "fx").await;
    eventually(
        Duration::from_secs(10),
        "the first value in the server's environment, redacted in its log",
        || async {
            let log = server_log(&server, "fx").await;
            let redacted = log.iter().any(|l| l == "token=********");
            (values_seen().lines().any(|l| l == "first-value") && redacted).then_some(())
        },
    )
    .await;
    assert!(
        !server_log(&server, "fx")
            .await
            .iter()
            .any(|l| l.contains("first-value")),
        "the log shows the secret"
    );

    // A changed value restarts the server with it.
    client
        .secret_store(&request("fx-token", "second-value"))
        .await
        .expect("store");
    eventually(
        Duration::from_secs(20),
        "a restart with the new value",
        || async {
            let restarted = values_seen().lines().any(|l| l == "second-value");
            let connected = server_view(&server, "fx").await.connected;
            (restarted && connected).then_some(())
        },
    )
    .await;

    // Deleted: the server stops and says which secret is missing.
    client.secret_delete("fx-token").await.expect("delete");
    eventually(Duration::from_secs(10), "held again", || async {
        let view = server_view(&server, "fx").await;
        (view.status == "error" && view.health.action == "set_secret").then_some(())
    })
    .await;
    server.stop().await;
}
