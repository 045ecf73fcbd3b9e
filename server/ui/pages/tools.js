// Tools: search across every server (BM25 scores and the fields each hit matched in), a
// tool's full schema and annotations, and a try-it form generated from its input schema
// that calls it through the proxy (a destructive tool asks to confirm first).

import { call } from "../api.js";
import { h, fill, badge, json, toast } from "../dom.js";
import { coalesce } from "../live.js";

/** One form control for a schema property; returns {row, read}. */
function control(name, schema, required) {
  const id = `arg-${name}`;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  const label = h("label", { for: id }, name, required ? " *" : "", schema.description ? h("span", { class: "muted" }, ` — ${schema.description}`) : null);
  let input;
  let read;
  if (Array.isArray(schema.enum)) {
    input = h("select", { id }, required ? null : h("option", { value: "" }, "—"), schema.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v))));
    read = () => (input.value === "" ? undefined : JSON.parse(input.value));
  } else if (type === "boolean") {
    input = h("input", { id, type: "checkbox", checked: schema.default === true });
    read = () => input.checked;
  } else if (type === "integer" || type === "number") {
    input = h("input", { id, type: "number", step: type === "integer" ? "1" : "any", value: schema.default ?? "" });
    read = () => (input.value === "" ? undefined : Number(input.value));
  } else if (type === "object" || type === "array" || !type) {
    input = h("textarea", { id, rows: 3, placeholder: type === "array" ? "[ ]" : "{ }" }, schema.default !== undefined ? json(schema.default) : "");
    read = () => {
      if (input.value.trim() === "") return undefined;
      try {
        return JSON.parse(input.value);
      } catch {
        throw new Error(`${name}: not valid JSON`);
      }
    };
  } else {
    input = h("input", { id, type: "text", value: schema.default ?? "" });
    read = () => (input.value === "" ? undefined : input.value);
  }
  if (required) input.setAttribute("aria-required", "true");
  return { row: h("div", {}, label, input), read: () => read(), required, name };
}

/** The try-it form of a tool. */
function tryIt(tool) {
  const schema = tool.input_schema || {};
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const controls = Object.entries(props).map(([name, s]) => control(name, s || {}, required.has(name)));
  const output = h("pre", { id: "try-result", "aria-live": "polite" });
  const annotations = tool.annotations || {};
  // MCP's defaults: a tool that is not read-only is destructive unless it says otherwise;
  // a tool without annotations says nothing, and is not flagged.
  const destructive = Boolean(tool.annotations) && annotations.readOnlyHint !== true && annotations.destructiveHint !== false;
  const form = h("form", { id: "try-it", class: "panel", "aria-label": `Try ${tool.id}` },
    h("h3", {}, "Try it ", destructive ? badge("destructive", "bad") : annotations.readOnlyHint ? badge("read-only", "ok") : null),
    controls.length ? controls.map((c) => c.row) : h("p", { class: "muted" }, "This tool takes no arguments."),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, `Call ${tool.id}`)),
    output);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const args = {};
    try {
      for (const c of controls) {
        const v = c.read();
        if (v === undefined) {
          if (c.required) throw new Error(`${c.name} is required`);
        } else args[c.name] = v;
      }
    } catch (e) {
      fill(output, e.message);
      return;
    }
    if (destructive && !window.confirm(`${tool.id} is marked destructive. Call it?`)) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fill(output, "Calling…");
    try {
      const result = (await call("tool_call", { body: { tool_name: tool.id, arguments: args } })).data;
      const text = (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
      fill(output, result.isError ? h("span", { class: "log-ERROR" }, "Error: ") : null, text || json(result));
    } catch (e) {
      fill(output, h("span", { class: "log-ERROR" }, `${e.code}: ${e.message}`));
      toast(`${tool.id}: ${e.message}`, "bad");
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export async function render(main, ctx) {
  const q = h("input", { id: "tool-query", type: "search", value: ctx.query.get("q") || "", placeholder: "What do you want to do?", "aria-label": "Search tools" });
  const results = h("div", { id: "tool-results" });
  const detail = h("div", { id: "tool-detail" });
  fill(main, h("h1", {}, "Tools"),
    h("form", { class: "row", role: "search", onsubmit: (e) => { e.preventDefault(); refresh.now().catch((err) => toast(err.message, "bad")); } }, q, h("button", { type: "submit" }, "Search")),
    h("div", { class: "split" }, results, detail));

  const open = async (id) => {
    const [server] = id.split(":");
    const list = (await call("server_tools", { path: { name: server } })).data.tools;
    const tool = list.find((t) => t.id === id);
    if (!ctx.current) return;
    if (!tool) {
      fill(detail, h("p", { class: "muted" }, `${id} is not offered now.`));
      return;
    }
    fill(detail,
      h("h2", {}, h("code", {}, tool.id)),
      h("p", {}, tool.description),
      tool.approval?.status === "changed" ? h("p", {}, badge("changed", "warn"), " blocked until approved on ", h("a", { href: `#/servers/${encodeURIComponent(server)}` }, "its server's page")) : null,
      h("details", {}, h("summary", {}, "Input schema"), h("pre", {}, json(tool.input_schema))),
      tool.annotations ? h("details", {}, h("summary", {}, "Annotations"), h("pre", {}, json(tool.annotations))) : null,
      tryIt(tool));
  };

  const search = async () => {
    const query = q.value.trim();
    if (!query) {
      fill(results, h("p", { class: "muted" }, "Type what you want to do; tools of every connected server are ranked."));
      return;
    }
    const hits = (await call("tool_search", { query: { q: query, limit: 20 } })).data.tools;
    if (!ctx.current) return;
    fill(results, hits.length ? h("table", {},
      h("thead", {}, h("tr", {}, ["Tool", "Score", "Matched in", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, hits.map((hit) => h("tr", { dataset: { tool: hit.name } },
        h("td", {}, h("code", {}, hit.name), h("div", { class: "muted" }, hit.description)),
        h("td", { class: "num" }, hit.score.toFixed(2)),
        h("td", { class: "matched" }, hit.matched_fields.map((f) => badge(f, "info"))),
        h("td", {}, h("button", { type: "button", onclick: () => open(hit.name), "aria-label": `Open ${hit.name}` }, "Open")))))) : h("p", { class: "muted" }, "No tool matches."));
  };
  const refresh = coalesce(search, 300);
  ctx.on("tools.indexed", refresh);
  await refresh.now();
  const wanted = ctx.query.get("tool");
  if (wanted) await open(wanted);
}
