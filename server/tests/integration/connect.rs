//! Connecting other MCP clients to the proxy against a running daemon (whose `$HOME` is the
//! test directory): `mcpproxy connect CLIENT [--dry-run] [--undo]` and its REST twin
//! `/api/v1/connect`; after an undo the client's file is byte-identical to before.

use serde_json::Value;

use crate::cli::cli;
use crate::common::*;

/// A Cursor file as a person left it: odd spacing, a key order of their own, no newline.
const CURSOR: &str = "{\n    \"mcpServers\":{ \"context7\" : {\"command\":\"npx\",\"args\":[\"-y\",\"@upstash/context7-mcp\"]} },\n  \"a\": 1\n}";

const CODEX: &str = "# my settings\nmodel = \"o4-mini\"\n\n[mcp_servers.docs]\ncommand = \"npx\"\nargs = [\"-y\", \"mcp-server-docs\"]";

#[tokio::test]
async fn test_connect_cli_and_rest_undo_leaves_files_byte_identical() {
    let server = TestServer::start(config_with(serde_json::json!([]))).await;
    let home = server.dir.path().to_path_buf();
    let data = home.join("data").display().to_string();
    let cursor = home.join(".cursor").join("mcp.json");
    std::fs::create_dir_all(cursor.parent().expect("dir")).expect("dir");
    std::fs::write(&cursor, CURSOR).expect("cursor");
    let run = |args: Vec<&'static str>| {
        let data = data.clone();
        async move {
            let mut all = vec!["--data-dir", data.as_str()];
            all.extend(args);
            cli(&all, None).await
        }
    };
    let mcp_url = format!("{}/mcp", server.url());

    // The preview writes nothing and shows the entry.
    let (code, out, err) = run(vec!["connect", "cursor", "--dry-run"]).await;
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("would add") && out.contains(&mcp_url), "{out}");
    assert_eq!(std::fs::read_to_string(&cursor).expect("read"), CURSOR);

    let (code, out, err) = run(vec!["connect", "cursor"]).await;
    assert_eq!(code, 0, "{out} {err}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&cursor).expect("read")).expect("json");
    assert_eq!(written["mcpServers"]["mcpproxy"]["url"], mcp_url.as_str());
    assert_eq!(
        written["mcpServers"]["context7"]["command"], "npx",
        "the user's servers stay"
    );
    // Connecting again writes nothing new; the backup stays the original.
    let (code, out, _) = run(vec!["connect", "cursor"]).await;
    assert!(code == 0 && out.contains("already connected"), "{out}");
    let listed = server
        .client()
        .connect_list()
        .await
        .expect("list")
        .into_inner();
    let entry = listed
        .data
        .clients
        .iter()
        .find(|c| c.client == "cursor")
        .expect("cursor");
    assert!(entry.exists && entry.connected);
    assert_eq!(listed.data.mcp_url, mcp_url);

    let (code, out, err) = run(vec!["connect", "cursor", "--undo"]).await;
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(
        std::fs::read_to_string(&cursor).expect("read"),
        CURSOR,
        "byte-identical after undo"
    );
    let (code, _, err) = run(vec!["connect", "cursor", "--undo"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("nothing to undo"), "{err}");

    // The REST twin, on Codex's TOML: appended, then undone to the same bytes.
    let codex = home.join(".codex").join("config.toml");
    std::fs::create_dir_all(codex.parent().expect("dir")).expect("dir");
    std::fs::write(&codex, CODEX).expect("codex");
    let client = server.client();
    let preview = client
        .connect_preview("codex")
        .await
        .expect("preview")
        .into_inner()
        .data;
    assert_eq!(preview.action, "preview");
    assert!(preview.after.starts_with(CODEX) && preview.entry.contains("[mcp_servers.mcpproxy]"));
    assert_eq!(std::fs::read_to_string(&codex).expect("read"), CODEX);
    let applied = client
        .connect_apply("codex")
        .await
        .expect("apply")
        .into_inner()
        .data;
    assert_eq!(applied.action, "connected");
    assert_eq!(
        std::fs::read_to_string(&codex).expect("read"),
        preview.after
    );
    client.connect_undo("codex").await.expect("undo");
    assert_eq!(std::fs::read_to_string(&codex).expect("read"), CODEX);

    // A client without a file: created, and removed again by undo.
    let vscode_plan = client
        .connect_apply("vscode")
        .await
        .expect("vscode")
        .into_inner()
        .data;
    assert!(!vscode_plan.exists);
    let vscode = std::path::PathBuf::from(&vscode_plan.path);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&vscode).expect("created")).expect("json");
    assert_eq!(written["servers"]["mcpproxy"]["type"], "http");
    client.connect_undo("vscode").await.expect("undo");
    assert!(!vscode.exists());

    // An unknown client and a broken file: clear 4xx, nothing written.
    match client.connect_apply("notepad").await {
        Err(mcpproxy_client::Error::ErrorResponse(r)) => assert_eq!(r.status().as_u16(), 400),
        other => panic!("expected 400, got {other:?}"),
    }
    std::fs::write(&cursor, "{ broken").expect("broken");
    match client.connect_apply("cursor").await {
        Err(mcpproxy_client::Error::ErrorResponse(r)) => assert_eq!(r.status().as_u16(), 409),
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&cursor).expect("read"), "{ broken");
}
