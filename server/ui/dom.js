// DOM helpers: elements are built with h(), never from HTML strings, so text from the
// API (tool descriptions, log lines, errors) can never become markup.

/**
 * Build an element. `props`: `class`, `text`, `on<event>` handlers, `dataset`, and any
 * attribute (`false`/`null`/`undefined` values are left out). Children: nodes, strings,
 * numbers, arrays of them; null and false are skipped.
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A coloured label. @param {string} text @param {"ok"|"warn"|"bad"|"info"|""} [tone] */
export function badge(text, tone = "") {
  return h("span", { class: `badge ${tone}`.trim() }, text);
}

/** A date-time for people, in the browser's locale; "—" for none. */
export function when(value) {
  if (!value) return "—";
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

/** Pretty JSON. */
export function json(value) {
  return JSON.stringify(value, null, 2);
}

/** A transient message at the corner of the page. */
export function toast(message, tone = "") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", { class: `toast ${tone}`.trim() }, message);
  box.append(item);
  setTimeout(() => item.remove(), tone === "bad" ? 8000 : 4000);
}

/**
 * A button that runs `action`, disabled while it runs; failures become a toast.
 * @param {string} label @param {() => Promise<any>} action @param {Record<string, any>} [props]
 */
export function actionButton(label, action, props = {}) {
  const button = h("button", { type: "button", ...props }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } catch (e) {
      toast(`${label}: ${e.message}`, "bad");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/**
 * `text` with the byte ranges `[start, end)` marked (the scanner's spans are UTF-8 byte
 * offsets).
 * @param {string} text @param {{start: number, end: number, reason?: string}[]} spans
 */
export function highlighted(text, spans) {
  const bytes = new TextEncoder().encode(text);
  const decode = (a, b) => new TextDecoder().decode(bytes.slice(a, b));
  const sorted = [...spans].filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const span of sorted) {
    if (span.start < at) continue;
    out.push(decode(at, span.start));
    out.push(h("mark", { title: span.reason || "" }, decode(span.start, span.end)));
    at = span.end;
  }
  out.push(decode(at, bytes.length));
  return out;
}

/** A table from rows; `columns`: [header, (row) => cell, className?]. */
export function table(columns, rows, { caption, empty = "Nothing yet." } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    {},
    caption ? h("caption", { class: "hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, columns.map(([title, , cls]) => h("th", { scope: "col", class: cls }, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell, cls]) => h("td", { class: cls }, cell(row)))))),
  );
}
