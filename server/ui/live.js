// Live updates: one EventSource on /events for the whole page. Pages subscribe to event
// kinds with on(); the indicator in the header shows whether the stream is up. The
// browser reconnects by itself (the server asks for retry: 5000); on reconnect, and when
// the server says the stream fell behind a burst ("resync"), every subscriber of
// "reconnected" refreshes, since events may have been missed. A page that shows a
// server's log asks for its lines with follow(name): the stream is reopened with
// `?logs=<name>` (and "reconnected" sent, for the moment between), and reopened without
// it when the page is left.

const handlers = new Map();
let source = null;
let wasDown = false;
let baseUrl = "";
let indicator = null;
let followed = null;

/** Every event kind the server publishes (server/src/events) plus status and ping. */
export const KINDS = [
  "status", "ping", "servers.changed", "config.reloaded", "config.saved", "config.invalid",
  "tools.indexed", "secrets.changed", "tools.changed", "auth.changed", "tool_call.recorded",
  "log", "log.missed",
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

/** Open the stream at `url`; `where` shows its state. */
export function start(url, where) {
  baseUrl = url;
  indicator = where;
  open(false);
}

function open(reopened) {
  const show = (state, text) => {
    indicator.dataset.state = state;
    indicator.textContent = text;
  };
  source?.close();
  const url = followed ? `${baseUrl}&logs=${encodeURIComponent(followed)}` : baseUrl;
  const mine = new EventSource(url);
  source = mine;
  mine.addEventListener("open", () => {
    show("live", "live");
    if (wasDown || reopened) dispatch("reconnected", {});
    wasDown = false;
    reopened = false;
  });
  mine.addEventListener("error", () => {
    wasDown = true;
    show(mine.readyState === EventSource.CLOSED ? "down" : "connecting", "reconnecting…");
  });
  mine.addEventListener("resync", () => dispatch("reconnected", {}));
  for (const kind of KINDS) {
    mine.addEventListener(kind, (event) => {
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
 * Have the stream carry `server`'s log lines ("log" events) until the returned function
 * is called.
 * @param {string} server @returns {() => void}
 */
export function follow(server) {
  followed = server;
  if (baseUrl) open(true);
  return () => {
    if (followed !== server) return;
    followed = null;
    if (baseUrl) open(true);
  };
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

/**
 * A refresh driven by events: `fn` at most once per `ms` (a burst costs one run), never two
 * runs at once, and one more run when events came during a run. So answers are applied in
 * order and the last run always starts after the last event: a slow older answer can never
 * overwrite a newer one. `.now()` runs at once (after a run in flight) and rejects with
 * the run's error; a scheduled run's error is shown as a toast.
 * @param {() => Promise<any>} fn @param {number} [ms]
 */
export function coalesce(fn, ms = 150) {
  let timer = null;
  let running = null;
  let again = false;
  const start = () => {
    timer = null;
    const done = (async () => fn())();
    running = done.then(() => {}, () => {}).then(() => {
      running = null;
      if (again) {
        again = false;
        schedule();
      }
    });
    return done;
  };
  const schedule = () => {
    if (running) {
      again = true;
    } else if (!timer) {
      timer = setTimeout(() => start().catch((e) => failed(e)), ms);
    }
  };
  schedule.now = async () => {
    if (timer) clearTimeout(timer);
    timer = null;
    while (running) await running;
    return start();
  };
  return schedule;
}

let failed = (e) => console.warn(e);

/** Where a scheduled refresh's failure is shown (app.js sets a toast). */
export function onRefreshError(fn) {
  failed = fn;
}
