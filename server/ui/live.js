// Live updates: one EventSource on /events for the whole page. Pages subscribe to event
// kinds with on(); the indicator in the header shows whether the stream is up. The
// browser reconnects by itself (the server asks for retry: 5000); on reconnect every
// subscriber of "reconnected" refreshes, since events may have been missed.

const handlers = new Map();
let source = null;
let wasDown = false;

/** Every event kind the server publishes (server/src/events) plus status and ping. */
export const KINDS = [
  "status", "ping", "servers.changed", "config.reloaded", "config.saved", "config.invalid",
  "tools.indexed", "secrets.changed", "tools.changed", "auth.changed", "tool_call.recorded",
];

function dispatch(kind, data) {
  for (const fn of handlers.get(kind) || []) {
    try {
      fn(data);
    } catch (e) {
      console.error(`handler of ${kind} failed`, e);
    }
  }
}

/** Open the stream at `url`; `indicator` shows its state. */
export function start(url, indicator) {
  const show = (state, text) => {
    indicator.dataset.state = state;
    indicator.textContent = text;
  };
  source = new EventSource(url);
  source.addEventListener("open", () => {
    show("live", "live");
    if (wasDown) dispatch("reconnected", {});
    wasDown = false;
  });
  source.addEventListener("error", () => {
    wasDown = true;
    show(source.readyState === EventSource.CLOSED ? "down" : "connecting", "reconnecting…");
  });
  for (const kind of KINDS) {
    source.addEventListener(kind, (event) => {
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      dispatch(kind, data);
    });
  }
}

/**
 * Run `fn(data)` for each event of `kind` (or of any of `kinds`); returns the unsubscribe.
 * @param {string|string[]} kinds @param {(data: any) => void} fn
 */
export function on(kinds, fn) {
  const list = Array.isArray(kinds) ? kinds : [kinds];
  for (const kind of list) {
    if (!handlers.has(kind)) handlers.set(kind, new Set());
    handlers.get(kind).add(fn);
  }
  return () => list.forEach((kind) => handlers.get(kind)?.delete(fn));
}

/** `fn` at most once per `ms`, trailing: bursts of events cost one refresh. */
export function coalesce(fn, ms = 150) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
