// What the browser runs of the web panel share: the proxy's address and key, launching
// headless Chromium through playwright-core with the suite's flags, REST calls, and waits
// on the page. Environment: MCPPROXY_URL, MCPPROXY_KEY, PLAYWRIGHT_CORE (path of the
// installed module), CHROMIUM (default /usr/bin/chromium), SHOTS_DIR (screenshots).

import { pathToFileURL } from "node:url";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const BASE = process.env.MCPPROXY_URL;
export const KEY = process.env.MCPPROXY_KEY;
const SHOTS = process.env.SHOTS_DIR;
const playwright = await import(pathToFileURL(process.env.PLAYWRIGHT_CORE).href);
const { chromium } = playwright.default ?? playwright;

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** The run's state: the current step (named in every failure), timings and problems. */
export const run = { step: "start", timings: {}, problems: [] };

/** Headless Chromium; launch() gives every run a fresh temporary profile of its own. */
export async function launch() {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: FLAGS, headless: true });
}

/** A page whose console errors and page errors are recorded as problems. */
export async function watchedPage(context) {
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") run.problems.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => run.problems.push(`page error: ${err.message}`));
  page.on("dialog", (dialog) => dialog.accept());
  return page;
}

/** Print the one JSON line of the outcome and exit (1 on any failure or problem). */
export function finish(error) {
  if (error) run.problems.push(error.message);
  console.log(JSON.stringify({ ok: run.problems.length === 0, timings: run.timings, problems: run.problems }));
  process.exit(run.problems.length ? 1 : 0);
}

export function check(condition, message) {
  if (!condition) throw new Error(`${run.step}: ${message}`);
}

export async function rest(method, path, body) {
  const resp = await fetch(BASE + path, {
    method,
    headers: { "X-API-Key": KEY, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await resp.json();
  check(resp.ok && json.success !== false, `${method} ${path} → ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

export const server = async (name) => (await rest("GET", "/api/v1/servers")).data.servers.find((s) => s.name === name);

/** Poll `probe` (REST) until truthy. */
export async function until(what, probe, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    check(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until `selector` matches a count of elements satisfying `pred`; the ms taken. */
export async function pageCount(page, selector, pred, what, timeout = 10000) {
  const started = Date.now();
  let now = 0;
  for (;;) {
    now = await page.evaluate((sel) => document.querySelectorAll(sel).length, selector);
    if (pred(now)) return Date.now() - started;
    if (Date.now() - started > timeout) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${run.step}: the page did not show ${what} within ${timeout} ms (now: ${now})`);
}

export async function shot(page, name) {
  await page.evaluate(() => document.getElementById("toasts")?.replaceChildren());
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Text of the first match, waiting for it. */
export async function textOf(page, selector, timeout = 10000) {
  return (await page.locator(selector).first().textContent({ timeout })).trim();
}

/** Wait until the page's `selector` text satisfies `pred`; return the milliseconds taken.
 * Polled from here (every 20 ms): waitForFunction would need eval, which the page's CSP
 * forbids. */
export async function pageShows(page, selector, pred, what, timeout = 10000) {
  const started = Date.now();
  let now = "absent";
  for (;;) {
    now = await page.evaluate((sel) => document.querySelector(sel)?.textContent.trim() ?? null, selector);
    if (now !== null && pred(now)) return Date.now() - started;
    if (Date.now() - started > timeout) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${run.step}: the page did not show ${what} within ${timeout} ms (now: ${now})`);
}

