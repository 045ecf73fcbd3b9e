// Servers: every upstream with its state, health, protocol, tool count and last error;
// enable/disable/restart/quarantine from the table, add and remove. Live from
// `servers.changed` (and the other events that move a server).

import { call } from "../api.js";
import { h, fill, badge, actionButton, toast } from "../dom.js";
import { coalesce } from "../live.js";
import { pairsEditor, ENV_RULES, HEADER_RULES } from "./pairs.js";

const HEALTH_TONE = { healthy: "ok", degraded: "warn", unhealthy: "bad" };

/** A link to a server's page. */
export function serverLink(name) {
  return h("a", { href: `#/servers/${encodeURIComponent(name)}` }, name);
}

/** Start an OAuth login and open the authorization page in a new tab. */
export async function openLogin(name) {
  const login = (await call("server_login", { path: { name } })).data;
  if (login.auth_url) window.open(login.auth_url, "_blank", "noopener");
  toast(login.auth_url ? `Complete the sign-in for ${name} in the new tab` : `${name} signed in`);
}

/** The administrative and connection state of a server, as one badge. */
export function stateBadge(server) {
  if (server.quarantined) return badge("quarantined", "warn");
  if (!server.enabled) return badge("disabled", "");
  if (server.connected) return badge(server.status || "ready", "ok");
  if (server.connecting) return badge(server.status || "connecting", "info");
  return badge(server.status || "disconnected", server.last_error ? "bad" : "");
}

/** The actions on one server, as buttons. */
export function serverActions(server, after = () => {}) {
  const name = server.name;
  const act = (label, id, message, props = {}, body) =>
    actionButton(label, async () => {
      await call(id, { path: { name }, body });
      toast(`${name}: ${message}`);
      after();
    }, { "aria-label": `${label} ${name}`, ...props });
  const buttons = [];
  if (server.quarantined) {
    buttons.push(h("a", { class: "button primary", href: `#/servers/${encodeURIComponent(name)}`, "aria-label": `Review ${name}` }, "Review"));
  } else {
    buttons.push(server.enabled ? act("Disable", "server_disable", "disabled") : act("Enable", "server_enable", "enabled"));
    if (server.enabled) buttons.push(act("Restart", "server_restart", "restarted"));
    buttons.push(act("Quarantine", "server_quarantine", "quarantined", {}, { quarantined: true }));
  }
  if (server.health?.action === "login") buttons.push(actionButton("Log in", () => openLogin(name), { "aria-label": `Log in ${name}` }));
  return h("div", { class: "actions" }, buttons);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The add form; `onAdded` after the proxy accepted it. */
function addForm(onAdded) {
  const field = (label, id, props = {}) => [h("label", { for: id }, label), h(props.multiline ? "textarea" : "input", { id, name: id, rows: props.multiline ? 3 : undefined, ...props.attrs })];
  const form = h("form", { class: "panel", id: "add-server", "aria-label": "Add a server", novalidate: true });
  const problems = h("ul", { class: "findings", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Add server");
  const env = pairsEditor("add-env", "Environment", {}, ENV_RULES);
  const headers = pairsEditor("add-headers", "Headers", {}, HEADER_RULES);
  fill(
    form,
    h("h2", {}, "Add a server"),
    h("div", { class: "split" },
      h("div", {},
        field("Name", "add-name", { attrs: { required: true, autocomplete: "off" } }),
        field("Command (stdio)", "add-command", { attrs: { placeholder: "npx" } }),
        field("Arguments, one per line", "add-args", { multiline: true }),
      ),
      h("div", {},
        field("URL (http)", "add-url", { attrs: { placeholder: "https://example.com/mcp" } }),
        h("label", {}, h("input", { type: "checkbox", id: "add-quarantined", checked: true }), " Quarantine until I review it"),
      ),
    ),
    h("p", { class: "muted" }, "For secrets use a reference: ${keyring:NAME} (stored on the Secrets page) or ${env:NAME}."),
    h("div", { class: "split" }, env.element, headers.element),
    problems,
    submit,
  );
  const value = (id) => form.querySelector(`#${id}`);
  const read = () => {
    const lines = (id) => value(id).value.split("\n").map((l) => l.trim()).filter(Boolean);
    const envRead = env.read();
    const headersRead = headers.read();
    const errors = [...envRead.errors, ...headersRead.errors];
    const body = { name: value("add-name").value.trim(), quarantined: value("add-quarantined").checked };
    const command = value("add-command").value.trim();
    const url = value("add-url").value.trim();
    if (command) body.command = command;
    if (url) body.url = url;
    if (lines("add-args").length) body.args = lines("add-args");
    if (Object.keys(envRead.map).length) body.env = envRead.map;
    if (Object.keys(headersRead.map).length) body.headers = headersRead.map;
    if (!NAME.test(body.name)) errors.push("name: letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64");
    if (!command && !url) errors.push("give a command (stdio) or a URL (http)");
    if (command && url) errors.push("give a command or a URL, not both");
    if (url) {
      try {
        const parsed = new URL(url);
        if (!["http:", "https:"].includes(parsed.protocol)) errors.push("url: http or https only");
      } catch {
        errors.push("url: not a URL");
      }
    }
    return { body, errors };
  };
  const check = () => {
    const { errors } = read();
    fill(problems, errors.map((e) => h("li", { class: "log-ERROR" }, e)));
    submit.disabled = errors.length > 0;
    return errors;
  };
  form.addEventListener("input", check);
  form.addEventListener("click", (event) => {
    if (event.target.closest?.(".pairs-box button")) check();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (check().length) return;
    submit.disabled = true;
    try {
      const { body } = read();
      await call("server_add", { body });
      toast(`${body.name} added`);
      form.reset();
      form.querySelectorAll(".pair").forEach((row) => row.remove());
      onAdded(body.name);
    } catch (e) {
      fill(problems, h("li", { class: "log-ERROR" }, e.message));
    } finally {
      check();
    }
  });
  check();
  return form;
}

/** Import another client's configuration: preview what would be added, then import. */
function importForm(onImported) {
  const content = h("textarea", { id: "import-content", rows: 8, placeholder: '{"mcpServers": {"name": {"command": "npx", "args": ["-y", "some-server"]}}}' });
  const format = h("select", { id: "import-format" }, ["claude-desktop", "claude-code", "cursor", "vscode", "codex", "gemini"].map((f) => h("option", { value: f }, f)));
  const result = h("div", { id: "import-result", "aria-live": "polite" });
  const importButton = h("button", { type: "button", class: "primary", disabled: true }, "Import");
  const body = (preview) => ({ content: content.value, format: format.value, preview });
  const show = (data) => fill(result,
    h("h3", {}, data.preview ? "Would import (quarantined until you review them)" : "Imported (quarantined until you review them)"),
    (data.imported || []).length ? h("ul", {}, data.imported.map((s) => h("li", { dataset: { imported: s.name } }, h("code", {}, s.name), ` — ${s.protocol}: `, h("code", {}, s.command ? [s.command, ...s.args].join(" ") : s.url || "")))) : h("p", { class: "muted" }, "Nothing to import."),
    (data.skipped || []).length ? [h("h3", {}, "Skipped"), h("ul", {}, data.skipped.map((s) => h("li", {}, h("code", {}, s.name), `: ${s.reason}`)))] : null);
  const run = async (preview) => {
    const data = (await call("servers_bulk", { path: { name: "import" }, body: body(preview) })).data;
    show(data);
    importButton.disabled = !preview || !(data.imported || []).length;
    if (!preview) {
      toast(`${(data.imported || []).length} server(s) imported`);
      onImported();
    }
  };
  content.addEventListener("input", () => { importButton.disabled = true; });
  importButton.addEventListener("click", () => run(false).catch((e) => toast(e.message, "bad")));
  return h("div", { class: "panel", id: "import-servers" },
    h("h2", {}, "Import from another client"),
    h("label", { for: "import-format" }, "Client"), format,
    h("label", { for: "import-content" }, "Its configuration file (JSON or TOML)"), content,
    h("div", { class: "row" }, h("button", { type: "button", id: "import-preview", onclick: () => run(true).catch((e) => toast(e.message, "bad")) }, "Preview"), importButton),
    result);
}

export async function render(main, ctx) {
  const body = h("div", { id: "servers-table" }, h("p", { class: "muted" }, "Loading…"));
  const filter = h("input", { id: "server-filter", type: "search", placeholder: "Filter by name", "aria-label": "Filter servers by name" });
  const addButton = h("button", { type: "button", "aria-expanded": "false" }, "Add a server…");
  const addSlot = h("div", {});
  const importButton = h("button", { type: "button", "aria-expanded": "false" }, "Import…");
  let servers = [];
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = q ? servers.filter((s) => s.name.toLowerCase().includes(q)) : servers;
    if (!servers.length) {
      fill(body, h("p", { class: "muted" }, "No servers configured yet."));
      return;
    }
    const rows = shown.map((s) =>
      h("tr", { dataset: { server: s.name } },
        h("td", {}, serverLink(s.name)),
        h("td", { class: "state" }, stateBadge(s)),
        h("td", {}, badge(s.health.level, HEALTH_TONE[s.health.level] || ""), " ", h("span", { class: "muted" }, s.health.summary)),
        h("td", {}, s.protocol, s.protocol_version ? h("div", { class: "muted" }, s.protocol_version) : null),
        h("td", { class: "num" }, String(s.tool_count)),
        h("td", { class: "muted" }, s.last_error || ""),
        h("td", {}, serverActions(s, refresh)),
      ));
    fill(body, h("table", {},
      h("thead", {}, h("tr", {}, ["Name", "State", "Health", "Protocol", "Tools", "Last error", "Actions"].map((t, i) => h("th", { scope: "col", class: i === 4 ? "num" : undefined }, t)))),
      h("tbody", {}, rows)));
  };
  const refresh = coalesce(async () => {
    servers = (await call("server_list")).data.servers;
    if (ctx.current) draw();
  }, 50);
  filter.addEventListener("input", draw);
  addButton.addEventListener("click", () => {
    const open = !addSlot.querySelector("#add-server");
    importButton.setAttribute("aria-expanded", "false");
    addButton.setAttribute("aria-expanded", String(open));
    fill(addSlot, open ? addForm(() => refresh()) : null);
    addSlot.querySelector("input")?.focus();
  });
  importButton.addEventListener("click", () => {
    const open = !addSlot.querySelector("#import-servers");
    importButton.setAttribute("aria-expanded", String(open));
    addButton.setAttribute("aria-expanded", "false");
    fill(addSlot, open ? importForm(() => refresh()) : null);
    addSlot.querySelector("textarea")?.focus();
  });
  const reconnect = actionButton("Reconnect all", async () => {
    const result = (await call("servers_bulk", { path: { name: "reconnect" } })).data;
    toast(`${result.successful} of ${result.total} reconnecting`);
  });
  fill(main, h("h1", {}, "Servers"), h("div", { class: "row" }, filter, addButton, importButton, reconnect), addSlot, body);
  ctx.on(["servers.changed", "tools.indexed", "config.reloaded", "auth.changed", "reconnected"], refresh);
  await refresh.now();
}
