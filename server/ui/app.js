// The panel's entry point: adopt the API key, open the live stream, and route
// `#/page/param` to the page modules (loaded on first visit). Each page gets a context
// whose event subscriptions end when the person navigates away.

import { adoptKey, eventsUrl, call, ApiError } from "./api.js";
import { h, fill, toast } from "./dom.js";
import * as live from "./live.js";

const PAGES = {
  "": () => import("./pages/dashboard.js"),
  servers: () => import("./pages/servers.js"),
  server: () => import("./pages/server.js"),
  tools: () => import("./pages/tools.js"),
  activity: () => import("./pages/activity.js"),
  sessions: () => import("./pages/sessions.js"),
  secrets: () => import("./pages/secrets.js"),
  config: () => import("./pages/config.js"),
  diagnostics: () => import("./pages/diagnostics.js"),
};

const main = document.getElementById("main");
const banner = document.getElementById("banner");
let leave = [];
let generation = 0;

function showBanner(...content) {
  fill(banner, ...content);
  banner.hidden = false;
}

/** `#/servers/fx?x=1` → {page: "server", params: ["fx"], query}. */
function parse(hash) {
  const [path, search = ""] = hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let page = parts[0] || "";
  if (page === "servers" && parts.length > 1) page = "server";
  return { page, params: parts.slice(1), query: new URLSearchParams(search) };
}

async function route() {
  const mine = ++generation;
  leave.forEach((fn) => fn());
  leave = [];
  const { page, params, query } = parse(window.location.hash);
  const load = PAGES[page];
  for (const link of document.querySelectorAll("#nav a")) {
    const target = parse(link.getAttribute("href")).page;
    const current = target === page || (target === "servers" && page === "server");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!load) {
    fill(main, h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/" }, "Back to the dashboard")));
    return;
  }
  const ctx = {
    params,
    query,
    /** Subscribe for as long as this page is shown. */
    on(kinds, fn) {
      leave.push(live.on(kinds, fn));
    },
    /** Run `fn` when the person navigates away. */
    onLeave(fn) {
      leave.push(fn);
    },
    /** Whether the page is still the one shown (an await may outlive it). */
    get current() {
      return mine === generation;
    },
  };
  try {
    const module = await load();
    if (mine !== generation) return;
    fill(main);
    await module.render(main, ctx);
    if (mine === generation) document.title = `${main.querySelector("h1")?.textContent || "mcpproxy"} · mcpproxy`;
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.status === 401) return; // the banner says it
    console.error(e);
    fill(main, h("h1", {}, "Something went wrong"), h("pre", {}, String(e.message || e)));
  }
}

async function boot() {
  const key = adoptKey();
  if (!key) {
    showBanner(
      "No API key: open the panel with the link the proxy prints (web_ui_url, ",
      h("code", {}, "mcpproxy status"),
      "), which carries ?apikey=.",
    );
  }
  try {
    await call("status_get");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showBanner("The API key was refused. Open the panel again with the link from ", h("code", {}, "mcpproxy status"), ".");
      fill(main, h("h1", {}, "Not signed in"));
      return;
    }
  }
  live.onRefreshError((e) => toast(`Could not refresh: ${e.message}`, "bad"));
  live.start(eventsUrl(), document.getElementById("live"));
  live.on("config.invalid", (event) => {
    const payload = event.payload || {};
    showBanner(
      "The configuration file on disk is invalid; the proxy keeps running the last good one. ",
      payload.error ? h("code", {}, String(payload.error)) : null,
      " ",
      h("a", { href: "#/config" }, "Open the configuration"),
    );
  });
  live.on("config.reloaded", () => {
    banner.hidden = true;
  });
  window.addEventListener("hashchange", route);
  await route();
}

boot();
