// The panel at the scale: 200 servers (`big-0`..`big-9` connected with 514 tools
// each, `idle-000`.. disabled; main.rs sets them up), about 5,000 tools. Measures the
// servers page's first render, filtering, a 514-tool server page, a search and (with
// SCALE_LIVE=1) a live update;
// main.rs holds the budgets. Any console or page error fails the run.

import { BASE, KEY, run, launch, watchedPage, finish, rest, pageCount, pageShows } from "./harness.mjs";

const browser = await launch();
let error = null;
try {
  const page = await watchedPage(await browser.newContext({ viewport: { width: 1280, height: 860 } }));

  // Every servers-list request with its start and end (ms from the page load; a failure
  // of the live update below prints them).
  const t0 = Date.now();
  const lists = [];
  page.on("request", (r) => r.url().endsWith("/api/v1/servers") && lists.push(`start@${Date.now() - t0}`));
  page.on("requestfinished", (r) => r.url().endsWith("/api/v1/servers") && lists.push(`end@${Date.now() - t0}`));
  page.on("requestfailed", (r) => r.url().endsWith("/api/v1/servers") && lists.push(`failed@${Date.now() - t0}`));

  run.step = "servers page";
  let started = Date.now();
  await page.goto(`${BASE}/ui/?apikey=${encodeURIComponent(KEY)}#/servers`);
  await pageCount(page, "#servers-table tbody tr", (n) => n === 200, "200 rows", 20000);
  run.timings.servers_page_ms = Date.now() - started;
  await pageShows(page, "#live", (t) => t === "live", "the live indicator");

  run.step = "filter";
  started = Date.now();
  await page.fill("#server-filter", "big-");
  await pageCount(page, "#servers-table tbody tr", (n) => n === 10, "10 rows for big-");
  await page.fill("#server-filter", "");
  await pageCount(page, "#servers-table tbody tr", (n) => n === 200, "200 rows again");
  run.timings.filter_twice_ms = Date.now() - started;

  // Only when asked (SCALE_LIVE=1): intermittently the 200-row page misses this change;
  // main.rs keeps it in an ignored test until that is understood.
  if (process.env.SCALE_LIVE) {
    run.step = "live update";
    const disabledAt = Date.now() - t0;
    await rest("POST", "/api/v1/servers/big-0/disable");
    try {
      run.timings.live_update_ms = await pageShows(page, "tr[data-server=big-0] td.state", (t) => t === "disabled", "big-0 disabled", 8000);
    } catch (e) {
      const live = await page.evaluate(() => [document.querySelector("#live")?.dataset.state, document.getElementById("toasts").textContent]);
      throw new Error(`${e.message}; live: ${live}; disabled at ${disabledAt}; server lists: ${lists.join(",")}`);
    }
  }

  run.step = "a server with 514 tools";
  started = Date.now();
  await page.goto(`${BASE}/ui/#/servers/big-1`);
  await pageCount(page, "#tools tbody tr", (n) => n === 514, "514 tool rows", 20000);
  run.timings.server_page_514_tools_ms = Date.now() - started;

  run.step = "search";
  started = Date.now();
  await page.goto(`${BASE}/ui/#/tools?q=synthetic`);
  await pageCount(page, "#tool-results tbody tr", (n) => n === 20, "20 hits", 20000);
  run.timings.search_ms = Date.now() - started;
} catch (e) {
  error = e;
} finally {
  await browser.close();
}
finish(error);
