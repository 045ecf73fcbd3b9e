//! The activity log (issue 16 §1): tool calls and audited management actions merged by time,
//! filters, cursor paging with no duplicate or gap, detail, summary, streamed export
//! (jsonl/csv/json) matching the list, the actor of an action (API key over TCP, socket for
//! the CLI's unix socket), `activity` events on `/events`, and 400/404 envelopes.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::common::*;

async fn get(server: &TestServer, path_and_query: &str) -> (u16, Value) {
    let resp = raw()
        .get(format!("{}{path_and_query}", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

async fn export(server: &TestServer, query: &str) -> (String, String) {
    let resp = raw()
        .get(format!("{}/api/v1/activity/export?{query}", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_string();
    (ct, resp.text().await.expect("export body"))
}

/// Every record of the list, page by page with the cursor.
async fn all_pages(server: &TestServer, filter: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = format!("/api/v1/activity?limit={limit}{filter}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = get(server, &q).await;
        assert_eq!(status, 200, "{body}");
        let page = body["data"]["activities"].as_array().expect("activities");
        assert!(page.len() <= limit);
        out.extend(page.iter().cloned());
        pages += 1;
        match body["data"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (out, pages),
        }
    }
}

#[tokio::test]
async fn test_activity_log_filters_pages_exports_and_audits() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let mut events = EventStream::open(&server).await;

    let client = mcp_client(&server).await;
    const CALLS: usize = 13;
    for i in 0..CALLS {
        let r = mcp_call(
            &client,
            "call_tool_read",
            json!({"name": "fx:echo", "args": {"message": format!("hello {i}")}}),
        )
        .await;
        assert_ne!(r.is_error, Some(true), "{}", text_of(&r));
    }

    // An enable over TCP with the key: actor api_key, announced as `activity`.
    let api = server.client();
    api.server_enable("fx").await.expect("enable over tcp");
    let event = events
        .next_matching(|kind, data| kind == "activity" && data["payload"]["action"] == "enable")
        .await;
    assert_eq!(event["payload"]["actor"]["kind"], "api_key", "{event}");
    assert_eq!(event["payload"]["server"], "fx");
    // The same over the owner's socket (as the CLI does): actor socket.
    server
        .socket_client()
        .server_disable("fx")
        .await
        .expect("disable over socket");
    // A failing action is recorded with its error.
    assert!(api.server_enable("nope").await.is_err());

    let (status, body) = get(&server, "/api/v1/activity?type=server_change").await;
    assert_eq!(status, 200, "{body}");
    let actions = body["data"]["activities"].as_array().expect("list");
    assert_eq!(actions.len(), 3, "{body}");
    // Newest first.
    assert_eq!(actions[0]["server"], "nope");
    assert_eq!(actions[0]["status"], "error");
    assert!(actions[0]["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(actions[1]["action"], "disable");
    assert_eq!(actions[1]["actor"], "socket");
    assert_eq!(actions[2]["action"], "enable");
    assert_eq!(actions[2]["actor"], "api_key");
    assert_eq!(actions[2]["status"], "success");

    // Cursor paging over several pages: every record once, newest first, none missing.
    let (all, pages) = all_pages(&server, "", 4).await;
    assert_eq!(all.len(), CALLS + 3, "{all:?}");
    assert!(pages >= 4, "{pages}");
    let ids: HashSet<&str> = all.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), all.len(), "no duplicates");
    let times: Vec<&str> = all.iter().filter_map(|r| r["timestamp"].as_str()).collect();
    let parsed: Vec<chrono::DateTime<chrono::FixedOffset>> = times
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("time"))
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // Filters.
    let (calls, _) = all_pages(&server, "&type=tool_call&server=fx&tool=echo", 5).await;
    assert_eq!(calls.len(), CALLS);
    assert!(
        calls
            .iter()
            .all(|c| c["status"] == "success" && c["type"] == "tool_call")
    );
    let session = calls[0]["session_id"]
        .as_str()
        .expect("session id")
        .to_string();
    let (by_session, _) = all_pages(&server, &format!("&session_id={session}"), 50).await;
    assert_eq!(by_session.len(), CALLS);
    let (found, _) = all_pages(&server, "&q=HELLO%207", 50).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let (errors, _) = all_pages(&server, "&status=error", 50).await;
    assert_eq!(errors.len(), 1);
    let (none, _) = all_pages(&server, "&end_time=2000-01-01T00:00:00Z", 50).await;
    assert!(none.is_empty());
    let (later, _) = all_pages(&server, "&start_time=2000-01-01T00:00:00Z", 50).await;
    assert_eq!(later.len(), all.len());
    let (offset, _) = all_pages(&server, "&offset=10", 50).await;
    assert_eq!(offset.len(), all.len() - 10);

    // Detail of a call and of an action; unknown id → 404 envelope.
    for rec in [&calls[0], &actions[1]] {
        let id = rec["id"].as_str().expect("id");
        let (status, body) = get(&server, &format!("/api/v1/activity/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["activity"]["id"], id);
        assert_eq!(body["data"]["activity"]["type"], rec["type"]);
    }
    let (status, body) = get(&server, "/api/v1/activity/no-such-id").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], false);

    // Bad filter values → 400 envelope.
    for bad in [
        "/api/v1/activity?type=nonsense",
        "/api/v1/activity?status=maybe",
        "/api/v1/activity?start_time=yesterday",
        "/api/v1/activity?cursor=garbage",
        "/api/v1/activity/export?format=xml",
        "/api/v1/activity/summary?window=forever",
    ] {
        let (status, body) = get(&server, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["success"], false, "{bad}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{bad}"
        );
    }

    // An empty parameter (a form's unset filter) is no filter: the same answer as none.
    let (status, unfiltered) = get(&server, "/api/v1/activity?limit=100").await;
    assert_eq!(status, 200, "{unfiltered}");
    for empty in [
        "/api/v1/activity?limit=100&type=&status=&server=&start_time=&end_time=&cursor=&q=",
        "/api/v1/activity/export?format=",
        "/api/v1/activity/summary?window=",
    ] {
        let (status, body) = get(&server, empty).await;
        assert_eq!(status, 200, "{empty}: {body}");
    }
    let (_, same) = get(
        &server,
        "/api/v1/activity?limit=100&type=&status=&server=&start_time=&end_time=&cursor=&q=",
    )
    .await;
    assert_eq!(
        same["data"]["activities"], unfiltered["data"]["activities"],
        "empty filters filter nothing"
    );

    // Summary from the calls made.
    let (status, body) = get(&server, "/api/v1/activity/summary?window=1h").await;
    assert_eq!(status, 200, "{body}");
    let tools = body["data"]["tools"].as_array().expect("tools");
    let echo = tools
        .iter()
        .find(|t| t["server"] == "fx" && t["tool"] == "echo")
        .expect("echo summarised");
    assert_eq!(echo["calls"], CALLS as u64);
    assert_eq!(echo["errors"], 0);
    assert!(echo["p50_ms"].as_f64().is_some_and(|p| p > 0.0));
    assert!(echo["p95_ms"].as_f64() >= echo["p50_ms"].as_f64());
    assert!(echo["bytes_in"].as_u64().is_some_and(|b| b > 0));
    assert!(echo["bytes_out"].as_u64().is_some_and(|b| b > 0));

    // Exports parse and match the list.
    let (ct, jsonl) = export(&server, "format=jsonl").await;
    assert!(ct.starts_with("application/x-ndjson"), "{ct}");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line"))
        .collect();
    let list_ids: Vec<&Value> = all.iter().map(|r| &r["id"]).collect();
    let export_ids: Vec<&Value> = lines.iter().map(|r| &r["id"]).collect();
    assert_eq!(export_ids, list_ids);
    let (_, json_all) = export(&server, "").await;
    let array: Vec<Value> = serde_json::from_str(&json_all).expect("json export");
    assert_eq!(array.len(), all.len());
    let (ct, csv) = export(&server, "format=csv&type=server_change").await;
    assert!(ct.starts_with("text/csv"), "{ct}");
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("id,type,timestamp,action,status,actor"));
    assert_eq!(rows.len(), 1 + actions.len());
    for (row, rec) in rows[1..].iter().zip(actions) {
        assert!(row.starts_with(rec["id"].as_str().expect("id")), "{row}");
        assert!(row.contains(",server_change,"), "{row}");
    }
    server.stop().await;
}

/// A management action an agent makes over MCP (`upstream_servers`) is recorded with its
/// MCP session as the actor; a read (`list`) is not an action.
#[tokio::test]
async fn test_activity_records_management_over_mcp_with_its_session() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    let listed = mcp_call(&client, "upstream_servers", json!({"operation": "list"})).await;
    assert_ne!(listed.is_error, Some(true), "{}", text_of(&listed));
    let disabled = mcp_call(
        &client,
        "upstream_servers",
        json!({"operation": "disable", "name": "fx"}),
    )
    .await;
    assert_ne!(disabled.is_error, Some(true), "{}", text_of(&disabled));
    let refused = mcp_call(
        &client,
        "upstream_servers",
        json!({"operation": "enable", "name": "nope"}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true), "{}", text_of(&refused));

    let (status, body) = get(&server, "/api/v1/activity?type=server_change").await;
    assert_eq!(status, 200, "{body}");
    let actions = body["data"]["activities"].as_array().expect("list");
    assert_eq!(actions.len(), 2, "list is not an action: {body}");
    assert_eq!(actions[0]["action"], "enable");
    assert_eq!(actions[0]["server"], "nope");
    assert_eq!(actions[0]["status"], "error");
    assert_eq!(actions[1]["action"], "disable");
    assert_eq!(actions[1]["server"], "fx");
    assert_eq!(actions[1]["status"], "success");
    for action in actions {
        assert_eq!(action["actor"], "mcp_session", "{action}");
        assert!(
            action["session_id"].as_str().is_some_and(|s| !s.is_empty()),
            "the session is named: {action}"
        );
    }
    let _ = client.cancel().await;
    server.stop().await;
}

/// A proxy with fixture server `fx`, and an MCP client that has called `fx:echo` once.
async fn fixture_after_one_echo(
    message: &str,
) -> (
    TestServer,
    rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>,
) {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    echo_through_call_tool_read(&client, message).await;
    (server, client)
}

/// `fx:echo` of `message` through `call_tool_read`, which must succeed.
async fn echo_through_call_tool_read(
    client: &rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>,
    message: &str,
) {
    let r = mcp_call(
        client,
        "call_tool_read",
        json!({"name": "fx:echo", "args": {"message": message}}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text_of(&r));
}

async fn run_cli(server: &TestServer, args: &[&str]) -> (i32, String, String) {
    let data = server.dir.path().join("data").display().to_string();
    let mut all = vec!["--data-dir", data.as_str()];
    all.extend_from_slice(args);
    crate::cli::cli(&all, None).await
}

#[tokio::test]
async fn test_cli_activity_list_show_summary_export_and_socket_actor() {
    let (server, _client) = fixture_after_one_echo("from cli test").await;

    // The CLI talks over the owner's socket: its disable is recorded with actor socket.
    let (code, out, err) = run_cli(&server, &["upstream", "disable", "fx"]).await;
    assert_eq!(code, 0, "{out} {err}");
    let (code, out, err) = run_cli(
        &server,
        &["-o", "json", "activity", "list", "--type", "server_change"],
    )
    .await;
    assert_eq!(code, 0, "{out} {err}");
    let list: Value = serde_json::from_str(&out).expect("json");
    let acts = list["data"]["activities"].as_array().expect("activities");
    assert_eq!(acts.len(), 1, "{list}");
    assert_eq!(acts[0]["action"], "disable");
    assert_eq!(acts[0]["actor"], "socket");
    let id = acts[0]["id"].as_str().expect("id");

    let (code, out, err) = run_cli(&server, &["-o", "json", "activity", "show", id]).await;
    assert_eq!(code, 0, "{out} {err}");
    let shown: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(shown["data"]["activity"]["id"], id);

    let (code, out, err) = run_cli(&server, &["-o", "json", "activity", "summary"]).await;
    assert_eq!(code, 0, "{out} {err}");
    let summary: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(summary["data"]["tools"][0]["tool"], "echo", "{summary}");
    assert_eq!(summary["data"]["tools"][0]["calls"], 1);

    let (code, out, err) = run_cli(&server, &["activity", "export", "--format", "jsonl"]).await;
    assert_eq!(code, 0, "{out} {err}");
    let kinds: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("jsonl")["type"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["server_change", "tool_call"]);

    let (code, _, err) = run_cli(&server, &["activity", "show", "no-such-id"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("404"), "{err}");
    server.stop().await;
}

/// The ids of the recorded calls of `fx`, newest first.
async fn fx_call_ids(server: &TestServer) -> Vec<String> {
    let (status, body) = get(server, "/api/v1/activity?type=tool_call&server=fx").await;
    assert_eq!(status, 200, "{body}");
    body["data"]["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_string())
        .collect()
}

/// A recorded call's `tokens`, as the REST API shows it.
async fn tokens_of(server: &TestServer, id: &str) -> Option<u64> {
    let (status, body) = get(server, &format!("/api/v1/activity/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["activity"]["tokens"].as_u64()
}

#[tokio::test]
async fn test_a_proxied_calls_record_gets_the_tokens_of_its_answer() {
    let (server, client) = fixture_after_one_echo("count my tokens").await;
    let small = fx_call_ids(&server).await[0].clone();
    // A small answer is counted before its record is written: the record is whole at once.
    let tokens = tokens_of(&server, &small)
        .await
        .expect("the tokens are recorded");
    assert!(tokens > 0, "{tokens}");
    let (_, csv) = export(&server, "format=csv&type=tool_call").await;
    assert!(
        csv.lines()
            .any(|row| row.starts_with(&small) && row.contains(&format!(",{tokens},"))),
        "{csv}"
    );

    // A large one is counted on the meter's thread, and the count reaches the stored record.
    let long = "count my many tokens ".repeat(100);
    echo_through_call_tool_read(&client, &long).await;
    let large = fx_call_ids(&server).await[0].clone();
    assert_ne!(large, small);
    let large_tokens = poll(
        std::time::Duration::from_secs(30),
        "the large call record's tokens",
        || tokens_of(&server, &large),
    )
    .await;
    assert!(large_tokens > 10 * tokens, "{large_tokens} vs {tokens}");
    let _ = client.cancel().await;
    server.stop().await;
}
