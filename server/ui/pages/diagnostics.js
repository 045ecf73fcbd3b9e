// Diagnostics: every problem the proxy found (GET /api/v1/diagnostics), each with its
// suggested action as a button that does it (restart, log in, enable) or takes the person
// where it is done (review and approve, set the secret, open the configuration); disabled
// servers with Enable; Docker when isolation is on. Live from the events that move them.
// The dashboard shows the same issues through issueList().

import { call } from "../api.js";
import { h, fill, badge, when, actionButton, toast } from "../dom.js";
import { coalesce } from "../live.js";
import { serverLink, openLogin } from "./servers.js";

const SEVERITY_TONE = { error: "bad", warning: "warn", info: "info" };

/** The events after which the diagnostics may differ. */
export const DIAGNOSTIC_EVENTS = ["servers.changed", "tools.changed", "config.reloaded", "config.invalid", "secrets.changed", "auth.changed", "reconnected"];

const link = (label, href) => h("a", { class: "button", href }, label);
const serverHref = (server) => `#/servers/${encodeURIComponent(server)}`;

/** The fix for one diagnostics issue, as a button or a link. */
export function fixFor(issue) {
  const server = issue.server;
  switch (issue.category) {
    case "quarantined":
      return server && link("Review and approve", serverHref(server));
    case "changed_tools":
      return server && link("Review changes", serverHref(server));
    case "upstream_error":
      return server && actionButton("Restart", async () => {
        await call("server_restart", { path: { name: server } });
        toast(`${server} restarted`);
      }, { "aria-label": `Restart ${server}` });
    case "oauth_required":
      return server && actionButton("Log in", () => openLogin(server), { "aria-label": `Log in ${server}` });
    case "missing_secret":
      return link("Set the secret", "#/secrets");
    case "security":
      // With a server: tools the scanner holds (reviewed and approved on its page).
      return server ? link("Review findings", serverHref(server)) : link("Open the configuration", "#/config");
    case "config":
    case "docker":
      return link("Open the configuration", "#/config");
    default:
      return server ? link("Open server", serverHref(server)) : null;
  }
}

/** One issue row: severity, server, message, suggested action and its fix. */
function issueRow(issue) {
  return h("div", { class: "issue", dataset: { category: issue.category, server: issue.server || "" } },
    badge(issue.severity, SEVERITY_TONE[issue.severity] || ""),
    h("div", { class: "msg" }, issue.server ? [serverLink(issue.server), ": "] : null, issue.message,
      h("div", { class: "muted" }, issue.action)),
    fixFor(issue));
}

/** The issues as rows, or a healthy note. */
export function issueList(issues) {
  if (!issues.length) return h("p", {}, badge("healthy", "ok"), " Nothing needs your attention.");
  return issues.map(issueRow);
}

export async function render(main, ctx) {
  const issues = h("div", { class: "panel", id: "diagnostic-issues" }, h("p", { class: "muted" }, "Loading…"));
  const disabled = h("div", { class: "panel", id: "disabled-servers" });
  const docker = h("div", { id: "docker-status" });
  const checked = h("p", { class: "muted", id: "diagnostics-checked" });
  fill(main, h("h1", {}, "Diagnostics"), checked,
    h("h2", {}, "Problems"), issues,
    h("h2", {}, "Disabled servers"), disabled,
    docker);

  const load = async () => {
    const [report, servers] = await Promise.all([call("diagnostics_get"), call("server_list")]);
    if (!ctx.current) return;
    const data = report.data;
    fill(checked, `Checked ${when(data.timestamp)} · ${data.total_issues} issue(s)`);
    fill(issues, issueList(data.issues));
    const off = servers.data.servers.filter((s) => !s.enabled);
    fill(disabled, off.length ? off.map((s) => h("div", { class: "issue", dataset: { server: s.name } },
      badge("disabled", ""),
      h("div", { class: "msg" }, serverLink(s.name), ": not started; agents do not see its tools."),
      actionButton("Enable", async () => {
        await call("server_enable", { path: { name: s.name } });
        toast(`${s.name} enabled`);
      }, { "aria-label": `Enable ${s.name}` })))
      : h("p", { class: "muted" }, "None."));
    const d = data.docker_status;
    fill(docker, d ? [h("h2", {}, "Docker"), h("div", { class: "panel" },
      d.available ? badge("available", "ok") : badge("unavailable", "bad"), " ",
      d.version ? `version ${d.version}` : "", d.error ? h("span", { class: "log-ERROR" }, ` ${d.error}`) : null)] : null);
  };
  const refresh = coalesce(load, 200);
  ctx.on(DIAGNOSTIC_EVENTS, refresh);
  await refresh.now();
}
