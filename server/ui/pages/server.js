// Server detail: configuration, actions, the approval review of a quarantined server
// (what it would run, a person-triggered inspection with the scanner's findings marked,
// approve), its tools with their pinning state and each changed tool's diff with approve,
// and the log tail (read once, then each line pushed as a `log` event). Live from the
// events that concern the server.

import { call } from "../api.js";
import { h, fill, badge, when, json, actionButton, toast, highlighted } from "../dom.js";
import { coalesce, follow } from "../live.js";
import { stateBadge, serverActions, openLogin } from "./servers.js";
import { pairsEditor, ENV_RULES, HEADER_RULES } from "./pairs.js";

/** Line diff (longest common subsequence): [{op: " "|"-"|"+", line}]. */
export function diffLines(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  const n = a.length;
  const m = b.length;
  if (n * m > 250000) return [...a.map((line) => ({ op: "-", line })), ...b.map((line) => ({ op: "+", line }))];
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push({ op: " ", line: a[i] }); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: "-", line: a[i++] });
    else out.push({ op: "+", line: b[j++] });
  }
  while (i < n) out.push({ op: "-", line: a[i++] });
  while (j < m) out.push({ op: "+", line: b[j++] });
  return out;
}

/** Before/after panes of a text, changed lines coloured. */
function diffView(title, before, after) {
  const lines = diffLines(before, after);
  const side = (keep) => h("pre", {}, lines.filter((l) => l.op === " " || l.op === keep).map((l) =>
    h("div", { class: l.op === "-" ? "del" : l.op === "+" ? "add" : "" }, `${l.op} ${l.line}`)));
  return h("div", { class: "diff-block" }, h("h3", {}, title), h("div", { class: "diff" },
    h("div", {}, h("div", { class: "muted" }, "Approved"), side("-")),
    h("div", {}, h("div", { class: "muted" }, "Now"), side("+"))));
}

/** The scanner's findings of one tool, as a list. */
function findingsList(findings) {
  if (!findings?.length) return null;
  return h("ul", { class: "findings" }, findings.map((f) =>
    h("li", {}, badge(f.tier, f.tier === "block" ? "bad" : "warn"), " ", h("code", {}, f.field), `: ${f.reason} `, h("q", {}, f.matched))));
}

/** A description with the scanner's description findings marked. */
function describedWith(description, findings) {
  const spans = (findings || []).filter((f) => f.field === "description");
  return h("div", { class: "description" }, highlighted(description || "", spans));
}

/** Lines of the log tail shown. */
const LOG_LINES = 200;

const hasBlock = (findings) => (findings || []).some((f) => f.tier === "block");

/**
 * The edit form of a server's connection settings (PATCH: only what changed is sent).
 * `saved` is the server's entry in the configuration as the proxy shows it (secret values
 * masked): its environment and headers.
 */
function editForm(server, saved, onSaved) {
  const input = (id, label, value, props = {}) => [h("label", { for: id }, label),
    h(props.multiline ? "textarea" : "input", { id, rows: props.multiline ? 3 : undefined, value: value ?? "" })];
  const stdio = Boolean(server.command);
  const env = pairsEditor("edit-env", "Environment", saved?.env || {}, ENV_RULES);
  const headers = pairsEditor("edit-headers", "Headers", saved?.headers || {}, HEADER_RULES);
  const problems = h("ul", { class: "findings", "aria-live": "polite" });
  const form = h("form", { class: "panel", id: "edit-server", "aria-label": `Edit ${server.name}` },
    h("h2", {}, "Edit"),
    stdio ? [
      input("edit-command", "Command", server.command),
      input("edit-args", "Arguments, one per line", server.args.join("\n"), { multiline: true }),
      input("edit-working-dir", "Working directory", server.working_dir),
    ] : input("edit-url", "URL", server.url),
    h("p", { class: "muted" }, "Secrets stay references (${keyring:NAME}); stored values are never shown here, and a hidden value is kept unless you type a new one."),
    h("div", { class: "split" }, env.element, stdio ? null : headers.element),
    problems,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (id) => form.querySelector(`#${id}`)?.value;
    const body = {};
    const errors = [...env.read().errors, ...(stdio ? [] : headers.read().errors)];
    fill(problems, errors.map((e) => h("li", { class: "log-ERROR" }, e)));
    if (errors.length) return;
    if (stdio) {
      const args = value("edit-args").split("\n").map((l) => l.trim()).filter(Boolean);
      if (value("edit-command").trim() !== server.command) body.command = value("edit-command").trim();
      if (JSON.stringify(args) !== JSON.stringify(server.args)) body.args = args;
      if (value("edit-working-dir").trim() !== (server.working_dir || "")) body.working_dir = value("edit-working-dir").trim();
    } else {
      if (value("edit-url").trim() !== server.url) body.url = value("edit-url").trim();
      if (headers.changed()) body.headers = headers.read().map;
    }
    if (env.changed()) body.env = env.read().map;
    if (!Object.keys(body).length) {
      toast("Nothing changed");
      return;
    }
    try {
      await call("server_update", { path: { name: server.name }, body });
      toast(`${server.name} saved`);
      onSaved();
    } catch (e) {
      fill(problems, h("li", { class: "log-ERROR" }, e.message));
    }
  });
  return form;
}

const AUTH_TONE = { authenticated: "ok", needs_login: "warn", in_progress: "info", failed: "bad", none: "" };

/** OAuth state of an HTTP server, with Log in / Log out. */
async function authPanel(name, refresh) {
  const auth = (await call("server_auth", { path: { name } })).data;
  if (auth.state === "none") return null;
  return h("div", { class: "panel", id: "oauth" },
    h("div", {}, h("strong", {}, "OAuth: "), badge(auth.state.replace("_", " "), AUTH_TONE[auth.state] || ""),
      auth.issuer ? [" via ", h("code", {}, auth.issuer)] : null,
      auth.expires_at ? ` · token expires ${when(auth.expires_at)}` : "",
      auth.scopes.length ? ` · scopes: ${auth.scopes.join(" ")}` : ""),
    auth.last_error ? h("div", { class: "log-ERROR" }, auth.last_error) : null,
    h("div", { class: "row" },
      auth.state === "authenticated"
        ? actionButton("Log out", async () => { await call("server_logout", { path: { name } }); refresh(); })
        : actionButton("Log in", () => openLogin(name))));
}

export async function render(main, ctx) {
  const name = ctx.params[0];
  const header = h("div", {});
  // Outside the parts that live updates redraw: an open form survives them.
  const editSlot = h("div", {});
  let reviewing = false;
  const review = h("section", { id: "review", "aria-label": "Review" });
  const tools = h("section", { id: "tools", "aria-label": "Tools" });
  const logs = h("pre", { id: "logs", class: "logs", tabindex: "0", "aria-label": "Log tail" });
  fill(main,
    h("p", {}, h("a", { href: "#/servers" }, "← Servers")),
    header, editSlot, review, tools,
    h("h2", {}, "Log"),
    h("div", { class: "row" }, actionButton("Refresh log", () => loadLogs())),
    logs);

  let server = null;
  const loadServer = async () => {
    const all = (await call("server_list")).data.servers;
    server = all.find((s) => s.name === name) || null;
    if (!ctx.current) return;
    if (!server) {
      fill(header, h("h1", {}, name), h("p", {}, badge("not found", "bad"), " No server of this name (removed?)."));
      fill(review);
      fill(tools);
      return;
    }
    const remove = actionButton("Remove", async () => {
      if (!window.confirm(`Remove ${name} from the configuration?`)) return;
      await call("server_delete", { path: { name } });
      toast(`${name} removed`);
      window.location.hash = "#/servers";
    }, { class: "danger", "aria-label": `Remove ${name}` });
    const edit = actionButton("Edit…", async () => {
      const open = !editSlot.childElementCount;
      const saved = open ? (await call("config_get")).data.config.mcpServers.find((s) => s.name === name) : null;
      edit.setAttribute("aria-expanded", String(open));
      fill(editSlot, open ? editForm(server, saved, () => { fill(editSlot); edit.setAttribute("aria-expanded", "false"); refreshAll(); }) : null);
      editSlot.querySelector("input")?.focus();
    }, { "aria-expanded": String(editSlot.childElementCount > 0), id: "edit-open" });
    const oauth = server.url ? await authPanel(name, refreshAll).catch(() => null) : null;
    if (!ctx.current) return;
    fill(header,
      h("h1", {}, name, " ", stateBadge(server)),
      h("div", { class: "row" }, serverActions(server, refreshAll), edit, remove),
      oauth,
      h("div", { class: "panel" },
        h("div", {}, h("strong", {}, "Health: "), `${server.health.level} — ${server.health.summary}`, server.health.detail ? ` (${server.health.detail})` : ""),
        h("div", {}, h("strong", {}, "Protocol: "), server.protocol, server.protocol_version ? ` (${server.protocol_version})` : ""),
        server.command ? h("div", {}, h("strong", {}, "Command: "), h("code", {}, [server.command, ...server.args].join(" "))) : null,
        server.url ? h("div", {}, h("strong", {}, "URL: "), h("code", {}, server.url)) : null,
        server.last_error ? h("div", {}, h("strong", {}, "Last error: "), h("span", { class: "log-ERROR" }, server.last_error)) : null,
        h("div", { class: "muted" }, `Tools: ${server.tool_count} · reconnects: ${server.reconnect_count} · updated ${when(server.updated)}`)));
    // The review is drawn once per quarantine: redrawing would drop an inspection's
    // results and a typed reason.
    if (server.quarantined && !reviewing) {
      reviewing = true;
      await loadReview();
    } else if (!server.quarantined) {
      reviewing = false;
      fill(review);
    }
  };

  const loadReview = async () => {
    const plan = (await call("server_inspect_plan", { path: { name } })).data;
    if (!ctx.current) return;
    const inspected = h("div", { id: "inspection" });
    const reason = h("textarea", { id: "override-reason", rows: 2, placeholder: "Why you approve it despite the scanner's block findings" });
    const reasonBox = h("div", { class: "hidden" }, h("label", { for: "override-reason" }, "Override reason (needed: the scanner found block-tier findings)"), reason);
    const showTools = (list) => {
      const blocked = list.some((t) => hasBlock(t.findings));
      reasonBox.classList.toggle("hidden", !blocked);
      fill(inspected, list.length ? list.map((t) => h("div", { class: "panel tool-review" },
        h("h3", {}, h("code", {}, t.name), " ", hasBlock(t.findings) ? badge("block", "bad") : t.findings?.length ? badge("review", "warn") : badge("clean", "ok")),
        describedWith(t.description, t.findings),
        findingsList(t.findings),
        h("details", {}, h("summary", {}, "Input schema"), h("pre", {}, json(t.input_schema))))) : h("p", { class: "muted" }, "No tools known yet: inspect it to see them."));
    };
    fill(review,
      h("h2", {}, "Review before approval"),
      h("div", { class: "panel" },
        h("p", {}, "This server is quarantined: it is not connected and agents cannot see its tools. Check what it would run, inspect it once, then approve."),
        h("div", {}, h("strong", {}, "Transport: "), plan.transport),
        plan.runs.length ? h("div", {}, h("strong", {}, "Would run: "), h("code", { id: "plan-runs" }, plan.runs.join(" "))) : null,
        plan.url ? h("div", {}, h("strong", {}, "Would contact: "), h("code", {}, plan.url)) : null,
        plan.env_names.length ? h("div", {}, h("strong", {}, "Environment: "), plan.env_names.join(", ")) : null,
        plan.header_names.length ? h("div", {}, h("strong", {}, "Headers: "), plan.header_names.join(", ")) : null,
        plan.docker_isolation ? h("div", {}, h("strong", {}, "Docker image: "), plan.docker_image || "default") : null,
        plan.changed_since_approval.length ? h("div", {}, badge("changed", "warn"), " Changed since a person last approved it: ", plan.changed_since_approval.join(", ")) : null,
        h("div", { class: "row" },
          actionButton("Inspect (connect once, list tools)", async () => {
            const result = (await call("server_inspect", { path: { name }, body: { fingerprint: plan.fingerprint } })).data;
            showTools(result.tools);
            toast(`${name}: ${result.tools.length} tools inspected`);
          }, { id: "inspect" }),
          actionButton("Approve", async () => {
            const body = { fingerprint: plan.fingerprint };
            if (reason.value.trim()) body.override_reason = reason.value.trim();
            await call("server_unquarantine", { path: { name }, body });
            toast(`${name} approved`);
            refreshAll();
          }, { class: "primary", id: "approve" })),
        reasonBox),
      h("h3", {}, plan.last_known_tools_source === "pinned" ? "Tools last approved" : "Tools"),
      inspected);
    showTools(plan.last_known_tools);
  };

  const loadTools = async () => {
    if (!server || server.quarantined) {
      fill(tools);
      return;
    }
    const list = (await call("server_tools", { path: { name } })).data.tools;
    if (!ctx.current) return;
    const changed = list.filter((t) => t.approval?.status === "changed" || (hasBlock(t.findings) && !t.scan_override));
    fill(tools,
      h("h2", {}, `Tools (${list.length})`),
      changed.length ? h("div", { class: "panel", id: "changed-tools" },
        h("h3", {}, `${changed.length} tool(s) held back until you approve them`),
        changed.map((t) => {
          const reason = h("input", { id: `reason-${t.name}`, "aria-label": `Reason to approve ${t.name}`, placeholder: "Reason (needed for block findings)" });
          return h("div", { class: "changed-tool", dataset: { tool: t.name } },
            h("h3", {}, h("code", {}, t.name), " ", t.approval?.status === "changed" ? badge("changed", "warn") : badge("held by the scanner", "bad")),
            t.approval ? diffView("Description", t.approval.approved_description, t.description) : describedWith(t.description, t.findings),
            t.approval ? diffView("Input schema", json(t.approval.approved_input_schema), json(t.input_schema)) : null,
            findingsList(t.findings),
            h("div", { class: "row" }, hasBlock(t.findings) ? reason : null,
              actionButton(`Approve ${t.name}`, async () => {
                const body = { tools: [t.name] };
                if (reason.value.trim()) body.reason = reason.value.trim();
                await call("server_tools_approve", { path: { name }, body });
                toast(`${name}:${t.name} approved`);
                refreshAll();
              }, { class: "primary" })));
        })) : null,
      h("table", {},
        h("thead", {}, h("tr", {}, ["Tool", "Description", "Pinning", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, list.map((t) => h("tr", { dataset: { tool: t.name } },
          h("td", {}, h("code", {}, t.name)),
          h("td", {}, describedWith(t.description, t.findings), findingsList(t.findings)),
          h("td", {}, t.approval ? badge(t.approval.status, t.approval.status === "approved" ? "ok" : "warn") : badge("not pinned"),
            t.scan_override ? h("div", { class: "muted" }, `override: ${t.scan_override.reason}`) : null),
          h("td", {}, h("a", { href: `#/tools?q=${encodeURIComponent(t.name)}&tool=${encodeURIComponent(t.id)}` }, "Try it")))))));
  };

  const logLine = (e) => h("div", { class: `log-${e.level}` }, `${e.timestamp} ${e.level} ${e.message}`);
  const loadLogs = async () => {
    const entries = (await call("server_logs", { path: { name }, query: { tail: LOG_LINES } })).data.logs;
    if (!ctx.current) return;
    const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    fill(logs, entries.length ? entries.map(logLine) : h("div", { class: "muted" }, "No log lines yet."));
    if (atBottom) logs.scrollTop = logs.scrollHeight;
  };
  /** A pushed line: appended, the oldest dropped past LOG_LINES. */
  const pushed = (event) => {
    const line = event?.payload;
    if (!line || line.server !== name) return;
    const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    logs.querySelector(".muted")?.remove();
    logs.append(logLine(line));
    while (logs.childElementCount > LOG_LINES) logs.firstElementChild.remove();
    if (atBottom) logs.scrollTop = logs.scrollHeight;
  };

  const refreshAll = coalesce(async () => {
    await loadServer();
    await loadTools();
  }, 100);
  const concerns = (event) => {
    const p = event?.payload || {};
    return !p.server && !p.server_name && !p.name ? true : [p.server, p.server_name, p.name].includes(name);
  };
  ctx.on(["servers.changed", "tools.changed", "tools.indexed", "auth.changed", "config.reloaded"], (event) => {
    if (concerns(event)) refreshAll();
  });
  ctx.on("reconnected", refreshAll);
  // The tail is read when the stream (reopened with this server's lines) is up, and again
  // whenever lines may have been missed; in between each line is pushed.
  const logsRefresh = coalesce(loadLogs, 100);
  ctx.on(["reconnected", "log.missed"], logsRefresh);
  ctx.on("log", pushed);
  ctx.onLeave(follow(name));
  await Promise.all([refreshAll.now(), logsRefresh.now()]);
}
