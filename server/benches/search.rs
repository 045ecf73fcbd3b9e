//! Search-index benchmark (`harness = false`): builds `ToolIndex`es of 1,000
//! and 10,000 synthetic tools, times index build, replacing one server with
//! 100 tools (median of several runs) and thousands of queries, and prints one
//! JSON line per size: `{"bench":"search","tools":N,"p50_us":..,"p99_us":..,
//! "mean_us":..,"build_ms":..,"replace_100_median_ms":..}`.
//!
//! Run with `cargo bench -p mcpproxy --bench search`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mcpproxy::index::{ToolDoc, ToolIndex};
use serde_json::{Map, Value, json};

const SERVICES: &[&str] = &[
    "github",
    "gitlab",
    "slack",
    "jira",
    "notion",
    "stripe",
    "s3",
    "kubernetes",
    "postgres",
    "mysql",
    "redis",
    "sentry",
    "datadog",
    "pagerduty",
    "linear",
    "asana",
    "trello",
    "zendesk",
    "hubspot",
    "salesforce",
    "shopify",
    "twilio",
    "sendgrid",
    "gmail",
    "calendar",
    "drive",
    "dropbox",
    "figma",
    "vercel",
    "netlify",
    "cloudflare",
    "docker",
    "terraform",
    "grafana",
    "elastic",
    "mongo",
    "snowflake",
    "bigquery",
    "airtable",
    "discord",
];
const VERBS: &[&str] = &[
    "list", "get", "create", "update", "delete", "search", "add", "remove", "archive", "export",
    "import", "sync", "assign", "close", "open", "merge", "publish", "restore", "share", "move",
    "copy", "tag", "approve", "cancel", "schedule",
];
const OBJECTS: &[&str] = &[
    "issue",
    "comment",
    "message",
    "channel",
    "user",
    "team",
    "project",
    "repository",
    "branch",
    "commit",
    "file",
    "folder",
    "page",
    "database",
    "table",
    "row",
    "record",
    "invoice",
    "customer",
    "payment",
    "subscription",
    "bucket",
    "object",
    "pod",
    "deployment",
    "service",
    "alert",
    "incident",
    "dashboard",
    "metric",
    "log",
    "event",
    "ticket",
    "contact",
    "deal",
    "order",
    "product",
    "email",
    "meeting",
    "document",
    "label",
    "milestone",
    "release",
    "pipeline",
    "job",
    "secret",
    "domain",
    "webhook",
    "report",
    "note",
    "task",
    "workflow",
    "snapshot",
    "backup",
    "index",
    "query",
    "schema",
    "role",
    "permission",
    "invite",
];
const PARAMS: &[(&str, &str)] = &[
    ("id", "Unique identifier of the item"),
    ("name", "Human readable name"),
    ("limit", "Maximum number of results to return"),
    ("cursor", "Pagination cursor from a previous response"),
    ("query", "Free text search query"),
    ("owner", "Account or organization that owns the item"),
    (
        "status",
        "Filter by status such as open, closed or archived",
    ),
    (
        "since",
        "Only include items updated after this ISO 8601 timestamp",
    ),
    ("body", "Content or text body"),
    ("labels", "Labels or tags to apply"),
    ("assignee", "User to assign the item to"),
    ("region", "Cloud region"),
    ("namespace", "Namespace or workspace to operate in"),
    ("dry_run", "Validate the request without applying changes"),
];
const QUERIES: &[&str] = &[
    "create a new issue",
    "list open pull requests",
    "send a message to a channel",
    "delete a file from the bucket",
    "search customers by email",
    "get the logs of a failing job",
    "archive old tickets",
    "export a report as csv",
    "schedule a meeting with the team",
    "approve the deployment",
    "find documents about onboarding",
    "update subscription plan for customer",
    "restore a database backup",
    "share a folder with a colleague",
    "list alerts from datadog",
    "merge branch into main",
    "cancel an order",
    "add a label to an issue",
    "who is on call pagerduty incident",
    "copy a row between tables",
    "remove a user from the project",
    "publish a release",
    "sync contacts",
    "tag a commit",
    "invite someone to the workspace",
    "get_invoice",
    "stripe:stripe_list_payment",
    "rotate a secret",
    "show dashboard metrics",
    "move a page to another database",
];
const QUERY_RUNS: usize = 5_000;
const REPLACE_RUNS: usize = 9;

/// Tiny deterministic PRNG (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// `count` distinct tools, grouped by service (the server name).
fn synthetic_tools(count: usize, rng: &mut Rng) -> Vec<ToolDoc> {
    let combos = SERVICES.len() * VERBS.len() * OBJECTS.len();
    assert!(count <= combos, "not enough word combinations");
    // A stride coprime with `combos` visits every combination once.
    let stride = 7_919;
    (0..count)
        .map(|i| {
            let combo = (i * stride) % combos;
            let service = SERVICES[combo % SERVICES.len()];
            let verb = VERBS[(combo / SERVICES.len()) % VERBS.len()];
            let object = OBJECTS[combo / (SERVICES.len() * VERBS.len())];
            let other = rng.pick(OBJECTS);
            let mut properties = Map::new();
            for _ in 0..2 + rng.next() % 4 {
                let (name, description) = PARAMS[(rng.next() % PARAMS.len() as u64) as usize];
                properties.insert(
                    format!("{object}_{name}"),
                    json!({"type": "string", "description": description}),
                );
            }
            ToolDoc {
                server: service.to_string(),
                name: format!("{service}_{verb}_{object}"),
                description: format!(
                    "{verb} a {object} in {service}. Use this to {verb} one or more {object}s, \
                     optionally linked to a {other}. Returns the affected {object} as JSON."
                ),
                input_schema: json!({"type": "object", "properties": Value::Object(properties)}),
            }
        })
        .collect()
}

fn build(tools: &[ToolDoc]) -> ToolIndex {
    let mut index = ToolIndex::new();
    for service in SERVICES {
        let mine: Vec<ToolDoc> = tools
            .iter()
            .filter(|t| t.server == *service)
            .cloned()
            .collect();
        if !mine.is_empty() {
            index.replace_server(service, mine);
        }
    }
    index
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank].as_secs_f64() * 1e6
}

fn bench(count: usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ count as u64);
    let tools = synthetic_tools(count, &mut rng);

    let started = Instant::now();
    let mut index = black_box(build(&tools));
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(index.len(), count);

    // Replace one existing server's tools with 100 fresh ones, alternating
    // between two sets; the other servers stay indexed throughout.
    let sets: Vec<Vec<ToolDoc>> = (0..2)
        .map(|set| {
            synthetic_tools(100, &mut rng)
                .into_iter()
                .enumerate()
                .map(|(i, t)| ToolDoc {
                    name: format!("{}_{set}_{i}", t.name),
                    ..t
                })
                .collect()
        })
        .collect();
    let replaced_before = index.server_tool_count(SERVICES[0]);
    let mut replace_times = Vec::with_capacity(REPLACE_RUNS);
    for run in 0..REPLACE_RUNS {
        let tools = sets[run % 2].clone();
        let started = Instant::now();
        index.replace_server(SERVICES[0], tools);
        replace_times.push(started.elapsed());
    }
    replace_times.sort();
    let replace_ms = percentile(&replace_times, 0.5) / 1e3;
    assert_eq!(index.len(), count - replaced_before + 100);

    let mut latencies = Vec::with_capacity(QUERY_RUNS);
    let mut hits = 0;
    for i in 0..QUERY_RUNS {
        let query = QUERIES[i % QUERIES.len()];
        let started = Instant::now();
        let results = black_box(index.search(black_box(query), 10));
        latencies.push(started.elapsed());
        hits += results.len();
    }
    latencies.sort();
    let mean_us =
        latencies.iter().map(Duration::as_secs_f64).sum::<f64>() / QUERY_RUNS as f64 * 1e6;
    println!(
        "{{\"bench\":\"search\",\"tools\":{count},\"queries\":{QUERY_RUNS},\"p50_us\":{:.1},\"p99_us\":{:.1},\"mean_us\":{mean_us:.1},\"build_ms\":{build_ms:.2},\"replace_100_median_ms\":{replace_ms:.3},\"avg_hits\":{:.1}}}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        hits as f64 / QUERY_RUNS as f64,
    );
}

fn main() {
    for count in [1_000, 10_000] {
        bench(count);
    }
}
