// Configuration: the running configuration as JSON in an editor; validate (the proxy's
// own rules), a line diff against what runs before applying, apply. A banner (app.js)
// says when the file on disk is invalid.

import { call } from "../api.js";
import { h, fill, badge, json, toast } from "../dom.js";
import { diffLines } from "./server.js";

export async function render(main, ctx) {
  const editor = h("textarea", { id: "config-editor", rows: 24, spellcheck: "false", "aria-label": "Configuration (JSON)" });
  const report = h("div", { id: "config-report", "aria-live": "polite" });
  const path = h("p", { class: "muted" });
  let running = null;
  const parse = () => {
    try {
      return JSON.parse(editor.value);
    } catch (e) {
      fill(report, badge("invalid JSON", "bad"), ` ${e.message}`);
      return null;
    }
  };
  const validate = async () => {
    const doc = parse();
    if (!doc) return false;
    const result = (await call("config_validate", { body: doc })).data;
    fill(report, result.valid ? [badge("valid", "ok"), " The proxy accepts this configuration."]
      : [badge("invalid", "bad"), h("ul", {}, result.errors.map((e) => h("li", {}, h("code", {}, e.field), `: ${e.message}`)))]);
    return result.valid;
  };
  const showDiff = () => {
    const doc = parse();
    if (!doc) return;
    const lines = diffLines(json(running), json(doc)).filter((l) => l.op !== " ");
    fill(report, lines.length ? h("pre", { id: "config-diff" }, lines.map((l) => h("div", { class: l.op === "-" ? "log-ERROR" : "" }, `${l.op} ${l.line}`))) : h("p", {}, "No change."));
  };
  const apply = async () => {
    if (!(await validate())) return;
    showDiff();
    if (!window.confirm("Apply this configuration to the running proxy and save it?")) return;
    const result = (await call("config_apply", { body: parse() })).data;
    toast(result.requires_restart ? `Saved; restart needed: ${result.restart_reason || ""}` : `Applied: ${result.changed_fields.join(", ") || "no change"}`);
    await load();
  };
  const button = (label, fn, cls) => h("button", { type: "button", class: cls, onclick: () => fn().catch((e) => toast(e.message, "bad")) }, label);
  fill(main, h("h1", {}, "Configuration"), path,
    h("div", { class: "row" }, button("Validate", validate), button("Show diff", async () => showDiff()), button("Apply…", apply, "primary"), button("Reload", async () => load())),
    report, editor);
  const load = async () => {
    const view = (await call("config_get")).data;
    if (!ctx.current) return;
    running = view.config;
    path.textContent = view.config_path;
    editor.value = json(view.config);
  };
  ctx.on("config.reloaded", async () => {
    const view = (await call("config_get")).data;
    running = view.config;
  });
  await load();
}
