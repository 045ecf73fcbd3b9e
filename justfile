# mcpproxy developer commands. CI calls cargo directly (see .ci/run).

# Run the proxy with the default config (~/.mcpproxy/mcp_config.json).
run *ARGS:
    cargo run --release -p mcpproxy -- serve {{ARGS}}

# Install test prerequisites (server-everything from npm) and run every test.
test:
    .ci/install-test-deps
    cargo test --workspace

# Benchmarks (release build): installs the peers into .harness/ if missing, starts the
# fixture, server-everything, mcp-hub and mcp-proxy on loopback, prints one table and writes
# target/bench/results.json. BENCH_QUICK=1 for a short smoke run (see bench/smoke).
bench:
    bench/run

# The official MCP conformance suite against the fixture, through the proxy and on /mcp;
# writes docs/conformance.md (and docs/conformance.json). Needs a debug build.
conformance:
    .ci/install-test-deps
    cargo build -p mcpproxy -p mcpproxy-fixture
    conformance/report

# Only the search-index micro-benchmark.
bench-search:
    cargo bench -p mcpproxy --bench search

# Only the tool-poisoning scanner's cost: 10,000 tools scanned (goal: under 100 ms).
bench-scan:
    cargo bench -p mcpproxy --bench scan

# The scanner's scores on the labelled corpus and the held-out set, per category.
scan-corpus:
    cargo test -p mcpproxy --test scanner_corpus -- --nocapture --test-threads 1

fmt:
    cargo fmt --all

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
