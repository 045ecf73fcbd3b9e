//! Issue 11 §3: an agent on `/mcp` (no key, by design) cannot make the proxy start a process
//! or open a connection a person did not approve.
//!
//! Every test drives a real proxy through a real MCP session and watches the outside world:
//! a canary file the forbidden command would create, the process table (`/proc/*/cmdline`)
//! for a process carrying the canary's unique path, and a listening canary socket that must
//! never see a connection. A person's inspection (REST, CLI) is tested against the in-tree
//! fixture server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::proc::{RawSession, answer_text};

/// How long a forbidden start gets to show itself before we conclude it did not happen.
const WINDOW: Duration = Duration::from_millis(1500);

/// A stdio command that would leave `canary` behind and stay alive with the canary's path in
/// its command line.
fn canary_server(name: &str, canary: &Path) -> Value {
    let script = format!("touch {0}; sleep 30; echo {0}", canary.display());
    json!({"operation": "add", "name": name, "command": "sh", "args": ["-c", script]})
}

/// Processes anywhere on the machine whose command line mentions `marker`.
fn processes_mentioning(marker: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(marker))
        .collect()
}

/// After the window: no canary file and no process carrying its path.
async fn assert_never_ran(canary: &Path, what: &str) {
    // Kept: the window is the assertion (nothing runs in it).
    tokio::time::sleep(WINDOW).await;
    assert!(
        !canary.exists(),
        "{what}: the command ran ({} exists)",
        canary.display()
    );
    let marker = canary.display().to_string();
    let found = processes_mentioning(&marker);
    assert!(
        found.is_empty(),
        "{what}: processes were spawned: {found:?}"
    );
}

/// A listening socket that counts the connections it is offered.
struct CanarySocket {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl CanarySocket {
    async fn bind() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind canary");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { port, accepted }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    async fn assert_untouched(&self, what: &str) {
        // Kept: the window is the assertion (nothing connects in it).
        tokio::time::sleep(WINDOW).await;
        assert_eq!(
            self.accepted.load(Ordering::SeqCst),
            0,
            "{what}: the proxy connected to the canary socket"
        );
    }
}

/// `true` when the JSON-RPC answer is a tool error.
fn is_error(answer: &Value) -> bool {
    answer["result"]["isError"] == true || answer.get("error").is_some()
}

/// The tool result's JSON text.
fn body(answer: &Value) -> Value {
    serde_json::from_str(&answer_text(answer)).unwrap_or(Value::Null)
}

/// An authenticated raw REST request.
async fn rest(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = raw()
        .request(method, format!("{}{path}", server.url()))
        .header("X-API-Key", KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every agent action that could start `name` if the proxy let it: inspect, enable,
/// restart, a patch that only enables, and calls with each intent. Answers ignored: only
/// their effect on the world counts.
async fn try_every_start(session: &RawSession, name: &str, first_id: u64) {
    let attempts = [
        (
            "quarantine_security",
            json!({"operation": "inspect_quarantined", "name": name}),
        ),
        (
            "upstream_servers",
            json!({"operation": "enable", "name": name}),
        ),
        (
            "upstream_servers",
            json!({"operation": "restart", "name": name}),
        ),
        (
            "upstream_servers",
            json!({"operation": "patch", "name": name, "enabled": true}),
        ),
        (
            "call_tool",
            json!({"name": format!("{name}:x"), "args": {}}),
        ),
        (
            "call_tool_destructive",
            json!({"name": format!("{name}:x"), "args": {}}),
        ),
    ];
    for (id, (tool, args)) in (first_id..).zip(attempts) {
        let _ = session.call(id, tool, args).await;
    }
}

fn canary_in(server: &TestServer, name: &str) -> PathBuf {
    server.dir.path().join(format!("canary-{name}"))
}

/// Every agent action on a quarantined stdio server: nothing is spawned. `args` is taken as
/// the config's own array.
#[tokio::test]
async fn agent_add_inspect_enable_restart_call_spawn_nothing() {
    let server = TestServer::start(config_with(json!([]))).await;
    let canary = canary_in(&server, "add");
    let session = RawSession::open(&server).await;
    let mut add = canary_server("evil", &canary);
    add["env"] = json!({"DATABASE_URL": "postgres://u:hunter2@db/x"});
    let added = session.call(1, "upstream_servers", add).await;
    assert!(!is_error(&added), "{added}");
    assert_eq!(body(&added)["quarantined"], true);
    let on_disk = server.config_on_disk();
    assert_eq!(
        on_disk["mcpServers"][0]["args"][0], "-c",
        "the `args` array was dropped: {on_disk}"
    );
    assert_eq!(on_disk["mcpServers"][0]["quarantined"], true);

    let inspected = session
        .call(
            2,
            "quarantine_security",
            json!({"operation": "inspect_quarantined", "name": "evil"}),
        )
        .await;
    assert!(!is_error(&inspected), "{inspected}");
    let plan = body(&inspected);
    assert_eq!(plan["connected"], false, "{plan}");
    assert_eq!(plan["runs"][0], "sh", "{plan}");
    assert!(
        plan["runs"][2]
            .as_str()
            .is_some_and(|s| s.contains("canary-add")),
        "the plan names what would run: {plan}"
    );
    assert_eq!(plan["total_tools"], 0);
    assert_eq!(plan["env_names"], json!(["DATABASE_URL"]), "{plan}");
    assert!(
        !answer_text(&inspected).contains("hunter2"),
        "an env value reached the agent: {plan}"
    );

    try_every_start(&session, "evil", 10).await;
    assert_never_ran(&canary, "add + inspect/enable/restart/patch/call").await;
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true
    );
    server.stop().await;
}

/// A URL server an agent adds is never contacted: not by inspection, enable, restart or a
/// call.
#[tokio::test]
async fn agent_actions_on_a_quarantined_url_server_open_no_connection() {
    let canary = CanarySocket::bind().await;
    let server = TestServer::start(config_with(json!([]))).await;
    let session = RawSession::open(&server).await;
    let added = session
        .call(
            1,
            "upstream_servers",
            json!({"operation": "add", "name": "remote", "url": canary.url(), "protocol": "http",
                "headers": {"X-Canary": "1"}}),
        )
        .await;
    assert!(!is_error(&added), "{added}");
    let plan = body(
        &session
            .call(
                2,
                "quarantine_security",
                json!({"operation": "inspect_quarantined", "name": "remote"}),
            )
            .await,
    );
    assert_eq!(plan["url"], canary.url(), "{plan}");
    assert_eq!(plan["header_names"], json!(["X-Canary"]), "{plan}");
    try_every_start(&session, "remote", 10).await;
    canary
        .assert_untouched("agent actions on a quarantined URL server")
        .await;
    server.stop().await;
}

/// An agent's patch of `command`/`args` on an approved server sends it back to quarantine:
/// it stops, the new command never runs, and the person's plan shows before and after.
#[tokio::test]
async fn agent_patch_of_command_requarantines_and_the_new_command_never_runs() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let canary = canary_in(&server, "patch");
    let session = RawSession::open(&server).await;
    let mut patch = canary_server("fx", &canary);
    patch["operation"] = json!("patch");
    let patched = session.call(1, "upstream_servers", patch).await;
    assert!(!is_error(&patched), "{patched}");
    assert_eq!(body(&patched)["quarantined"], true, "{patched}");
    assert_eq!(body(&patched)["security_status"], "QUARANTINED_FOR_REVIEW");
    assert_eq!(body(&patched)["changed"], json!(["command", "args"]));
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true
    );
    // Restart and call attempts change nothing either.
    let _ = session
        .call(
            2,
            "upstream_servers",
            json!({"operation": "restart", "name": "fx"}),
        )
        .await;
    let call = session
        .call(
            3,
            "call_tool",
            json!({"name": "fx:echo", "args": {"message": "x"}}),
        )
        .await;
    assert!(is_error(&call), "{call}");
    assert_never_ran(&canary, "patched command").await;
    let view = server_view(&server, "fx").await;
    assert_ne!(view.status, "ready", "{view:?}");

    let (status, plan) = rest(
        &server,
        reqwest::Method::GET,
        "/api/v1/servers/fx/inspect",
        None,
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    let plan = &plan["data"];
    assert_eq!(
        plan["changed_since_approval"],
        json!(["command", "args"]),
        "{plan}"
    );
    assert_eq!(
        plan["approved_connection"]["command"],
        fixture_bin().display().to_string(),
        "{plan}"
    );
    assert_eq!(plan["current_connection"]["command"], "sh", "{plan}");
    assert_eq!(plan["last_known_tools_source"], "pinned", "{plan}");
    assert!(
        plan["last_known_tools"]
            .as_array()
            .is_some_and(|t| t.len() >= 10)
    );
    server.stop().await;
}

/// An agent's patch of `url` on an approved URL server: quarantined again, the new address
/// never contacted. A person's REST edit of the same kind is not re-quarantined.
#[tokio::test]
async fn agent_patch_of_url_requarantines_and_the_new_address_is_never_contacted() {
    let approved = CanarySocket::bind().await;
    let new_target = CanarySocket::bind().await;
    let entry =
        json!({"name": "remote", "url": approved.url(), "protocol": "http", "enabled": true});
    let server = TestServer::start(config_with(json!([entry]))).await;
    let session = RawSession::open(&server).await;
    let patched = session
        .call(
            1,
            "upstream_servers",
            json!({"operation": "patch", "name": "remote", "url": new_target.url()}),
        )
        .await;
    assert_eq!(body(&patched)["quarantined"], true, "{patched}");
    let _ = session
        .call(
            2,
            "upstream_servers",
            json!({"operation": "restart", "name": "remote"}),
        )
        .await;
    new_target.assert_untouched("patched url").await;

    // The person approving sees the change, and only then is the new address contacted.
    let approval = server
        .client()
        .server_unquarantine("remote", &mcpproxy_client::types::ReviewRequest::default())
        .await
        .expect("approve")
        .into_inner()
        .data;
    assert_eq!(approval.changed_since_approval, ["url"], "{approval:?}");
    assert_eq!(
        approval.previously_approved.and_then(|c| c.url),
        Some(approved.url())
    );
    assert_eq!(approval.approved_connection.url, Some(new_target.url()));
    crate::proc::poll(Duration::from_secs(10), "the approved address", || async {
        (new_target.accepted.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;

    // A person's edit through the config API is theirs to make: not re-quarantined.
    let mut document = server.config_on_disk();
    document["mcpServers"][0]["quarantined"] = json!(false);
    document["mcpServers"][0]["url"] = json!(approved.url());
    let (status, answer) = rest(
        &server,
        reqwest::Method::POST,
        "/api/v1/config/apply",
        Some(document),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        false
    );
    server.stop().await;
}

/// `upstream_servers` refuses arguments it does not know, naming the accepted ones, and
/// wrong types; nothing is added.
#[tokio::test]
async fn unknown_and_mistyped_arguments_are_refused() {
    let server = TestServer::start(config_with(json!([]))).await;
    let session = RawSession::open(&server).await;
    let mut id = 0;
    for args in [
        json!({"operation": "add", "name": "a", "command": "true", "argv": ["x"]}),
        json!({"operation": "add", "name": "a", "command": "true", "quarantined": false}),
        json!({"operation": "add", "name": "a", "command": "true", "args": "x"}),
        json!({"operation": "add", "name": "a", "command": "true", "env": ["x"]}),
        json!({"operation": "add", "name": "a", "command": "true", "args": ["x"], "args_json": "[\"y\"]"}),
    ] {
        id += 1;
        let answer = session.call(id, "upstream_servers", args.clone()).await;
        assert!(is_error(&answer), "{args}: {answer}");
    }
    let unknown = session
        .call(
            99,
            "upstream_servers",
            json!({"operation": "add", "name": "a", "command": "true", "argv": ["x"]}),
        )
        .await;
    let text = answer_text(&unknown);
    assert!(
        text.contains("argv") && text.contains("accepted:") && text.contains("args_json"),
        "{text}"
    );
    assert_eq!(server.config_on_disk()["mcpServers"], json!([]));
    server.stop().await;
}

const BAD_NAMES: [&str; 4] = ["evil\nname", "\u{1b}[31mred", "-dash", "tab\there"];

fn long_name() -> String {
    "a".repeat(300)
}

/// Names with control characters, escapes or 300 characters are refused over MCP, REST and
/// in the config file.
#[tokio::test]
async fn bad_server_names_are_refused_via_mcp_rest_and_config() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    let session = RawSession::open(&server).await;
    let names: Vec<String> = BAD_NAMES
        .iter()
        .map(|s| s.to_string())
        .chain([long_name()])
        .collect();
    for (i, name) in names.iter().enumerate() {
        let answer = session
            .call(
                i as u64 + 1,
                "upstream_servers",
                json!({"operation": "add", "name": name, "command": "true"}),
            )
            .await;
        assert!(is_error(&answer), "MCP add {name:?}: {answer}");
        let text = answer_text(&answer);
        assert!(text.contains("[A-Za-z0-9]"), "the rule is named: {text}");
        assert!(
            !text.contains('\n') && !text.contains('\u{1b}'),
            "the raw name is echoed: {text:?}"
        );

        let mut document = server.config_on_disk();
        document["mcpServers"]
            .as_array_mut()
            .expect("servers")
            .push(json!({"name": name, "command": "true"}));
        let (status, answer) = rest(
            &server,
            reqwest::Method::POST,
            "/api/v1/config/apply",
            Some(document),
        )
        .await;
        assert_eq!(status, 400, "REST apply {name:?}: {answer}");
        assert_eq!(answer["success"], false);
    }
    let (status, answer) = rest(
        &server,
        reqwest::Method::POST,
        &format!("/api/v1/servers/{}/enable", long_name()),
        None,
    )
    .await;
    // No configured server can have such a name: a lookup answers 404, the name escaped.
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["success"], false);
    let (status, answer) = rest(
        &server,
        reqwest::Method::POST,
        "/api/v1/servers/%1B%5B31mred/quarantine",
        None,
    )
    .await;
    assert!((400..500).contains(&status), "{status} {answer}");
    assert!(
        !answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains('\u{1b}'),
        "the escape is echoed raw: {answer}"
    );
    // The CLI refuses them before asking the daemon, and prints them escaped.
    let data = server.dir.path().join("data").display().to_string();
    for name in &names {
        for command in [
            &["upstream", "enable"][..],
            &["upstream", "inspect", "--yes"][..],
        ] {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"))
                .args(["--data-dir", data.as_str()])
                .args(command)
                .args(["--", name.as_str()])
                .env_remove("MCPPROXY_API_KEY")
                .stdin(std::process::Stdio::null())
                .output()
                .await
                .expect("cli");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command:?} {name:?}: {stderr}");
            assert!(stderr.contains("[A-Za-z0-9]"), "{stderr}");
            assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
        }
    }
    assert_eq!(
        server.config_on_disk()["mcpServers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    server.stop().await;

    for name in names {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = config_with(json!([{"name": name, "command": "true", "enabled": true}]));
        config["listen"] = json!(crate::common::LISTEN);
        std::fs::write(
            dir.path().join("mcp_config.json"),
            serde_json::to_vec(&config).expect("json"),
        )
        .expect("write");
        let (code, stderr) = run_to_exit(dir.path(), &[]).await;
        assert_eq!(
            code,
            Some(4),
            "config with {name:?} must not load: {stderr}"
        );
        assert!(stderr.contains("[A-Za-z0-9]"), "{stderr}");
    }
}

/// A person's inspection: the plan says what would run without running it; POST runs it
/// once and lists the tools; the server stays quarantined and unconnected. The CLI refuses
/// without a terminal unless `--yes`.
#[tokio::test]
async fn person_inspection_plans_then_runs_once() {
    let mut fx = fixture_server("fx");
    fx["quarantined"] = json!(true);
    let server = TestServer::start(config_with(json!([fx]))).await;
    let client = server.client();
    let plan = client
        .server_inspect_plan("fx")
        .await
        .expect("plan")
        .into_inner()
        .data;
    assert_eq!(
        plan.runs,
        [fixture_bin().display().to_string(), "stdio".into()]
    );
    assert_eq!(plan.transport, "stdio");
    assert!(plan.quarantined && !plan.docker_isolation && plan.docker_image.is_none());
    assert!(plan.last_known_tools.is_empty() && plan.last_known_tools_source.is_none());

    // The CLI without a terminal and without --yes refuses, and runs nothing.
    let data = server.dir.path().join("data").display().to_string();
    let cli = |yes: bool| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"));
        cmd.args(["--data-dir", &data, "upstream", "inspect", "fx"])
            .env_remove("MCPPROXY_API_KEY")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if yes {
            cmd.arg("--yes");
        }
        cmd
    };
    let refused = cli(false).output().await.expect("cli");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--yes") && stderr.contains("runs"),
        "{stderr}"
    );
    let still = client
        .server_inspect_plan("fx")
        .await
        .expect("plan")
        .into_inner()
        .data;
    assert!(still.last_known_tools_source.is_none(), "{still:?}");

    let inspection = client
        .server_inspect("fx", &mcpproxy_client::types::ReviewRequest::default())
        .await
        .expect("inspect")
        .into_inner()
        .data;
    assert!(inspection.tools.len() >= 10, "{inspection:?}");
    assert!(inspection.tools.iter().any(|t| t.name == "echo"));
    assert_eq!(inspection.plan.runs, plan.runs);
    let view = server_view(&server, "fx").await;
    assert!(view.quarantined && view.status != "ready", "{view:?}");
    let after = client
        .server_inspect_plan("fx")
        .await
        .expect("plan")
        .into_inner()
        .data;
    assert_eq!(after.last_known_tools_source.as_deref(), Some("inspection"));

    let ran = cli(true).output().await.expect("cli");
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert_eq!(
        ran.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(
        stdout.contains("echo") && stdout.contains("Nothing was approved"),
        "{stdout}"
    );

    let (status, answer) = rest(
        &server,
        reqwest::Method::GET,
        "/api/v1/servers/ghost/inspect",
        None,
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    server.stop().await;
}

/// With Docker isolation on, the plan says so (image, the docker client's command line) and
/// runs nothing; the person's inspection goes through `docker run`.
#[tokio::test]
async fn person_inspection_runs_under_docker_isolation_when_enabled() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let (bin, record) = stand_in_docker(dir.path());
    let mut fx = fixture_server("fx");
    fx["quarantined"] = json!(true);
    let mut config = config_with(json!([fx]));
    config["docker_isolation"] = json!({"enabled": true});
    std::fs::write(dir.path().join("mcp_config.json"), config.to_string()).expect("config");
    let bin_text = bin.display().to_string();
    let server =
        TestServer::start_in(dir.clone(), &[("MCPPROXY_DOCKER_BIN", bin_text.as_str())]).await;
    let client = server.client();
    let plan = client
        .server_inspect_plan("fx")
        .await
        .expect("plan")
        .into_inner()
        .data;
    assert!(plan.docker_isolation, "{plan:?}");
    assert_eq!(plan.docker_image.as_deref(), Some("alpine:3.18"));
    assert_eq!(plan.runs[..2], [bin_text.clone(), "run".to_string()]);
    assert!(
        plan.runs
            .ends_with(&[fixture_bin().display().to_string(), "stdio".into()])
    );
    let ran_docker = || {
        docker_calls(&record)
            .iter()
            .any(|c| c.first().map(String::as_str) == Some("run"))
    };
    assert!(!ran_docker(), "the plan ran docker");

    let inspection = client
        .server_inspect("fx", &mcpproxy_client::types::ReviewRequest::default())
        .await
        .expect("inspect")
        .into_inner()
        .data;
    assert!(inspection.tools.len() >= 10, "{inspection:?}");
    assert!(ran_docker(), "the inspection did not go through docker run");
    server.stop().await;
}
