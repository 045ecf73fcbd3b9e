//! Importing other MCP clients' configurations, against a running daemon: one real-looking
//! file per client format through `POST /api/v1/servers/import` (generated client), preview
//! then apply, duplicates skipped with the reason, imported servers quarantined; the CLI's
//! `upstream import --from CLIENT|FILE [--dry-run]`; and a map-form file given to
//! `config validate` or `serve` pointing at `import`.

use std::path::Path;

use mcpproxy_client::types;
use serde_json::{Value, json};

use crate::common::*;

const CLAUDE_DESKTOP: &str = r#"{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]
    },
    "github": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}
    }
  },
  "globalShortcut": "Ctrl+Space"
}"#;

const CLAUDE_CODE: &str = r#"{
  "numStartups": 12,
  "mcpServers": {
    "sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp"}
  },
  "projects": {
    "/home/me/app": {
      "allowedTools": [],
      "mcpServers": {
        "postgres": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://localhost/app"], "env": {}}
      }
    }
  }
}"#;

const CURSOR: &str = r#"{
  "mcpServers": {
    "linear": {"url": "https://mcp.linear.app/sse"},
    "context7": {"command": "npx", "args": ["-y", "@upstash/context7-mcp"], "env": {"DEFAULT_MINIMUM_TOKENS": "6000"}}
  }
}"#;

const VSCODE: &str = r#"{
  "inputs": [{"type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key", "password": true}],
  "servers": {
    "perplexity": {"type": "stdio", "command": "npx", "args": ["-y", "server-perplexity-ask"], "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}"}},
    "github-remote": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}
  }
}"#;

const CODEX: &str = r#"model = "o4-mini"
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "mcp-server-docs"]

[mcp_servers.docs.env]
DOCS_ROOT = "/srv/docs"

[mcp_servers.figma]
url = "https://mcp.figma.com/mcp"
bearer_token_env_var = "FIGMA_TOKEN"
"#;

const GEMINI: &str = r#"{
  "theme": "GitHub",
  "mcpServers": {
    "weather": {"command": "python", "args": ["-m", "weather_mcp"], "cwd": "/tmp", "timeout": 30000},
    "moved-away": {"command": "node", "args": ["server.js"], "cwd": "/does/not/exist/anymore"},
    "remote-http": {"httpUrl": "https://example.com/mcp", "headers": {"Authorization": "Bearer abc"}}
  }
}"#;

fn import_request(
    content: &str,
    format: Option<&str>,
    preview: bool,
) -> types::ServersImportRequest {
    types::ServersImportRequest {
        content: Some(content.to_string()),
        format: format.map(str::to_string),
        server_names: None,
        preview: Some(preview),
    }
}

async fn import(
    server: &TestServer,
    request: &types::ServersImportRequest,
) -> types::BulkOperationResult {
    server
        .client()
        .servers_bulk(types::BulkAction::Import, request)
        .await
        .expect("import")
        .into_inner()
        .data
}

fn names(result: &types::BulkOperationResult) -> Vec<String> {
    let mut names: Vec<String> = result
        .imported
        .iter()
        .flatten()
        .map(|s| s.name.clone())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn test_import_every_client_format_over_rest() {
    let server = TestServer::start(config_with(json!([
        {"name": "filesystem", "command": "true"}
    ])))
    .await;
    let mut events = EventStream::open(&server).await;
    let cases: [(&str, &str, &[&str]); 6] = [
        ("claude-desktop", CLAUDE_DESKTOP, &["github"]),
        ("claude-code", CLAUDE_CODE, &["postgres", "sentry"]),
        ("cursor", CURSOR, &["context7", "linear"]),
        ("vscode", VSCODE, &["github-remote", "perplexity"]),
        ("codex", CODEX, &["docs", "figma"]),
        ("gemini", GEMINI, &["remote-http", "weather"]),
    ];
    for (format, content, expected) in cases {
        // Preview: listed, nothing written.
        let before = server.config_on_disk();
        let preview = import(&server, &import_request(content, Some(format), true)).await;
        assert_eq!(preview.preview, Some(true));
        assert_eq!(preview.format.as_deref(), Some(format));
        assert_eq!(names(&preview), expected, "{format} preview");
        assert_eq!(
            server.config_on_disk(),
            before,
            "{format}: a preview writes nothing"
        );
        // Apply: the same list lands quarantined.
        let applied = import(&server, &import_request(content, Some(format), false)).await;
        assert_eq!(applied.preview, Some(false));
        assert_eq!(names(&applied), expected, "{format} import");
        assert!(applied.imported.iter().flatten().all(|s| s.quarantined));
        for name in expected {
            let view = server_view(&server, name).await;
            assert!(
                view.quarantined && !view.connected,
                "{format}: {name} quarantined"
            );
        }
        events
            .next_matching(|kind, data| {
                kind == "servers.changed" && data["payload"]["reason"] == "imported"
            })
            .await;
    }
    // An entry the configuration's rules refuse is skipped with the rule's words.
    let gemini = import(&server, &import_request(GEMINI, Some("gemini"), true)).await;
    assert!(
        gemini
            .skipped
            .iter()
            .flatten()
            .any(|s| s.name == "moved-away" && s.reason.contains("working_dir")),
        "{:?}",
        gemini.skipped
    );
    // Claude Desktop's `filesystem` was configured already: skipped, saying why.
    let again = import(
        &server,
        &import_request(CLAUDE_DESKTOP, Some("claude-desktop"), false),
    )
    .await;
    assert!(again.imported.as_ref().is_some_and(Vec::is_empty));
    let skipped = again.skipped.clone().unwrap_or_default();
    assert!(
        skipped
            .iter()
            .any(|s| s.name == "filesystem" && s.reason.contains("already configured")),
        "{skipped:?}"
    );
    assert_eq!((again.successful, again.failed), (0, 2));

    let disk = server.config_on_disk();
    let entry = |name: &str| -> Value {
        disk["mcpServers"]
            .as_array()
            .and_then(|l| l.iter().find(|s| s["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{name} on disk"))
    };
    // Each format's fields converted: secrets kept on disk, transports, cwd, bearer env.
    assert_eq!(
        entry("github")["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"
    );
    assert_eq!(entry("sentry")["protocol"], "http");
    assert_eq!(entry("linear")["url"], "https://mcp.linear.app/sse");
    assert_eq!(
        entry("perplexity")["env"]["PERPLEXITY_API_KEY"],
        "${input:perplexity-key}"
    );
    assert_eq!(
        entry("figma")["headers"]["Authorization"],
        "Bearer ${env:FIGMA_TOKEN}"
    );
    assert_eq!(entry("docs")["env"]["DOCS_ROOT"], "/srv/docs");
    assert_eq!(entry("weather")["working_dir"], "/tmp");
    assert_eq!(entry("remote-http")["protocol"], "http");
    // The answer never shows a secret.
    let shown = serde_json::to_string(&again).expect("json");
    assert!(!shown.contains("ghp_0123"), "{shown}");

    // Not a client file, and no content: 400 in the error envelope.
    for body in [
        import_request("{\"theme\": 1}", None, true),
        import_request("this is [ not", None, true),
        types::ServersImportRequest::default(),
    ] {
        match server
            .client()
            .servers_bulk(types::BulkAction::Import, &body)
            .await
        {
            Err(mcpproxy_client::Error::ErrorResponse(r)) => {
                assert_eq!(r.status().as_u16(), 400);
                assert!(!r.into_inner().success);
            }
            other => panic!("expected 400, got {other:?}"),
        }
    }
}

/// Runs the CLI with `HOME` at `home`; (exit code, stdout, stderr).
async fn cli_at_home(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"))
        .args(args)
        .env("HOME", home)
        .env_remove("MCPPROXY_DATA")
        .env_remove("MCPPROXY_API_KEY")
        .output()
        .await
        .expect("cli");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `mcpproxy --data-dir DATA upstream import ARGS…` with `HOME` at `home`.
async fn import_cli(home: &Path, data: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--data-dir", data];
    // `-o json` goes before the command like the other global flags.
    if args.first() == Some(&"-o") {
        all.extend_from_slice(&args[..2]);
        all.extend_from_slice(&["upstream", "import"]);
        all.extend_from_slice(&args[2..]);
    } else {
        all.extend_from_slice(&["upstream", "import"]);
        all.extend_from_slice(args);
    }
    cli_at_home(home, &all).await
}

#[tokio::test]
async fn test_cli_upstream_import_from_clients_and_files() {
    let server = TestServer::start(config_with(json!([]))).await;
    let data = server.dir.path().join("data").display().to_string();
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".cursor")).expect("dir");
    std::fs::write(home.path().join(".cursor").join("mcp.json"), CURSOR).expect("cursor");
    std::fs::create_dir_all(home.path().join(".codex")).expect("dir");
    std::fs::write(home.path().join(".codex").join("config.toml"), CODEX).expect("codex");

    // --dry-run changes nothing and says what would happen.
    let (code, out, err) = import_cli(home.path(), &data, &["--from", "cursor", "--dry-run"]).await;
    assert_eq!(code, 0, "{out} {err}");
    assert!(
        out.contains("would import") && out.contains("linear"),
        "{out}"
    );
    assert_eq!(server.config_on_disk()["mcpServers"], json!([]));

    let (code, out, err) =
        import_cli(home.path(), &data, &["-o", "json", "--from", "cursor"]).await;
    assert_eq!(code, 0, "{out} {err}");
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["success"], true);
    assert_eq!(
        report["data"]["sources"][0]["imported"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert!(server_view(&server, "linear").await.quarantined);

    // Without --from: every client file found; cursor's servers are duplicates by now.
    let (code, out, err) = import_cli(home.path(), &data, &[]).await;
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("docs") && out.contains("figma"), "{out}");
    assert!(
        out.contains("skipped") && out.contains("already configured"),
        "{out}"
    );

    // A file in any client's format, and --server to pick entries.
    let file = home.path().join("team-servers.json");
    std::fs::write(&file, GEMINI).expect("file");
    let (code, out, err) = import_cli(
        home.path(),
        &data,
        &["--from", &file.display().to_string(), "--server", "weather"],
    )
    .await;
    assert_eq!(code, 0, "{out} {err}");
    let disk = server.config_on_disk();
    let listed: Vec<&str> = disk["mcpServers"]
        .as_array()
        .expect("servers")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        listed.contains(&"weather") && !listed.contains(&"remote-http"),
        "{listed:?}"
    );

    // A client whose file does not exist: a clear error.
    let (code, _, err) = import_cli(home.path(), &data, &["--from", "vscode"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read") && err.contains("mcp.json"),
        "{err}"
    );
}

#[tokio::test]
async fn test_map_form_file_points_at_import() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("mcp_config.json");
    std::fs::write(&file, CLAUDE_DESKTOP).expect("write");
    let nodaemon = dir.path().join("nodaemon").display().to_string();
    let (code, out, _) = cli_at_home(
        dir.path(),
        &[
            "--data-dir",
            &nodaemon,
            "config",
            "validate",
            &file.display().to_string(),
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        out.contains("another MCP client's configuration")
            && out.contains("mcpproxy upstream import --from"),
        "{out}"
    );
    assert!(!out.contains("expected a sequence"), "{out}");
    // `serve` refuses it with the configuration exit code and the same pointer.
    let (code, text) = run_to_exit(dir.path(), &[]).await;
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("upstream import"), "{text}");
}
