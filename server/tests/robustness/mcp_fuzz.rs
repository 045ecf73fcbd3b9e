//! The `/mcp` request path under malformed input: broken and non-JSON-RPC bodies, invalid
//! UTF-8, huge ids and strings, deep nesting, and wrong types for every argument of every
//! built-in tool. Each must get a prompt JSON-RPC error, a tool error or an HTTP 4xx —
//! never a panic, a hang or a dead server: after every abuse a valid request still works.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::proc::*;

/// How long any single answer may take.
const PROMPT: Duration = Duration::from_secs(10);

/// The answer is an HTTP 4xx, a JSON-RPC error, or a result (tool errors included).
fn assert_clean(what: &str, reply: &Reply) {
    assert!(
        reply.status < 500,
        "{what}: HTTP {} {}",
        reply.status,
        &reply.text[..reply.text.len().min(300)]
    );
    if reply.status == 200 || reply.status == 202 {
        for m in &reply.messages {
            assert!(
                m.get("result").is_some() || m.get("error").is_some() || m.get("method").is_some(),
                "{what}: odd message {m}"
            );
        }
    }
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn test_mcp_fuzz_malformed_bodies_get_prompt_errors() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let session = RawSession::open(&server).await;
    let deep = nested_arrays(100_000);
    let giant_id = "9".repeat(5000);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("not json", b"{not json".to_vec()),
        ("truncated", br#"{"jsonrpc":"2.0","id":1,"method":"tools/li"#.to_vec()),
        ("null", b"null".to_vec()),
        ("number", b"42".to_vec()),
        ("string", b"\"tools/list\"".to_vec()),
        ("empty batch", b"[]".to_vec()),
        ("batch of junk", b"[1,2,3]".to_vec()),
        (
            "batch",
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#.to_vec(),
        ),
        ("no jsonrpc", br#"{"id":1,"method":"tools/list"}"#.to_vec()),
        ("jsonrpc 1.0", br#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#.to_vec()),
        ("no method", br#"{"jsonrpc":"2.0","id":1}"#.to_vec()),
        ("method number", br#"{"jsonrpc":"2.0","id":1,"method":7}"#.to_vec()),
        ("unknown method", br#"{"jsonrpc":"2.0","id":1,"method":"no/such"}"#.to_vec()),
        ("params array", br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}"#.to_vec()),
        ("params string", br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"}"#.to_vec()),
        ("id object", br#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#.to_vec()),
        ("id float", br#"{"jsonrpc":"2.0","id":1.5e300,"method":"tools/list"}"#.to_vec()),
        ("id negative", br#"{"jsonrpc":"2.0","id":-9223372036854775809,"method":"tools/list"}"#.to_vec()),
        (
            "id huge integer",
            format!(r#"{{"jsonrpc":"2.0","id":{giant_id},"method":"tools/list"}}"#).into_bytes(),
        ),
        (
            "id huge string",
            format!(r#"{{"jsonrpc":"2.0","id":"{giant_id}","method":"tools/list"}}"#).into_bytes(),
        ),
        ("invalid utf-8 in method", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/l\xffist\"}".to_vec()),
        (
            "invalid utf-8 in argument",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"retrieve_tools\",\"arguments\":{\"query\":\"\xc3\x28\xa0\xa1\"}}}".to_vec(),
        ),
        ("lone surrogate", br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"retrieve_tools","arguments":{"query":"\ud800"}}}"#.to_vec()),
        ("nul bytes", b"\0\0\0\0".to_vec()),
        ("deep nesting body", deep.clone().into_bytes()),
        (
            "deep nesting in params",
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"call_tool","arguments":{{"name":"fx:echo","args":{{"message":{deep}}}}}}}}}"#).into_bytes(),
        ),
        ("response from client with unknown id", br#"{"jsonrpc":"2.0","id":987654,"result":{}}"#.to_vec()),
        ("error from client", br#"{"jsonrpc":"2.0","id":987655,"error":{"code":1,"message":"x"}}"#.to_vec()),
        ("notification junk", br#"{"jsonrpc":"2.0","method":"notifications/whatever","params":{"x":[[[[1]]]]}}"#.to_vec()),
        ("cancel unknown request", br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nope"}}"#.to_vec()),
    ];
    for (i, (what, body)) in bodies.into_iter().enumerate() {
        let reply = session
            .try_post_bytes(body, PROMPT)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_clean(what, &reply);
        session.assert_alive(10_000 + i as u64).await;
    }
    // Over the 4 MiB body limit: 413, or the connection closed while the client still
    // writes (the server stops reading at the limit: the client sees the connection end
    // early, reset, or its next write fail with a broken pipe, whichever the timing gives);
    // either way the server lives on.
    let over = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","pad":"{}"}}"#,
        "x".repeat(5 << 20)
    );
    match session.try_post_bytes(over.into_bytes(), PROMPT).await {
        Ok(reply) => assert_eq!(reply.status, 413, "{}", reply.text),
        Err(e) => assert!(
            e.contains("IncompleteMessage") || e.contains("reset") || e.contains("BrokenPipe"),
            "{e}"
        ),
    }
    session.assert_alive(9_999).await;
    // A huge id comes back verbatim.
    let reply = session
        .post(
            &json!({"jsonrpc": "2.0", "id": giant_id, "method": "ping"}),
            PROMPT,
        )
        .await;
    assert!(reply.answer(&json!(giant_id)).is_some(), "{reply:?}");
    // A giant (but allowed) string argument goes through to the upstream and back.
    let big = "é".repeat(1_500_000);
    let answer = session
        .call(
            1,
            "call_tool",
            json!({"name": "fx:echo", "args": {"message": big}}),
        )
        .await;
    assert!(answer.get("result").is_some(), "{answer}");
    session.assert_alive(2).await;
    server.stop().await;
}

/// Values of every JSON type, plus extremes.
fn wrong_values() -> Vec<Value> {
    let deep: Value = serde_json::from_str(&nested_arrays(120)).expect("120 deep parses");
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.0e308),
        json!(-1.5),
        json!(""),
        json!("x".repeat(100_000)),
        json!("../../../etc/passwd"),
        json!("\u{0}\u{202e}\u{fffd}"),
        json!([]),
        json!([1, "a", null]),
        json!({}),
        json!({"nested": {"a": [1, 2, {"b": null}]}}),
        deep,
    ]
}

/// Arguments that are valid apart from the one under test.
fn baseline(tool: &str) -> Value {
    match tool {
        "retrieve_tools" => json!({"query": "echo"}),
        "call_tool" | "call_tool_read" | "call_tool_write" | "call_tool_destructive" => {
            json!({"name": "fx:echo", "args": {"message": "x"}})
        }
        "describe_tool" => json!({"names": ["fx:echo"]}),
        "read_cache" => json!({"key": "nope"}),
        // Only read-only operations: the fuzz must not remove or reconfigure servers.
        "upstream_servers" => json!({"operation": "list"}),
        "quarantine_security" => json!({"operation": "list_quarantined"}),
        _ => json!({}),
    }
}

#[tokio::test]
async fn test_mcp_fuzz_wrong_types_for_every_builtin_argument() {
    let mut config = config_with(json!([fixture_server("fx")]));
    config["tool_response_limit"] = json!(2000);
    let server = TestServer::start(config).await;
    wait_ready(&server, "fx").await;
    let session = RawSession::open(&server).await;
    let listed = session
        .post(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            PROMPT,
        )
        .await;
    let tools = listed.answer(&json!(1)).expect("tools/list")["result"]["tools"]
        .as_array()
        .expect("tools")
        .clone();
    assert!(tools.len() >= 9, "{tools:?}");
    // A real cache key, so read_cache's offset/limit are fuzzed against real data.
    let cut = answer_text(
        &session
            .call(
                2,
                "call_tool_read",
                json!({"name": "fx:big", "args": {"records": 200}}),
            )
            .await,
    );
    let key = cut
        .split("key=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("cache key")
        .to_string();
    let mut id = 100;
    let mut checked = 0;
    for tool in &tools {
        let name = tool["name"].as_str().expect("name");
        let mut base = baseline(name);
        if name == "read_cache" {
            base["key"] = json!(key);
        }
        let props: Vec<String> = tool["inputSchema"]["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        // upstream_servers' other fields only matter to mutating operations.
        let props: Vec<String> = if name == "upstream_servers" {
            vec!["operation".into(), "lines".into()]
        } else {
            props
        };
        for prop in props
            .iter()
            .chain(std::iter::once(&"unexpected".to_string()))
        {
            for value in wrong_values() {
                if name == "upstream_servers" && prop == "operation" && value.is_string() {
                    continue; // a string operation is a real operation name, not a wrong type
                }
                let mut args = base.clone();
                args[prop.as_str()] = value;
                id += 1;
                let reply = session
                    .post(
                        &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                            "params": {"name": name, "arguments": args}}),
                        PROMPT,
                    )
                    .await;
                assert_clean(&format!("{name}.{prop}"), &reply);
                let answer = reply
                    .answer(&json!(id))
                    .unwrap_or_else(|| panic!("{name}.{prop}: no answer: {reply:?}"));
                assert!(
                    answer.get("result").is_some() || answer.get("error").is_some(),
                    "{name}.{prop}: {answer}"
                );
                checked += 1;
            }
        }
        // Arguments that are not an object at all.
        for value in [json!([1]), json!("x"), json!(7)] {
            id += 1;
            let reply = session
                .post(
                    &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": name, "arguments": value}}),
                    PROMPT,
                )
                .await;
            assert_clean(&format!("{name} with arguments {value}"), &reply);
        }
        session.assert_alive(id + 1_000_000).await;
    }
    assert!(checked > 300, "only {checked} cases");
    // Seeded random argument objects for random built-in tools.
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for _ in 0..300 {
        let tool = tools[rng.below(tools.len())]["name"]
            .as_str()
            .expect("name")
            .to_string();
        if tool == "upstream_servers" || tool == "quarantine_security" {
            continue; // random operations could remove the server under test
        }
        let args = rng.object(3);
        id += 1;
        let reply = session
            .post(
                &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": tool, "arguments": args}}),
                PROMPT,
            )
            .await;
        assert_clean(&format!("{tool} random {args}"), &reply);
    }
    session.assert_alive(id + 1).await;
    server.stop().await;
}

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn string(&mut self) -> String {
        const PICKS: [&str; 10] = [
            "fx:echo", "fx:", ":echo", "", "echo", "fx:hang", "\u{0}", "ü:ß", "a:b:c", "%s%n",
        ];
        if self.below(3) == 0 {
            (0..self.below(40))
                .map(|_| char::from_u32(self.below(0x3000) as u32).unwrap_or('?'))
                .collect()
        } else {
            PICKS[self.below(PICKS.len())].to_string()
        }
    }

    fn value(&mut self, depth: usize) -> Value {
        match self.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!(f64::from_bits(self.next() & 0x7fef_ffff_ffff_ffff)),
            4 => json!(self.string()),
            5 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
            _ => self.object(depth - 1),
        }
    }

    fn object(&mut self, depth: usize) -> Value {
        const KEYS: [&str; 12] = [
            "name",
            "args",
            "args_json",
            "query",
            "limit",
            "names",
            "key",
            "offset",
            "operation",
            "lines",
            "message",
            "x",
        ];
        let mut map = serde_json::Map::new();
        for _ in 0..self.below(5) {
            let key = KEYS[self.below(KEYS.len())].to_string();
            map.insert(key, self.value(depth));
        }
        Value::Object(map)
    }
}
