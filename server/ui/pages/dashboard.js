// Dashboard: the counts (live from `status` events), the diagnostics with their fix as a
// button, and the recent tool calls as they happen.

import { call } from "../api.js";
import { h, fill, badge, when, table, actionButton, toast } from "../dom.js";
import { coalesce } from "../live.js";
import { serverLink, openLogin } from "./servers.js";

const COUNTS = [
  ["total_servers", "Servers"],
  ["connected_servers", "Connected"],
  ["quarantined_servers", "Quarantined"],
  ["total_tools", "Tools"],
];

const SEVERITY_TONE = { error: "bad", warning: "warn", info: "info" };

/** The fix for one diagnostics issue, as a button or a link. */
export function fixFor(issue) {
  const server = issue.server;
  switch (issue.category) {
    case "quarantined":
      return server && h("a", { class: "button", href: `#/servers/${encodeURIComponent(server)}` }, "Review and approve");
    case "changed_tools":
      return server && h("a", { class: "button", href: `#/servers/${encodeURIComponent(server)}` }, "Review changes");
    case "upstream_error":
      return server && actionButton("Restart", async () => {
        await call("server_restart", { path: { name: server } });
        toast(`${server} restarted`);
      });
    case "oauth_required":
      return server && actionButton("Log in", () => openLogin(server));
    case "missing_secret":
      return h("a", { class: "button", href: "#/secrets" }, "Set the secret");
    case "config":
      return h("a", { class: "button", href: "#/config" }, "Open the configuration");
    default:
      return server ? h("a", { class: "button", href: `#/servers/${encodeURIComponent(server)}` }, "Open server") : null;
  }
}

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
  fill(
    main,
    h("h1", {}, "Dashboard"),
    cards,
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
    if (!report.issues.length) {
      fill(diagnostics, h("p", {}, badge("healthy", "ok"), " Nothing needs your attention."));
      return;
    }
    fill(
      diagnostics,
      report.issues.map((issue) =>
        h(
          "div",
          { class: "issue" },
          badge(issue.severity, SEVERITY_TONE[issue.severity] || ""),
          h("div", { class: "msg" }, issue.server ? [serverLink(issue.server), ": "] : null, issue.message,
            h("div", { class: "muted" }, issue.action)),
          fixFor(issue),
        ),
      ),
    );
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
  ctx.on(["servers.changed", "tools.changed", "config.reloaded", "config.invalid", "secrets.changed", "auth.changed", "reconnected"], diagnosticsRefresh);
  ctx.on(["tool_call.recorded", "reconnected"], callsRefresh);
  ctx.on("reconnected", loadCounts);
  await Promise.all([loadCounts(), diagnosticsRefresh.now(), callsRefresh.now()]);
}
