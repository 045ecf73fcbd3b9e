// Secrets: every secret the configuration references or the store holds, where it is
// used and whether it resolves; set and delete. Values are never shown (the API never
// returns them); the value field is a password field cleared after storing.

import { call } from "../api.js";
import { h, fill, badge, table, actionButton, toast } from "../dom.js";
import { coalesce } from "../live.js";

export async function render(main, ctx) {
  const list = h("div", { id: "secrets" });
  const name = h("input", { id: "secret-name", autocomplete: "off", required: true });
  const value = h("input", { id: "secret-value", type: "password", autocomplete: "new-password", required: true });
  const form = h("form", { class: "row panel", "aria-label": "Set a secret" },
    h("div", {}, h("label", { for: "secret-name" }, "Name"), name),
    h("div", {}, h("label", { for: "secret-value" }, "Value (never shown again)"), value),
    h("button", { type: "submit", class: "primary" }, "Store"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const stored = (await call("secret_store", { body: { name: name.value.trim(), value: value.value } })).data;
      toast(`Stored; reference it as ${stored.reference}`);
      form.reset();
    } catch (e) {
      toast(e.message, "bad");
    }
  });
  fill(main, h("h1", {}, "Secrets"), form, list);
  const load = async () => {
    const secrets = (await call("secret_list")).data.secrets;
    if (!ctx.current) return;
    fill(list, table(
      [
        ["Reference", (s) => h("code", {}, s.reference)],
        ["Store", (s) => s.type],
        ["State", (s) => (s.is_set ? badge("set", "ok") : badge("missing", "bad"))],
        ["Used by", (s) => (s.used_by.length ? s.used_by.map((n, i) => [i ? ", " : "", h("a", { href: `#/servers/${encodeURIComponent(n)}` }, n)]) : "—")],
        ["", (s) => s.type === "keyring" ? h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => { name.value = s.name; value.focus(); }, "aria-label": `Set ${s.name}` }, "Set"),
          s.is_set ? actionButton("Delete", async () => {
            if (!window.confirm(`Delete the secret ${s.name}?`)) return;
            await call("secret_delete", { path: { name: s.name } });
            toast(`${s.name} deleted`);
          }, { class: "danger", "aria-label": `Delete ${s.name}` }) : null) : null],
      ],
      secrets,
      { empty: "No secrets referenced or stored." },
    ));
  };
  const refresh = coalesce(load, 100);
  ctx.on(["secrets.changed", "config.reloaded", "reconnected"], refresh);
  await refresh.now();
}
