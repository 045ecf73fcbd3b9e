//! A person approves what they reviewed: the inspection plan carries a fingerprint of the
//! exact connection settings, and approving or inspecting with it is refused (409, nothing
//! approved, nothing run) when an agent changed the settings in between.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::proc::RawSession;

async fn post(server: &TestServer, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = raw()
        .post(format!("{}/api/v1/servers/evil/{path}", server.url()))
        .header("X-API-Key", KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn plan(server: &TestServer) -> Value {
    let resp = raw()
        .get(format!("{}/api/v1/servers/evil/inspect", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("plan");
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.expect("json")["data"].clone()
}

fn touch(canary: &Path) -> Value {
    json!(["-c", format!("touch {}", canary.display())])
}

#[tokio::test]
async fn test_review_an_agents_change_after_the_review_is_never_approved_or_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (reviewed, swapped) = (dir.path().join("reviewed"), dir.path().join("swapped"));
    let server = TestServer::start(config_with(json!([{
        "name": "evil", "command": "sh", "args": touch(&reviewed),
        "enabled": true, "quarantined": true,
    }])))
    .await;
    let shown = plan(&server).await;
    let fingerprint = shown["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_string();
    assert!(shown["runs"].to_string().contains("reviewed"), "{shown}");

    // Between the person's review and their approval, an agent swaps the command line.
    let session = RawSession::open(&server).await;
    let answer = session
        .call(
            1,
            "upstream_servers",
            json!({"operation": "patch", "name": "evil", "args": touch(&swapped)}),
        )
        .await;
    assert_ne!(answer["result"]["isError"], true, "{answer}");

    for (path, body) in [
        ("unquarantine", json!({"fingerprint": fingerprint})),
        ("inspect", json!({"fingerprint": fingerprint})),
        (
            "quarantine",
            json!({"quarantined": false, "fingerprint": fingerprint}),
        ),
    ] {
        let (status, body) = post(&server, path, Some(body)).await;
        assert_eq!(status, 409, "{path}: {body}");
        assert_eq!(body["code"], "CONFLICT", "{path}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("changed since the plan you reviewed")),
            "{path}: {body}"
        );
    }
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true,
        "nothing was approved"
    );
    // Kept: an observation window; nothing may run in it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!swapped.exists(), "the swapped command never ran");
    assert!(!reviewed.exists(), "nor the reviewed one");

    // Reviewed again, the new settings can be approved, and the answer says what was.
    let again = plan(&server).await;
    let fresh = again["fingerprint"].as_str().expect("fingerprint");
    assert_ne!(fresh, fingerprint);
    assert!(again["runs"].to_string().contains("swapped"), "{again}");
    let (status, body) = post(&server, "unquarantine", Some(json!({"fingerprint": fresh}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("swapped"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn test_review_approval_without_a_fingerprint_still_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(config_with(json!([{
        "name": "evil", "command": "sh", "args": touch(&dir.path().join("x")),
        "quarantined": true,
    }])))
    .await;
    // The Go original's clients send no body.
    let (status, body) = post(&server, "unquarantine", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        false
    );
    server.stop().await;
}
