// Activity: the recorded tool calls, newest first, filtered by server, tool, session and
// outcome; a call's detail (arguments, result, duration, session, token) with replay; the
// shown calls exported as JSON. New calls appear as they are recorded.

import { call } from "../api.js";
import { h, fill, badge, when, json, actionButton, toast } from "../dom.js";
import { coalesce } from "../live.js";

const PAGE = 100;

export async function render(main, ctx) {
  const input = (id, label, props = {}) => h("div", {}, h("label", { for: id }, label), h("input", { id, ...props }));
  const status = h("select", { id: "filter-status" }, h("option", { value: "" }, "any"), h("option", { value: "ok" }, "ok"), h("option", { value: "error" }, "error"));
  const filters = h("form", { class: "row", "aria-label": "Filters" },
    input("filter-server", "Server", { type: "search" }),
    input("filter-tool", "Tool", { type: "search" }),
    input("filter-session", "Session id", { type: "search", value: ctx.query.get("session") || "" }),
    h("div", {}, h("label", { for: "filter-status" }, "Outcome"), status),
    input("filter-since", "Since", { type: "datetime-local" }));
  const list = h("div", { id: "calls" });
  const detail = h("div", { id: "call-detail" });
  const exportButton = h("button", { type: "button" }, "Export shown (JSON)");
  fill(main, h("h1", {}, "Activity"), filters, h("div", { class: "row" }, exportButton), h("div", { class: "split" }, list, detail));

  let calls = [];
  const value = (id) => filters.querySelector(`#${id}`).value.trim();
  const shown = () => {
    const server = value("filter-server").toLowerCase();
    const tool = value("filter-tool").toLowerCase();
    const since = value("filter-since") ? new Date(value("filter-since")).getTime() : null;
    return calls.filter((c) =>
      (!server || c.server_name.toLowerCase().includes(server)) &&
      (!tool || c.tool_name.toLowerCase().includes(tool)) &&
      (!status.value || (status.value === "error") === c.is_error) &&
      (!since || new Date(c.timestamp).getTime() >= since));
  };
  const draw = () => {
    const rows = shown();
    fill(list, rows.length ? h("table", {},
      h("thead", {}, h("tr", {}, ["When", "Tool", "Outcome", "ms", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((c) => h("tr", { dataset: { call: c.id } },
        h("td", {}, when(c.timestamp)),
        h("td", {}, h("code", {}, `${c.server_name}:${c.tool_name}`)),
        h("td", {}, c.is_error ? badge("error", "bad") : badge("ok", "ok")),
        h("td", { class: "num" }, c.duration_ms.toFixed(1)),
        h("td", {}, h("button", { type: "button", onclick: () => openCall(c.id), "aria-label": `Details of call ${c.id}` }, "Details")))))) : h("p", { class: "muted" }, "No calls match."));
  };
  const load = async () => {
    const session = value("filter-session");
    calls = (await call("tool_call_list", { query: { limit: PAGE, session_id: session || undefined } })).data.tool_calls;
    if (ctx.current) draw();
  };
  const openCall = async (id) => {
    const record = (await call("tool_call_get", { path: { id } })).data.tool_call;
    if (!ctx.current) return;
    fill(detail, h("div", { class: "panel" },
      h("h2", {}, h("code", {}, `${record.server_name}:${record.tool_name}`), " ", record.is_error ? badge("error", "bad") : badge("ok", "ok")),
      h("div", {}, `${when(record.timestamp)} · ${record.duration_ms.toFixed(1)} ms`),
      h("div", {}, "Session: ", record.mcp_session_id ? h("a", { href: `#/activity?session=${encodeURIComponent(record.mcp_session_id)}` }, record.mcp_session_id) : "—",
        record.mcp_client_name ? ` (${record.mcp_client_name} ${record.mcp_client_version || ""})` : ""),
      record.token_name ? h("div", {}, `Token: ${record.token_name}`) : null,
      record.replayed_from ? h("div", {}, `Replay of ${record.replayed_from}`) : null,
      h("h3", {}, "Arguments"), h("pre", {}, json(record.arguments)),
      record.error ? [h("h3", {}, "Error"), h("pre", { class: "log-ERROR" }, record.error)] : null,
      h("h3", {}, "Result"), h("pre", {}, json(record.response)),
      h("div", { class: "row" }, actionButton("Replay", async () => {
        const replay = (await call("tool_call_replay", { path: { id: record.id }, body: {} })).data;
        toast(`Replayed as ${replay.new_call_id}`);
        await openCall(replay.new_call_id);
      }, { id: "replay" }))));
  };
  const refresh = coalesce(load, 100);
  filters.addEventListener("input", refresh);
  exportButton.addEventListener("click", () => {
    const blob = new Blob([json(shown())], { type: "application/json" });
    const link = h("a", { href: URL.createObjectURL(blob), download: "mcpproxy-tool-calls.json" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });
  ctx.on(["tool_call.recorded", "reconnected"], refresh);
  await refresh.now();
  const wanted = ctx.query.get("id");
  if (wanted) await openCall(wanted);
}
