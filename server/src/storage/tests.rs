//! The storage module's tests: history paging and retention, the journal and its replay,
//! sessions, approvals, and what happens to a locked, garbage or crashed file.

use std::io::BufRead;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

use redb::{ReadableDatabase, ReadableTable};

use super::tables::CALLS;
use super::*;

fn at(secs_ago: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::seconds(secs_ago)
}

fn call(i: usize, server: &str, session: Option<&str>, timestamp: DateTime<Utc>) -> ToolCallRecord {
    ToolCallRecord {
        id: format!("call-{i}"),
        server: server.to_string(),
        tool: "echo".to_string(),
        arguments: json!({"i": i, "text": "hello"}),
        response: Some(json!({"content": [{"type": "text", "text": format!("Echo: {i}")}]})),
        error: None,
        is_error: false,
        duration_ms: 1.5,
        timestamp,
        session_id: session.map(str::to_string),
        client_name: Some("claude".into()),
        client_version: Some("1.0".into()),
        replayed_from: None,
        token_name: None,
        tokens: None,
    }
}

fn unlimited() -> Retention {
    Retention {
        max_calls: 0,
        max_age: Duration::ZERO,
        max_sessions: 0,
    }
}

fn open_in(dir: &tempfile::TempDir, retention: Retention) -> Storage {
    Storage::open(&dir.path().join(DB_FILE_NAME), retention).expect("open")
}

fn ids(page: &CallPage) -> Vec<String> {
    page.calls.iter().map(|c| c.id.clone()).collect()
}

#[tokio::test]
async fn call_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, Retention::default());
    let mut rec = call(1, "github", Some("s1"), at(5));
    rec.error = Some("boom".into());
    rec.is_error = true;
    rec.replayed_from = Some("call-0".into());
    storage.record_call(rec.clone());
    storage.flush().await;
    let got = storage.get_call("call-1").expect("get").expect("present");
    // Timestamps round-trip at nanosecond precision through RFC 3339.
    assert_eq!(got, rec);
    assert!(storage.get_call("nope").expect("get").is_none());
    assert_eq!(storage.writer_stats().committed, 1);
}

#[tokio::test]
async fn same_id_replaces_the_earlier_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, Retention::default());
    storage.record_call(call(1, "a", Some("s"), at(10)));
    let mut again = call(1, "b", None, at(1));
    again.tool = "other".into();
    storage.record_call(again.clone());
    storage.flush().await;
    assert_eq!(storage.get_call("call-1").expect("get"), Some(again));
    let all = storage.list_calls(&CallQuery::default()).expect("list");
    assert_eq!(all.total, 1);
    let by_a = storage
        .list_calls(&CallQuery {
            server: Some("a".into()),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(by_a.total, 0);
    let by_s = storage
        .list_calls(&CallQuery {
            session_id: Some("s".into()),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(by_s.total, 0);
}

#[tokio::test]
async fn paging_is_newest_first_with_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, Retention::default());
    // Recorded out of time order: ordering is by timestamp, not arrival.
    for i in (0..30).rev() {
        let server = if i % 2 == 0 { "even" } else { "odd" };
        let session = if i % 3 == 0 { Some("s3") } else { None };
        storage.record_call(call(i, server, session, at(1000 - i as i64)));
    }
    storage.flush().await;

    let page = storage
        .list_calls(&CallQuery {
            limit: Some(5),
            offset: 0,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(page.total, 30);
    assert_eq!(
        ids(&page),
        ["call-29", "call-28", "call-27", "call-26", "call-25"]
    );
    let page = storage
        .list_calls(&CallQuery {
            limit: Some(5),
            offset: 27,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(ids(&page), ["call-2", "call-1", "call-0"]);
    let page = storage
        .list_calls(&CallQuery {
            offset: 40,
            ..Default::default()
        })
        .expect("list");
    assert!(page.calls.is_empty());
    assert_eq!(page.total, 30);

    // Default and maximum limits.
    assert_eq!(
        storage
            .list_calls(&CallQuery::default())
            .expect("list")
            .limit,
        DEFAULT_LIMIT
    );
    let page = storage
        .list_calls(&CallQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(page.limit, MAX_LIMIT);
    assert_eq!(page.calls.len(), 30);

    let q = CallQuery {
        session_id: Some("s3".into()),
        limit: Some(3),
        offset: 1,
        ..Default::default()
    };
    let page = storage.list_calls(&q).expect("list");
    assert_eq!(page.total, 10);
    assert_eq!(ids(&page), ["call-24", "call-21", "call-18"]);

    let q = CallQuery {
        server: Some("odd".into()),
        limit: Some(2),
        ..Default::default()
    };
    let page = storage.list_calls(&q).expect("list");
    assert_eq!(page.total, 15);
    assert_eq!(ids(&page), ["call-29", "call-27"]);

    let q = CallQuery {
        server: Some("even".into()),
        session_id: Some("s3".into()),
        ..Default::default()
    };
    let page = storage.list_calls(&q).expect("list");
    assert_eq!(page.total, 5);
    assert_eq!(
        ids(&page),
        ["call-24", "call-18", "call-12", "call-6", "call-0"]
    );

    let q = CallQuery {
        session_id: Some("nobody".into()),
        ..Default::default()
    };
    assert_eq!(storage.list_calls(&q).expect("list").total, 0);
}

/// A store in `dir` keeping the newest 10 calls.
fn open_keeping_ten(dir: &tempfile::TempDir) -> Storage {
    let retention = Retention {
        max_calls: 10,
        ..Retention::default()
    };
    open_in(dir, retention)
}

/// How many calls the session index lists for `sess` and the server index for `s`.
fn indexed(storage: &Storage) -> (usize, usize) {
    let total = |q: CallQuery| storage.list_calls(&q).expect("list").total;
    let by_session = total(CallQuery {
        session_id: Some("sess".into()),
        ..Default::default()
    });
    let by_server = total(CallQuery {
        server: Some("s".into()),
        ..Default::default()
    });
    (by_session, by_server)
}

#[tokio::test]
async fn retention_by_count_keeps_the_newest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_keeping_ten(&dir);
    for i in 0..25 {
        storage.record_call(call(i, "s", Some("sess"), at(100 - i as i64)));
        if i % 7 == 0 {
            storage.flush().await; // several batches
        }
    }
    storage.flush().await;
    let page = storage.list_calls(&CallQuery::default()).expect("list");
    assert_eq!(page.total, 10);
    assert_eq!(page.calls.first().map(|c| c.id.as_str()), Some("call-24"));
    assert_eq!(page.calls.last().map(|c| c.id.as_str()), Some("call-15"));
    assert!(storage.get_call("call-14").expect("get").is_none());
    // Index rows went with the records.
    assert_eq!(indexed(&storage), (10, 10));
    // The session still counts every call it made.
    let session = storage.get_session("sess").expect("get").expect("present");
    assert_eq!(session.tool_call_count, 25);
}

/// One batch larger than the limit: the calls it pushes out include some of its own, and
/// every index row and id of a pushed-out call goes with it.
#[tokio::test]
async fn retention_by_count_within_one_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_keeping_ten(&dir);
    for i in 0..30 {
        storage.record_call(call(i, "s", Some("sess"), at(1000 - i as i64)));
    }
    storage.flush().await;
    let page = storage.list_calls(&CallQuery::default()).expect("list");
    assert_eq!(page.total, 10);
    let kept: Vec<String> = (20..30).rev().map(|i| format!("call-{i}")).collect();
    assert_eq!(ids(&page), kept);
    for i in 0..20 {
        assert!(
            storage
                .get_call(&format!("call-{i}"))
                .expect("get")
                .is_none(),
            "{i}"
        );
    }
    assert_eq!(indexed(&storage), (10, 10));
}

#[tokio::test]
async fn retention_by_age_drops_old_calls_including_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let day = 24 * 3600;
    {
        let storage = open_in(&dir, unlimited());
        storage.record_call(call(1, "s", None, at(40 * day)));
        storage.record_call(call(2, "s", None, at(10 * day)));
        storage.record_call(call(3, "s", None, at(60)));
        storage.flush().await;
        assert_eq!(
            storage
                .list_calls(&CallQuery::default())
                .expect("list")
                .total,
            3
        );
    }
    let storage = open_in(&dir, Retention::default());
    // The writer prunes at start-up; a new call makes sure that commit happened.
    storage.record_call(call(4, "s", None, at(0)));
    storage.flush().await;
    let page = storage.list_calls(&CallQuery::default()).expect("list");
    assert_eq!(ids(&page), ["call-4", "call-3", "call-2"]);
    // A record that arrives already too old is dropped in the same commit.
    storage.record_call(call(5, "s", None, at(31 * day)));
    storage.flush().await;
    assert!(storage.get_call("call-5").expect("get").is_none());
    let short = Retention {
        max_age: Duration::from_secs(5 * day as u64),
        ..Retention::default()
    };
    drop(storage);
    let storage = open_in(&dir, short);
    storage.record_call(call(6, "s", None, at(0)));
    storage.flush().await;
    let page = storage.list_calls(&CallQuery::default()).expect("list");
    assert_eq!(ids(&page), ["call-6", "call-4", "call-3"]);
}

#[tokio::test]
async fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let session = SessionRecord {
        client_name: Some("cursor".into()),
        ..SessionRecord::active("s1".into(), at(100))
    };
    let approval = approval("github", "create_issue");
    {
        let storage = open_in(&dir, Retention::default());
        storage.upsert_session(&session).expect("session");
        storage.put_tool_approval(&approval).expect("approval");
        for i in 0..100 {
            storage.record_call(call(i, "github", Some("s1"), at(50)));
        }
        // No flush: dropping the handle drains the queue.
    }
    let storage = open_in(&dir, Retention::default());
    assert_eq!(
        storage
            .list_calls(&CallQuery::default())
            .expect("list")
            .total,
        100
    );
    let s = storage.get_session("s1").expect("get").expect("present");
    assert_eq!(s.tool_call_count, 100);
    assert_eq!(s.client_name.as_deref(), Some("cursor"));
    assert_eq!(
        storage.tool_approvals("github").expect("approvals"),
        vec![approval]
    );
}

#[test]
fn second_open_of_the_same_file_is_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE_NAME);
    let first = Storage::open(&path, Retention::default()).expect("open");
    let err = Storage::open(&path, Retention::default()).expect_err("second open must fail");
    assert!(matches!(err, StorageError::Locked(_)), "{err:?}");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    drop(first);
    Storage::open(&path, Retention::default()).expect("open after close");
}

#[test]
fn garbage_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE_NAME);
    std::fs::write(
        &path,
        b"this is not a database, it is a text file\n".repeat(200),
    )
    .expect("write");
    let err = Storage::open(&path, Retention::default()).expect_err("must fail");
    assert!(matches!(err, StorageError::Corrupted { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("corrupted or not an mcpproxy database"),
        "{err}"
    );
}

#[tokio::test]
async fn scribbled_file_never_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE_NAME);
    {
        let storage = Storage::open(&path, unlimited()).expect("open");
        for i in 0..2000 {
            storage.record_call(call(i, "s", Some("x"), at(10)));
        }
        storage.flush().await;
    }
    let mut bytes = std::fs::read(&path).expect("read");
    let len = bytes.len();
    for (n, b) in bytes[len / 3..len * 2 / 3].iter_mut().enumerate() {
        *b = (n as u8).wrapping_mul(31) ^ 0xA5;
    }
    std::fs::write(&path, &bytes).expect("write");
    // Either outcome is fine; a panic is not (the test would fail).
    match Storage::open(&path, unlimited()) {
        Ok(storage) => {
            let _ = storage.list_calls(&CallQuery {
                limit: Some(100),
                ..Default::default()
            });
            let _ = storage.get_call("call-1000");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

#[tokio::test]
async fn oversized_response_is_stored_truncated_with_marker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, Retention::default());
    let mut rec = call(1, "s", None, at(1));
    rec.response = Some(json!({"text": "x".repeat(200_000)}));
    storage.record_call(rec);
    storage.flush().await;
    let got = storage.get_call("call-1").expect("get").expect("present");
    let response = got.response.expect("response");
    assert_eq!(response["truncated"], true);
    assert!(response["original_bytes"].as_u64().expect("n") > 200_000);
    assert_eq!(got.arguments, json!({"i": 1, "text": "hello"}));
}

#[tokio::test]
async fn sessions_upsert_list_and_prune() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(
        &dir,
        Retention {
            max_sessions: 3,
            ..Retention::default()
        },
    );
    for i in 0..5 {
        let s = SessionRecord::active(format!("s{i}"), at(100 - i));
        storage.upsert_session(&s).expect("upsert");
    }
    let (page, total) = storage.list_sessions(10, 0).expect("list");
    assert_eq!(total, 3);
    let names: Vec<_> = page.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(names, ["s4", "s3", "s2"]);
    let (page, _) = storage.list_sessions(1, 1).expect("list");
    assert_eq!(page[0].id, "s3");

    // Calls bump the count; closing with a stale count does not lower it.
    for i in 0..4 {
        storage.record_call(call(i, "srv", Some("s4"), at(1)));
    }
    storage.flush().await;
    let mut s4 = storage.get_session("s4").expect("get").expect("present");
    assert_eq!(s4.tool_call_count, 4);
    s4.tool_call_count = 1;
    s4.status = session_status::CLOSED.into();
    s4.end_time = Some(at(0));
    storage.upsert_session(&s4).expect("close");
    let s4 = storage.get_session("s4").expect("get").expect("present");
    assert_eq!((s4.status.as_str(), s4.tool_call_count), ("closed", 4));

    // A call naming an unknown session creates it.
    storage.record_call(call(9, "srv", Some("fresh"), at(0)));
    storage.flush().await;
    let fresh = storage.get_session("fresh").expect("get").expect("present");
    assert_eq!(
        (fresh.tool_call_count, fresh.client_name.as_deref()),
        (1, Some("claude"))
    );
    assert_eq!(storage.list_sessions(10, 0).expect("list").1, 3);
}

#[tokio::test]
async fn session_tokens_add_up_and_capabilities_stay_declared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, Retention::default());
    // A record written before these fields existed still reads (as 0 / false).
    let old = r#"{"id":"s","status":"active","start_time":"2026-01-01T00:00:00Z","last_activity":"2026-01-01T00:00:00Z","tool_call_count":2}"#;
    let mut s: SessionRecord = serde_json::from_str(old).expect("old record parses");
    assert_eq!(
        (s.total_tokens, s.has_roots, s.has_sampling),
        (0, false, false)
    );
    s.has_roots = true;
    storage.upsert_session(&s).expect("upsert");
    storage
        .add_session_tokens(&[("s".into(), 40), ("gone".into(), 5)])
        .expect("add");
    storage.add_session_tokens(&[("s".into(), 2)]).expect("add");
    // Closing with a stale copy lowers neither the tokens nor a declared capability.
    s.has_roots = false;
    s.has_sampling = true;
    storage.upsert_session(&s).expect("close");
    let s = storage.get_session("s").expect("get").expect("present");
    assert_eq!(
        (s.total_tokens, s.has_roots, s.has_sampling),
        (42, true, true)
    );
    assert!(storage.get_session("gone").expect("get").is_none());
}

fn approval(server: &str, tool: &str) -> ToolApproval {
    let snap = ToolSnapshot {
        description: format!("{tool} does things"),
        input_schema: json!({"type": "object"}),
        output_schema: None,
    };
    ToolApproval {
        server: server.into(),
        tool: tool.into(),
        approved_hash: "h1".into(),
        current_hash: "h1".into(),
        status: ApprovalStatus::Approved,
        approved_at: at(0),
        approved: snap.clone(),
        current: snap,
    }
}

#[test]
fn approvals_are_per_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, Retention::default());
    // "git" is a prefix of "github": the range scan must not mix them.
    storage
        .put_tool_approval(&approval("github", "b"))
        .expect("put");
    storage
        .put_tool_approval(&approval("github", "a"))
        .expect("put");
    storage
        .put_tool_approval(&approval("git", "c"))
        .expect("put");
    storage
        .put_tool_approval(&approval("gitlab", "d"))
        .expect("put");
    let tools: Vec<_> = storage
        .tool_approvals("github")
        .expect("list")
        .into_iter()
        .map(|a| a.tool)
        .collect();
    assert_eq!(tools, ["a", "b"]);
    let mut changed = approval("github", "a");
    changed.status = ApprovalStatus::Changed;
    changed.current_hash = "h2".into();
    storage.put_tool_approval(&changed).expect("put");
    assert_eq!(storage.tool_approvals("github").expect("list")[0], changed);
    storage.delete_tool_approvals("github").expect("delete");
    assert!(storage.tool_approvals("github").expect("list").is_empty());
    assert_eq!(storage.tool_approvals("git").expect("list").len(), 1);
    assert_eq!(storage.tool_approvals("gitlab").expect("list").len(), 1);
}

#[tokio::test]
async fn record_call_throughput_20k() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, unlimited());
    let n = 20_000;
    let records: Vec<_> = (0..n)
        .map(|i| call(i, "bench", Some("sess"), at(1)))
        .collect();
    let started = Instant::now();
    for rec in records {
        storage.record_call(rec);
    }
    let enqueued = started.elapsed();
    storage.flush().await;
    let durable = started.elapsed();
    let stats = storage.writer_stats();
    println!(
        "record_call: {n} calls enqueued in {enqueued:?} ({:.0}/s); durable after {durable:?} \
         ({:.0} calls/s, {} batches)",
        n as f64 / enqueued.as_secs_f64(),
        n as f64 / durable.as_secs_f64(),
        stats.batches,
    );
    assert_eq!(
        (stats.committed, stats.dropped, stats.failed),
        (n as u64, 0, 0)
    );
    assert_eq!(
        storage
            .list_calls(&CallQuery::default())
            .expect("list")
            .total,
        n
    );
    assert!(storage.get_call("call-12345").expect("get").is_some());
}

/// Set to the DB path to make `crash_child_writer` write until killed.
const CRASH_CHILD_ENV: &str = "MCPPROXY_STORAGE_CRASH_CHILD_DB";

/// The child half of `crash_mid_write_leaves_a_consistent_file`; a no-op otherwise.
#[tokio::test]
async fn crash_child_writer() {
    let Ok(path) = std::env::var(CRASH_CHILD_ENV) else {
        return;
    };
    let storage = Storage::open(Path::new(&path), unlimited()).expect("child open");
    let base = storage
        .list_calls(&CallQuery::default())
        .expect("list")
        .total;
    let mut i = base;
    loop {
        for _ in 0..300 {
            let mut rec = call(i, "crash", Some("c"), Utc::now());
            if i.is_multiple_of(50) {
                // Some multi-page values too.
                rec.response = Some(json!({"blob": "y".repeat(20_000 + i % 7000)}));
            }
            storage.record_call(rec);
            i += 1;
        }
        storage.flush().await;
        println!("flushed {i}");
    }
}

#[test]
fn crash_mid_write_leaves_a_consistent_file() {
    if std::env::var_os(CRASH_CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE_NAME);
    let exe = std::env::current_exe().expect("current exe");
    for round in 0..2 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "storage::tests::crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD_ENV, &path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut durable = 0usize;
        let mut flushes = 0;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("line");
            if let Some(n) = line.strip_prefix("flushed ") {
                durable = n.trim().parse().expect("count");
                flushes += 1;
                if flushes == 8 {
                    break;
                }
            }
        }
        assert_eq!(flushes, 8, "child stopped early");
        // Another process holds the file: opening it here is refused cleanly.
        let err = Storage::open(&path, unlimited()).expect_err("child holds the lock");
        assert!(matches!(err, StorageError::Locked(_)), "{err:?}");
        std::thread::sleep(Duration::from_millis(15));
        child.kill().expect("SIGKILL"); // SIGKILL on Unix
        let status = child.wait().expect("wait");
        assert!(!status.success(), "round {round}: child exited on its own");

        let storage = Storage::open(&path, unlimited()).expect("reopen after kill -9");
        let total = storage
            .list_calls(&CallQuery::default())
            .expect("list")
            .total;
        assert!(
            total >= durable,
            "round {round}: lost flushed records: {total} < {durable}"
        );
        // Every stored record is intact JSON, and every index row points at one.
        let txn = storage.db.begin_read().expect("read");
        let calls = txn.open_table(CALLS).expect("calls");
        let mut seen = 0;
        for entry in calls.iter().expect("iter") {
            let (_, v) = entry.expect("entry");
            let rec: ToolCallRecord = serde_json::from_slice(v.value()).expect("intact record");
            assert_eq!(rec.server, "crash");
            seen += 1;
        }
        assert_eq!(seen, total);
        let by_session = storage
            .list_calls(&CallQuery {
                session_id: Some("c".into()),
                ..Default::default()
            })
            .expect("by session");
        assert_eq!(by_session.total, total);
        let session = storage.get_session("c").expect("session").expect("present");
        assert_eq!(session.tool_call_count as usize, total);
        println!("round {round}: {durable} acknowledged durable, {total} present after kill -9");
    }
}

fn action(i: usize, timestamp: DateTime<Utc>) -> ActivityRecord {
    ActivityRecord {
        id: format!("act-{i}"),
        kind: ActivityKind::ServerChange,
        timestamp,
        action: "enable".into(),
        status: activity_status::SUCCESS.into(),
        actor: Some(Actor::ApiKey),
        server: Some("a".into()),
        tool: None,
        session_id: None,
        agent: None,
        duration_ms: None,
        tokens: None,
        error: None,
        details: None,
    }
}

#[tokio::test]
async fn activity_pages_merge_calls_and_actions_without_duplicates_or_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, unlimited());
    // Calls and actions interleaved, some at the very same instant.
    let same = at(50);
    for i in 0..20 {
        storage.record_call(call(i, "a", None, at(100 - i as i64)));
    }
    storage.record_call(call(99, "a", None, same));
    for i in 0..7 {
        storage
            .record_activity(&action(i, at(95 - 10 * i as i64)))
            .expect("action");
    }
    storage.record_activity(&action(99, same)).expect("action");
    storage.flush().await;

    let mut q = ActivityQuery {
        limit: 3,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = storage.activity_page(&q).expect("page");
        assert!(page.records.len() <= 3);
        seen.extend(page.records.iter().map(|r| (r.timestamp, r.id.clone())));
        pages += 1;
        if pages == 2 {
            // Written while paging: newer than every cursor, so never on a later page.
            storage
                .record_activity(&action(500, Utc::now()))
                .expect("action");
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c.to_string().parse().expect("cursor round-trips")),
            None => break,
        }
    }
    assert_eq!(seen.len(), 21 + 8, "{seen:?}");
    let unique: std::collections::HashSet<_> = seen.iter().map(|(_, id)| id).collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
    assert!(!unique.contains(&"act-500".to_string()));

    // Filters: only actions; only calls.
    let only = |kind| ActivityQuery {
        kind: Some(kind),
        limit: 100,
        ..Default::default()
    };
    let actions = storage
        .activity_page(&only(ActivityKind::ServerChange))
        .expect("page");
    assert_eq!(actions.records.len(), 9);
    let calls = storage
        .activity_page(&only(ActivityKind::ToolCall))
        .expect("page");
    assert_eq!(calls.records.len(), 21);
    assert!("1.2".parse::<ActivityCursor>().is_err());
    assert!("1.7.2".parse::<ActivityCursor>().is_err());
}

#[test]
fn activity_keeps_the_newest_actions_within_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(
        &dir,
        Retention {
            max_calls: 5,
            max_age: Duration::from_secs(3600),
            max_sessions: 0,
        },
    );
    storage.record_activity(&action(0, at(7200))).expect("old");
    for i in 1..=8 {
        storage
            .record_activity(&action(i, at(100 - i as i64)))
            .expect("action");
    }
    let page = storage
        .activity_page(&ActivityQuery {
            kind: Some(ActivityKind::ServerChange),
            limit: 100,
            ..Default::default()
        })
        .expect("page");
    let ids: Vec<&str> = page.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["act-8", "act-7", "act-6", "act-5", "act-4"]);
    assert!(storage.get_activity("act-0").expect("get").is_none());
    assert!(storage.get_activity("act-8").expect("get").is_some());
}

#[test]
fn a_storm_of_actions_shares_commits_and_each_is_listed_when_recorded() {
    const THREADS: usize = 8;
    const EACH: usize = 40;
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = std::sync::Arc::new(open_in(&dir, unlimited()));
    let before = storage.writer_stats().batches;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let storage = storage.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let mut a = action(t * 1000 + i, Utc::now());
                    a.server = Some(format!("s{t}"));
                    storage.record_activity(&a).expect("recorded");
                    // Read-your-writes: committed (and listed) once recorded.
                    assert!(
                        storage.get_activity(&a.id).expect("get").is_some(),
                        "{} listed",
                        a.id
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let batches = storage.writer_stats().batches - before;
    let total = THREADS * EACH;
    println!("{total} actions from {THREADS} threads in {batches} commits");
    assert!(batches >= 1);
    assert!(
        batches < total as u64,
        "actions waiting together share a commit: {batches} commits for {total} actions"
    );
    let page = storage
        .activity_page(&ActivityQuery {
            kind: Some(ActivityKind::ServerChange),
            limit: total + 1,
            ..Default::default()
        })
        .expect("page");
    assert_eq!(page.records.len(), total);
    assert_eq!(storage.writer_stats().failed, 0);
}

#[tokio::test]
async fn async_actions_and_call_token_counts_ride_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, unlimited());
    storage.record_call(call(1, "a", Some("s1"), at(10)));
    storage
        .record_activity_async(&action(1, at(5)))
        .await
        .expect("action");
    assert!(storage.get_activity("act-1").expect("get").is_some());
    storage.record_call_tokens("call-1", 42);
    storage.record_call_tokens("call-unknown", 7);
    storage.flush().await;
    let stored = storage.get_call("call-1").expect("get").expect("kept");
    assert_eq!(stored.tokens, Some(42));
    let activity = storage.get_activity("call-1").expect("get").expect("kept");
    assert_eq!(activity.tokens, Some(42));
    // Still found through the indexes, with the session's count unchanged by the update.
    let by_server = storage
        .list_calls(&CallQuery {
            server: Some("a".into()),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(by_server.total, 1);
    assert_eq!(by_server.calls[0].tokens, Some(42));
    let session = storage
        .get_session("s1")
        .expect("session")
        .expect("present");
    assert_eq!(session.tool_call_count, 1);
    assert_eq!(storage.writer_stats().failed, 0);
}

#[tokio::test]
async fn a_count_that_comes_with_its_call_is_stored_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, unlimited());
    // Within the writer's gathering window: one batch.
    storage.record_call(call(1, "a", Some("s1"), at(10)));
    storage.record_call_tokens("call-1", 42);
    storage.flush().await;
    let stored = storage.get_call("call-1").expect("get").expect("kept");
    assert_eq!(stored.tokens, Some(42));
    assert_eq!(storage.writer_stats().failed, 0);
}

#[tokio::test]
async fn indexed_activity_pages_match_the_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = open_in(&dir, unlimited());
    // Calls of three servers and three sessions (and none), some at the same instant,
    // interleaved with actions naming the same servers and sessions.
    let same = at(400);
    for i in 0..300 {
        let server = ["a", "b", "c"][i % 3];
        let session = [Some("s1"), Some("s2"), None, Some("s3")][i % 4];
        let time = if i.is_multiple_of(17) {
            same
        } else {
            at(1000 - i as i64)
        };
        let mut rec = call(i, server, session, time);
        rec.is_error = i.is_multiple_of(5);
        rec.tool = ["echo", "add"][i % 2].into();
        storage.record_call(rec);
    }
    for i in 0..40 {
        let mut a = action(
            i,
            if i.is_multiple_of(9) {
                same
            } else {
                at(990 - 20 * i as i64)
            },
        );
        a.server = Some(["a", "b", "zz"][i % 3].into());
        if i.is_multiple_of(4) {
            a.actor = Some(Actor::McpSession { id: "s1".into() });
            a.session_id = Some("s1".into());
        }
        storage.record_activity(&a).expect("action");
    }
    storage.flush().await;

    let queries = [
        ActivityQuery {
            server: Some("a".into()),
            ..Default::default()
        },
        ActivityQuery {
            session_id: Some("s1".into()),
            ..Default::default()
        },
        ActivityQuery {
            server: Some("b".into()),
            session_id: Some("s2".into()),
            ..Default::default()
        },
        ActivityQuery {
            server: Some("c".into()),
            kind: Some(ActivityKind::ToolCall),
            status: Some(activity_status::ERROR.into()),
            ..Default::default()
        },
        ActivityQuery {
            server: Some("a".into()),
            tool: Some("add".into()),
            start: Some(at(800)),
            end: Some(at(300)),
            ..Default::default()
        },
        ActivityQuery {
            session_id: Some("s3".into()),
            text: Some("ECHO: 1".into()),
            ..Default::default()
        },
        ActivityQuery {
            server: Some("nobody".into()),
            ..Default::default()
        },
        ActivityQuery {
            server: Some("a".into()),
            kind: Some(ActivityKind::ServerChange),
            ..Default::default()
        },
    ];
    for base in queries {
        for (limit, offset) in [(7, 0), (1000, 0), (5, 3)] {
            let mut q = ActivityQuery {
                limit,
                offset,
                ..base.clone()
            };
            let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
            loop {
                let by_index = storage.activity_page(&q).expect("indexed");
                let by_scan = storage.activity_page_by_scan(&q).expect("scanned");
                assert_eq!(by_index, by_scan, "same page for {q:?}");
                indexed.extend(by_index.records);
                scanned.extend(by_scan.records);
                match by_index.next_cursor {
                    Some(c) => {
                        q.cursor = Some(c);
                        q.offset = 0;
                    }
                    None => break,
                }
            }
            assert_eq!(indexed, scanned);
            if base.server.as_deref() == Some("a") && base.kind.is_none() && base.tool.is_none() {
                // 100 calls and the actions naming server a.
                assert_eq!(indexed.len() + offset, 100 + 14, "{base:?}");
            }
        }
    }
}
