// A key/value editor for a server's environment or headers: one row per entry (name,
// value, remove) and an Add button. A value the proxy masked (`********`: it never sends a
// secret back) is never put in a field: its row says the value is hidden and kept, and
// saving sends the mask back unchanged, which the proxy resolves to the stored value at the
// same key (config/unmask). Secret references (`${keyring:NAME}`, `${env:NAME}`) are not
// secret and are shown as they are.

import { h } from "../dom.js";

/** What the proxy sends in place of a secret value. */
export const MASK = "********";

const REFERENCE = /\$\{(keyring|env):[^}]+\}/;

/**
 * @param {string} id prefix of the controls' ids, e.g. "edit-env"
 * @param {string} title what the entries are, e.g. "Environment"
 * @param {Record<string, string>} entries the current map, as the proxy shows it
 * @param {{namePattern: RegExp, nameRule: string}} rules what a name must look like
 * @returns {{element: HTMLElement, read: () => {map: Record<string, string>, errors: string[]}, changed: () => boolean}}
 */
export function pairsEditor(id, title, entries, { namePattern, nameRule }) {
  const rows = h("div", { class: "pairs", id });
  let next = 0;
  const add = (key = "", value = "") => {
    const n = next++;
    const masked = value.includes(MASK);
    const name = h("input", { id: `${id}-name-${n}`, value: key, autocomplete: "off", "aria-label": `${title} name ${n + 1}` });
    const input = h("input", {
      id: `${id}-value-${n}`,
      value: masked ? "" : value,
      autocomplete: "off",
      placeholder: masked ? "hidden secret: kept unless you type a new value" : "value or ${keyring:NAME}",
      "aria-label": `${title} value ${n + 1}`,
      dataset: masked ? { masked: "" } : undefined,
    });
    const row = h("div", { class: "pair row", dataset: { pair: key } }, name, input,
      REFERENCE.test(value) ? h("span", { class: "badge info" }, "reference") : null,
      masked ? h("span", { class: "badge warn" }, "hidden") : null,
      h("button", { type: "button", "aria-label": `Remove ${title} entry ${n + 1}`, onclick: () => row.remove() }, "Remove"));
    // The original (possibly masked) value: sent back when the field is left empty.
    row.original = masked ? value : null;
    row.read = () => [name.value.trim(), input.value === "" && row.original !== null ? row.original : input.value];
    rows.append(row);
    return row;
  };
  for (const [key, value] of Object.entries(entries || {})) add(key, String(value));
  const addButton = h("button", { type: "button", onclick: () => add().querySelector("input")?.focus() }, `Add ${title.toLowerCase()} entry`);
  const element = h("fieldset", { class: "pairs-box" }, h("legend", {}, title), rows, addButton);
  const read = () => {
    const map = {};
    const errors = [];
    for (const row of rows.querySelectorAll(".pair")) {
      const [key, value] = row.read();
      if (!key && !value) continue;
      if (!namePattern.test(key)) errors.push(`${title.toLowerCase()}: "${key}" is not a valid name (${nameRule})`);
      else if (key in map) errors.push(`${title.toLowerCase()}: ${key} is given twice`);
      else map[key] = value;
    }
    return { map, errors };
  };
  const original = JSON.stringify(Object.entries(entries || {}).sort());
  const changed = () => JSON.stringify(Object.entries(read().map).sort()) !== original;
  return { element, read, changed };
}

/** Environment variable names: what a process environment can hold. */
export const ENV_RULES = { namePattern: /^[^=\s]+$/, nameRule: "no spaces or '='" };
/** HTTP header names: an RFC 9110 token. */
export const HEADER_RULES = { namePattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, nameRule: "letters, digits and -" };
