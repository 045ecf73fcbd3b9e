// The one way the panel talks to the proxy: call(operationId, {path, query, body}), with the
// operations and schemas of api-spec.js (generated from oas/swagger.yaml). An operation,
// a path or query parameter or a body the spec does not have is an error before any
// request; every answer is checked against its schema's required fields, and a missing
// one is logged as a console error (the browser tests fail on those).

import { OPERATIONS, SCHEMAS } from "./api-spec.js";

const KEY_STORE = "mcpproxy.apikey";

/**
 * Move `?apikey=` from the address bar to sessionStorage (web_ui_url carries it there)
 * and return the key, or null when the page was opened without one.
 */
export function adoptKey() {
  const url = new URL(window.location.href);
  const key = url.searchParams.get("apikey");
  if (key) {
    sessionStorage.setItem(KEY_STORE, key);
    url.searchParams.delete("apikey");
    const query = url.searchParams.toString();
    history.replaceState(history.state, "", url.pathname + (query ? `?${query}` : "") + url.hash);
  }
  return sessionStorage.getItem(KEY_STORE);
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORE) || "";
}

/** An error answer of the API (its envelope), or a transport failure (status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function fillPath(id, template, params) {
  return template.replace(/\{(\w+)\}/g, (_, name) => {
    if (!(name in params)) throw new Error(`${id}: missing path parameter ${name}`);
    return encodeURIComponent(String(params[name]));
  });
}

/**
 * Call an operation of the API.
 * @param {string} id operationId in oas/swagger.yaml
 * @param {{path?: Record<string, any>, query?: Record<string, any>, body?: any}} [args]
 */
export async function call(id, { path = {}, query = {}, body } = {}) {
  const op = OPERATIONS[id];
  if (!op) throw new Error(`unknown API operation ${id}`);
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (!op.query.includes(name)) throw new Error(`${id} has no query parameter ${name}`);
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  if (body !== undefined && op.body === "none") throw new Error(`${id} takes no body`);
  if (body === undefined && op.body === "required") throw new Error(`${id} needs a body`);
  const headers = { "X-API-Key": apiKey(), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const url = fillPath(id, op.path, path) + (search.size ? `?${search}` : "");
  let resp;
  try {
    resp = await fetch(url, {
      method: op.method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "NETWORK", `the proxy did not answer (${e.message})`);
  }
  const answer = await resp.json().catch(() => null);
  if (!resp.ok || !answer || answer.success === false) {
    throw new ApiError(resp.status, answer?.code || `HTTP_${resp.status}`, answer?.error || resp.statusText);
  }
  if (op.response) conform(op.response, answer, `${id}:`);
  return answer;
}

const reported = new Set();

/** Check `value` against the required fields of `schema`, recursively; log each gap once. */
function conform(schema, value, where, depth = 0) {
  const def = SCHEMAS[schema];
  if (!def || depth > 6 || value === null || typeof value !== "object") return;
  for (const field of def.required) {
    if (!(field in value) && !reported.has(`${where}${field}`)) {
      reported.add(`${where}${field}`);
      console.error(`API answer does not match oas/swagger.yaml: ${where} ${schema}.${field} is missing`);
    }
  }
  for (const [field, kind] of Object.entries(def.fields)) {
    const child = value[field];
    if (child === undefined || child === null) continue;
    if (kind.startsWith("[") && Array.isArray(child)) {
      const item = kind.slice(1, -1);
      for (const entry of child.slice(0, 20)) conform(item, entry, `${where}${field}[]`, depth + 1);
    } else if (SCHEMAS[kind]) {
      conform(kind, child, `${where}${field}.`, depth + 1);
    }
  }
}

/** The URL of the live event stream; EventSource cannot send headers, so the key rides
 * in the query, as the API allows for `/events`. */
export function eventsUrl() {
  return `${OPERATIONS.events_stream.path}?apikey=${encodeURIComponent(apiKey())}`;
}
