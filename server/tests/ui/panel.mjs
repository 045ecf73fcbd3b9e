// Drives the web panel in headless Chromium (playwright-core) against a running proxy.
// Environment: MCPPROXY_URL, MCPPROXY_KEY, PLAYWRIGHT_CORE (path of the installed module),
// CHROMIUM (default /usr/bin/chromium), SHOTS_DIR (screenshots). Each step asserts what
// the page shows and, for actions, the state over REST. Any console error or page error
// fails the run. Prints one JSON line of timings at the end; exit status 1 on failure.

import { pathToFileURL } from "node:url";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const BASE = process.env.MCPPROXY_URL;
const KEY = process.env.MCPPROXY_KEY;
const SHOTS = process.env.SHOTS_DIR;
const playwright = await import(pathToFileURL(process.env.PLAYWRIGHT_CORE).href);
const { chromium } = playwright.default ?? playwright;

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const timings = {};
const problems = [];
let step = "start";

function check(condition, message) {
  if (!condition) throw new Error(`${step}: ${message}`);
}

async function rest(method, path, body) {
  const resp = await fetch(BASE + path, {
    method,
    headers: { "X-API-Key": KEY, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await resp.json();
  check(resp.ok && json.success !== false, `${method} ${path} → ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

const server = async (name) => (await rest("GET", "/api/v1/servers")).data.servers.find((s) => s.name === name);

/** Poll `probe` (REST) until truthy. */
async function until(what, probe, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    check(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until `selector` matches a count of elements satisfying `pred`; the ms taken. */
async function pageCount(page, selector, pred, what, timeout = 10000) {
  const started = Date.now();
  let now = 0;
  for (;;) {
    now = await page.evaluate((sel) => document.querySelectorAll(sel).length, selector);
    if (pred(now)) return Date.now() - started;
    if (Date.now() - started > timeout) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${step}: the page did not show ${what} within ${timeout} ms (now: ${now})`);
}

async function shot(page, name) {
  await page.evaluate(() => document.getElementById("toasts")?.replaceChildren());
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Text of the first match, waiting for it. */
async function textOf(page, selector, timeout = 10000) {
  return (await page.locator(selector).first().textContent({ timeout })).trim();
}

/** Wait until the page's `selector` text satisfies `pred`; return the milliseconds taken.
 * Polled from here (every 20 ms): waitForFunction would need eval, which the page's CSP
 * forbids. */
async function pageShows(page, selector, pred, what, timeout = 10000) {
  const started = Date.now();
  let now = "absent";
  for (;;) {
    now = await page.evaluate((sel) => document.querySelector(sel)?.textContent.trim() ?? null, selector);
    if (now !== null && pred(now)) return Date.now() - started;
    if (Date.now() - started > timeout) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${step}: the page did not show ${what} within ${timeout} ms (now: ${now})`);
}

if (SHOTS) mkdirSync(SHOTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // launch() gives every run a fresh temporary profile (user-data-dir) of its own.
  args: FLAGS,
  headless: true,
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("dialog", (dialog) => dialog.accept());

  step = "load";
  const started = Date.now();
  await page.goto(`${BASE}/ui/?apikey=${encodeURIComponent(KEY)}`);
  await pageShows(page, "[data-count=total_servers]", (t) => t === "2", "2 servers");
  timings.first_render_ms = Date.now() - started;
  check(!page.url().includes("apikey"), `the key is still in the address bar: ${page.url()}`);
  check(await page.evaluate(() => sessionStorage.getItem("mcpproxy.apikey")) === KEY, "the key is not in sessionStorage");
  await pageShows(page, "#live", (t) => t === "live", "the live indicator");

  step = "dashboard";
  await pageShows(page, "[data-count=connected_servers]", (t) => t === "1", "1 connected");
  await pageShows(page, "[data-count=quarantined_servers]", (t) => t === "1", "1 quarantined");
  await pageShows(page, "[data-count=total_tools]", (t) => Number(t) > 0, "a tool count");
  await pageShows(page, "#diagnostics", (t) => t.includes("quar"), "the quarantined server's diagnostic");
  check(await page.locator("#diagnostics a.button", { hasText: "Review and approve" }).count() > 0, "no Review button in diagnostics");
  await pageShows(page, "#recent-calls", (t) => t.includes("fx:echo") && t.includes("it-client"), "the agent's call");
  const calls = await page.evaluate(() => document.querySelectorAll("#recent-calls tbody tr").length);
  await rest("POST", "/api/v1/tools/call", { tool_name: "fx:echo", arguments: { message: "live" } });
  timings.call_to_dashboard_ms = await pageCount(page, "#recent-calls tbody tr", (n) => n === calls + 1, "the new call", 1000);
  await shot(page, "dashboard");

  step = "dashboard live";
  await rest("POST", "/api/v1/servers/fx/disable");
  timings.disable_to_dashboard_ms = await pageShows(page, "[data-count=connected_servers]", (t) => t === "0", "0 connected after a REST disable", 1000);
  await rest("POST", "/api/v1/servers/fx/enable");
  await pageShows(page, "[data-count=connected_servers]", (t) => t === "1", "1 connected after a REST enable", 20000);

  step = "servers";
  await page.click("nav >> text=Servers");
  await page.waitForSelector("tr[data-server=fx] td.state");
  check((await textOf(page, "tr[data-server=quar] td.state")) === "quarantined", "quar is not shown quarantined");
  await page.click("button[aria-label='Disable fx']");
  await pageShows(page, "tr[data-server=fx] td.state", (t) => t === "disabled", "fx disabled");
  check((await server("fx")).enabled === false, "fx still enabled over REST");
  await page.click("button[aria-label='Enable fx']");
  await until("fx enabled over REST", async () => (await server("fx")).enabled);
  await pageShows(page, "tr[data-server=fx] td.state", (t) => t === "ready", "fx ready again", 20000);
  // A change over REST shows in the open table without reload.
  await rest("POST", "/api/v1/servers/fx/quarantine", { quarantined: true });
  timings.quarantine_to_table_ms = await pageShows(page, "tr[data-server=fx] td.state", (t) => t === "quarantined", "fx quarantined after a REST quarantine", 1000);
  await rest("POST", "/api/v1/servers/fx/unquarantine", {});
  await pageShows(page, "tr[data-server=fx] td.state", (t) => t === "ready", "fx ready after approval", 20000);
  await shot(page, "servers");

  step = "review";
  await page.click("a[aria-label='Review quar']");
  await page.waitForSelector("#review #plan-runs");
  check((await textOf(page, "#plan-runs")).includes("mcp-fixture"), "the plan does not show the command");
  await page.click("#inspect");
  await page.waitForSelector("#inspection .tool-review", { timeout: 20000 });
  check(await page.locator("#inspection .tool-review").count() > 3, "the inspection lists too few tools");
  await shot(page, "server-review");
  await page.click("#approve");
  await until("quar approved over REST", async () => !(await server("quar")).quarantined);
  await pageShows(page, "h1", (t) => !t.includes("quarantined"), "the approved state");
  await page.waitForSelector("#tools tr[data-tool=echo]", { timeout: 20000 });

  step = "changed tool";
  await page.goto(`${BASE}/ui/#/servers/fx`);
  await page.waitForSelector("#tools tr[data-tool=echo]", { timeout: 20000 });
  check((await textOf(page, "#tools tr[data-tool=echo]")).includes("approved"), "echo is not shown approved");
  const before = Date.now();
  await rest("POST", "/api/v1/tools/call", { tool_name: "fx:set_description", arguments: { tool: "echo", description: "Echo a message back, LOUDLY" } });
  await page.waitForSelector(".changed-tool[data-tool=echo] .diff", { timeout: 20000 });
  timings.tool_change_to_diff_ms = Date.now() - before;
  check((await textOf(page, ".changed-tool[data-tool=echo] .diff")).includes("LOUDLY"), "the diff does not show the new description");
  await shot(page, "server-diff");
  await page.click("text=Approve echo");
  await page.waitForSelector(".changed-tool[data-tool=echo]", { state: "detached", timeout: 10000 });
  const tools = (await rest("GET", "/api/v1/servers/fx/tools")).data.tools;
  check(tools.find((t) => t.name === "echo")?.approval?.status === "approved", "echo is not approved over REST");
  await page.waitForSelector("#logs div");

  step = "tools";
  await page.click("nav >> text=Tools");
  await page.fill("#tool-query", "echo message");
  await page.press("#tool-query", "Enter");
  await page.click("button[aria-label='Open fx:echo']");
  await page.waitForSelector("#try-it #arg-message");
  await page.fill("#arg-message", "hello from the panel");
  await page.click("#try-it button[type=submit]");
  await pageShows(page, "#try-result", (t) => t.includes("Echo: hello from the panel"), "the call's result", 15000);
  await shot(page, "tools");

  step = "activity";
  await page.click("nav >> text=Activity");
  await page.waitForSelector("tr[data-call]");
  await page.locator("tr[data-call] button").first().click();
  await pageShows(page, "#call-detail", (t) => t.includes("hello from the panel"), "the call's arguments");
  await page.click("#replay");
  await until("a replayed call", async () => (await rest("GET", "/api/v1/tool-calls?limit=20")).data.tool_calls.some((c) => c.replayed_from));
  await pageShows(page, "#call-detail", (t) => t.includes("Replay of"), "the replayed call's detail");
  await shot(page, "activity");

  step = "sessions";
  await page.click("nav >> text=Sessions");
  await pageShows(page, "#sessions", (t) => t.includes("it-client"), "the agent's session");
  await shot(page, "sessions");

  step = "secrets";
  await page.click("nav >> text=Secrets");
  await page.fill("#secret-name", "ui-test-token");
  await page.fill("#secret-value", "s3cr3t-value");
  await page.click("form[aria-label='Set a secret'] button[type=submit]");
  await pageShows(page, "#secrets", (t) => t.includes("${keyring:ui-test-token}"), "the stored secret");
  check(!(await page.content()).includes("s3cr3t-value"), "the secret's value is on the page");
  await shot(page, "secrets");

  step = "config";
  await page.click("nav >> text=Configuration");
  await page.waitForFunction(() => document.querySelector("#config-editor")?.value.includes("mcpServers"));
  await page.click("text=Validate");
  await pageShows(page, "#config-report", (t) => t.includes("valid"), "the validation");
  await shot(page, "config");

  step = "dark";
  const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark" });
  const darkPage = await dark.newPage();
  darkPage.on("console", (msg) => msg.type() === "error" && problems.push(`console error (dark): ${msg.text()}`));
  await darkPage.goto(`${BASE}/ui/?apikey=${encodeURIComponent(KEY)}#/servers`);
  await darkPage.waitForSelector("tr[data-server=fx]");
  await shot(darkPage, "servers-dark");
  await dark.close();

  step = "keyboard";
  await page.goto(`${BASE}/ui/#/`);
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement?.textContent) === "Skip to content", "the first Tab does not reach the skip link");
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim())).map((el) => el.outerHTML));
  check(unlabelled.length === 0, `unlabelled controls: ${unlabelled.join(" ")}`);
} catch (e) {
  failed = true;
  problems.push(e.message);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ok: !failed && problems.length === 0, timings, problems }));
process.exit(failed || problems.length ? 1 : 0);
