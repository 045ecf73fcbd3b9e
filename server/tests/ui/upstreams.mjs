// Drives the web panel against real third-party upstreams: server-everything (stdio, npm)
// and `guarded`, an OAuth-protected MCP server with its own authorization server (main.rs
// starts both). Checks: server-everything is shown ready with its tools, a search finds
// its echo tool (with the fields it matched) and the try-it form calls it; the guarded
// server's page shows OAuth "needs login", its Log in button opens the authorization page
// in a new tab, the login completes there (the test authorization server approves at once
// and the browser lands on the proxy's loopback listener) and the open page shows
// "authenticated" without reload; Log out returns it to "needs login". Any console or page
// error fails the run (harness.mjs).

import { BASE, KEY, run, launch, watchedPage, finish, check, rest, server, until, pageShows, shot } from "./harness.mjs";

const authState = async () => (await rest("GET", "/api/v1/servers/guarded/auth")).data.state;

const browser = await launch();
let error = null;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  const page = await watchedPage(context);

  run.step = "server-everything ready";
  await until("everything ready over REST", async () => (await server("everything"))?.status === "ready", 90000);
  await page.goto(`${BASE}/ui/?apikey=${encodeURIComponent(KEY)}#/servers`);
  await pageShows(page, "tr[data-server=everything] td.state", (t) => t === "ready", "server-everything ready", 20000);
  await page.click("tr[data-server=everything] a");
  await page.waitForSelector("#tools tr[data-tool=echo]", { timeout: 20000 });
  const count = Number((await page.locator("#tools h2").textContent()).match(/\d+/)?.[0]);
  check(count > 5, `server-everything shows ${count} tools`);

  run.step = "server-everything try-it";
  await page.click("nav >> text=Tools");
  await page.fill("#tool-query", "echo back the input");
  await page.press("#tool-query", "Enter");
  await pageShows(page, "tr[data-tool='everything:echo'] td.matched", (t) => t.includes("name"), "everything:echo with its matched fields", 10000);
  await page.click("button[aria-label='Open everything:echo']");
  await page.waitForSelector("#try-it #arg-message");
  await page.fill("#arg-message", "hello everything");
  await page.click("#try-it button[type=submit]");
  await pageShows(page, "#try-result", (t) => t.includes("hello everything"), "server-everything's answer", 15000);

  run.step = "oauth needs login";
  await until("guarded waits for a login", async () => (await authState()) === "needs_login", 30000);
  await page.goto(`${BASE}/ui/#/servers/guarded`);
  await pageShows(page, "#oauth", (t) => t.includes("needs login"), "the OAuth state", 10000);
  await shot(page, "server-oauth");

  run.step = "oauth log in";
  const opened = context.waitForEvent("page", { timeout: 20000 });
  await page.click("#oauth button:has-text('Log in')");
  const tab = await opened;
  await until("guarded authenticated over REST", async () => (await authState()) === "authenticated", 30000);
  run.timings.login_to_page_ms = await pageShows(page, "#oauth", (t) => t.includes("authenticated"), "authenticated on the open page", 10000);
  check(tab.url().includes("127.0.0.1") || tab.url().includes("localhost"), `the login tab ended at ${tab.url()}`);
  await tab.close();
  await until("guarded ready", async () => (await server("guarded"))?.status === "ready", 30000);

  run.step = "oauth log out";
  await page.click("#oauth button:has-text('Log out')");
  await until("guarded logged out over REST", async () => (await authState()) === "needs_login", 20000);
  await pageShows(page, "#oauth", (t) => t.includes("needs login"), "needs login again", 10000);
} catch (e) {
  error = e;
} finally {
  await browser.close();
}
finish(error);
