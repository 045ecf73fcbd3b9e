// Dashboard: the counts (live from `status` events), the diagnostics with their fix as a
// button (the Diagnostics page has more), the token savings of search, and the recent tool
// calls as they happen.

import { call } from "../api.js";
import { h, fill, badge, when, table } from "../dom.js";
import { coalesce } from "../live.js";
import { issueList, DIAGNOSTIC_EVENTS } from "./diagnostics.js";

const COUNTS = [
  ["total_servers", "Servers"],
  ["connected_servers", "Connected"],
  ["quarantined_servers", "Quarantined"],
  ["total_tools", "Tools"],
];

export async function render(main, ctx) {
  const cards = h("div", { class: "cards", "aria-label": "Counts" });
  const values = {};
  for (const [key, label] of COUNTS) {
    values[key] = h("div", { class: "value", dataset: { count: key } }, "…");
    cards.append(h("div", { class: "card" }, values[key], h("div", { class: "label" }, label)));
  }
  const showCounts = (stats) => {
    for (const [key] of COUNTS) if (stats && key in stats) values[key].textContent = String(stats[key]);
  };
  const diagnostics = h("div", { class: "panel", id: "diagnostics" }, h("p", { class: "muted" }, "Loading…"));
  const calls = h("div", { id: "recent-calls" }, h("p", { class: "muted" }, "Loading…"));
  const savings = h("div", { class: "panel", id: "token-savings" }, h("p", { class: "muted" }, "Loading…"));
  fill(
    main,
    h("h1", {}, "Dashboard"),
    cards,
    h("h2", {}, "Token savings of search"),
    savings,
    h("h2", {}, "Diagnostics"),
    diagnostics,
    h("h2", {}, "Recent tool calls"),
    calls,
  );

  const loadCounts = async () => {
    const status = await call("status_get");
    showCounts(status.data.upstream_stats);
  };
  const loadDiagnostics = async () => {
    const report = (await call("diagnostics_get")).data;
    if (!ctx.current) return;
    fill(diagnostics, issueList(report.issues));
  };
  const loadSavings = async () => {
    const t = (await call("stats_tokens")).data;
    if (!ctx.current) return;
    const n = (v) => v.toLocaleString();
    fill(savings,
      h("div", {}, h("strong", { dataset: { saved: String(t.saved_tokens) } }, `${n(t.saved_tokens)} tokens saved`),
        ` per request (${t.saved_tokens_percentage.toFixed(1)}%): listing every tool costs ${n(t.total_server_tool_list_size)} tokens, a search answer about ${n(t.average_query_result_size)}`,
        t.average_query_result_source === "estimate" ? " (estimated: no search yet)" : "", "."),
      h("div", { class: "muted" }, `${n(t.retrieve_tools.answers)} searches (${n(t.retrieve_tools.tokens)} tokens) and ${n(t.tool_results.answers)} tool results (${n(t.tool_results.tokens)} tokens) since start · ${t.encoding}`));
  };
  const loadCalls = async () => {
    const page = (await call("tool_call_list", { query: { limit: 10 } })).data;
    if (!ctx.current) return;
    fill(
      calls,
      table(
        [
          ["When", (c) => when(c.timestamp)],
          ["Tool", (c) => h("code", {}, `${c.server_name}:${c.tool_name}`)],
          ["Outcome", (c) => (c.is_error ? badge("error", "bad") : badge("ok", "ok"))],
          ["Duration", (c) => `${c.duration_ms.toFixed(1)} ms`, "num"],
          ["Session", (c) => (c.mcp_client_name ? `${c.mcp_client_name}` : c.mcp_session_id ? c.mcp_session_id.slice(0, 8) : "REST")],
          ["", (c) => h("a", { href: `#/activity?id=${encodeURIComponent(c.id)}` }, "details")],
        ],
        page.tool_calls,
        { empty: "No tool calls yet." },
      ),
    );
  };

  ctx.on("status", (status) => showCounts(status.upstream_stats));
  const diagnosticsRefresh = coalesce(loadDiagnostics, 200);
  const callsRefresh = coalesce(loadCalls, 100);
  ctx.on(DIAGNOSTIC_EVENTS, diagnosticsRefresh);
  ctx.on(["tool_call.recorded", "reconnected"], callsRefresh);
  const savingsRefresh = coalesce(loadSavings, 500);
  ctx.on(["tools.indexed", "tool_call.recorded", "reconnected"], savingsRefresh);
  ctx.on("reconnected", loadCounts);
  await Promise.all([loadCounts(), diagnosticsRefresh.now(), callsRefresh.now(), savingsRefresh.now()]);
}
