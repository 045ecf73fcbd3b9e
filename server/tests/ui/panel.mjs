// Drives the web panel in headless Chromium against a running proxy with the fixture
// servers `fx` (connected) and `quar` (quarantined) and one agent session (main.rs sets
// them up; FIXTURE_BIN names the fixture for the servers this run adds). Each step asserts
// what the page shows and, for actions, the state over REST; any console or page error
// fails the run. Prints one JSON line with the timings (harness.mjs).

import { readFileSync } from "node:fs";
import { BASE, KEY, run, launch, watchedPage, finish, check, rest, server, until, pageCount, pageShows, textOf, shot } from "./harness.mjs";

const FIXTURE = process.env.FIXTURE_BIN;

const browser = await launch();
let error = null;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  const page = await watchedPage(context);

  run.step = "load";
  const started = Date.now();
  await page.goto(`${BASE}/ui/?apikey=${encodeURIComponent(KEY)}`);
  await pageShows(page, "[data-count=total_servers]", (t) => t === "2", "2 servers");
  run.timings.first_render_ms = Date.now() - started;
  check(!page.url().includes("apikey"), `the key is still in the address bar: ${page.url()}`);
  check(await page.evaluate(() => sessionStorage.getItem("mcpproxy.apikey")) === KEY, "the key is not in sessionStorage");
  await pageShows(page, "#live", (t) => t === "live", "the live indicator");

  run.step = "dashboard";
  await pageShows(page, "[data-count=connected_servers]", (t) => t === "1", "1 connected");
  await pageShows(page, "[data-count=quarantined_servers]", (t) => t === "1", "1 quarantined");
  await pageShows(page, "[data-count=total_tools]", (t) => Number(t) > 0, "a tool count");
  await pageShows(page, "#diagnostics", (t) => t.includes("quar"), "the quarantined server's diagnostic");
  check(await page.locator("#diagnostics a.button", { hasText: "Review and approve" }).count() > 0, "no Review button in diagnostics");
  await pageShows(page, "#recent-calls", (t) => t.includes("fx:echo") && t.includes("it-client"), "the agent's call");
  const tokens = (await rest("GET", "/api/v1/stats/tokens")).data;
  await pageShows(page, "#token-savings", (t) => t.includes(`${tokens.total_server_tool_list_size.toLocaleString("en-US")} tokens`), "the token savings of search");
  const calls = await page.evaluate(() => document.querySelectorAll("#recent-calls tbody tr").length);
  await rest("POST", "/api/v1/tools/call", { tool_name: "fx:echo", arguments: { message: "live" } });
  run.timings.call_to_dashboard_ms = await pageCount(page, "#recent-calls tbody tr", (n) => n === calls + 1, "the new call", 1000);
  await shot(page, "dashboard");

  run.step = "dashboard live";
  await rest("POST", "/api/v1/servers/fx/disable");
  run.timings.disable_to_dashboard_ms = await pageShows(page, "[data-count=connected_servers]", (t) => t === "0", "0 connected after a REST disable", 1000);
  await rest("POST", "/api/v1/servers/fx/enable");
  await pageShows(page, "[data-count=connected_servers]", (t) => t === "1", "1 connected after a REST enable", 20000);

  run.step = "servers";
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
  run.timings.quarantine_to_table_ms = await pageShows(page, "tr[data-server=fx] td.state", (t) => t === "quarantined", "fx quarantined after a REST quarantine", 1000);
  await rest("POST", "/api/v1/servers/fx/unquarantine", {});
  await pageShows(page, "tr[data-server=fx] td.state", (t) => t === "ready", "fx ready after approval", 20000);
  await shot(page, "servers");

  run.step = "add a server";
  await page.click("text=Add a server…");
  await page.fill("#add-name", "bad name!");
  await pageShows(page, "#add-server ul", (t) => t.includes("name:"), "the name rule as you type");
  check(await page.locator("#add-server button[type=submit]").isDisabled(), "an invalid form can be submitted");
  await page.fill("#add-name", "added");
  await page.fill("#add-command", FIXTURE);
  await page.fill("#add-args", "stdio");
  await page.uncheck("#add-quarantined");
  await page.click("#add-server button[type=submit]");
  await until("added ready over REST", async () => (await server("added"))?.status === "ready");
  await pageShows(page, "tr[data-server=added] td.state", (t) => t === "ready", "the added server connected", 20000);

  run.step = "edit a server";
  await page.click("tr[data-server=added] a");
  await page.click("text=Edit…");
  await page.fill("#edit-args", "stdio\n--tools\n2");
  await page.click("#edit-server button[type=submit]");
  await until("the edit applied over REST", async () => (await server("added"))?.tool_count === 16, 30000);
  await pageShows(page, "#tools h2", (t) => t === "Tools (16)", "the edited server's 16 tools", 20000);

  run.step = "edit env";
  const getEnv = async (name) => {
    const answer = await fetch(`${BASE}/api/v1/tools/call`, {
      method: "POST",
      headers: { "X-API-Key": KEY, "Content-Type": "application/json" },
      body: JSON.stringify({ tool_name: "added:get_env", arguments: { name } }),
    }).then((r) => r.json()).catch(() => null);
    return answer?.data?.content?.[0]?.text;
  };
  await page.click("#edit-open");
  await page.waitForSelector("#edit-server fieldset");
  await page.click("text=Add environment entry");
  await page.fill("#edit-env-name-0", "UI_FLAG");
  await page.fill("#edit-env-value-0", "from-the-panel");
  await page.click("#edit-server button[type=submit]");
  const configPath = (await rest("GET", "/api/v1/config")).data.config_path;
  await until("UI_FLAG in the config file", async () => readFileSync(configPath, "utf8").includes("from-the-panel"));
  await until("the server restarted with UI_FLAG", async () => (await getEnv("UI_FLAG")) === "from-the-panel", 30000);
  // Reopened, the stored value is hidden (the proxy masks it); adding another variable
  // keeps it (the mask goes back and the proxy restores the value at the same key).
  await page.click("#edit-open");
  await page.waitForSelector("#edit-server .pair[data-pair=UI_FLAG] input[data-masked]");
  check(await page.inputValue("#edit-env-value-0") === "", "the masked value is in a field");
  check(!(await page.content()).includes("from-the-panel"), "the secret value is on the page");
  await page.click("text=Add environment entry");
  await page.fill("#edit-env-name-1", "UI_OTHER");
  await page.fill("#edit-env-value-1", "${env:HOME}");
  await page.click("#edit-server button[type=submit]");
  await until("the server restarted with UI_OTHER resolved", async () => {
    const other = await getEnv("UI_OTHER");
    return other && other !== "<unset>" && !other.includes("${");
  }, 30000);
  check((await getEnv("UI_FLAG")) === "from-the-panel", "saving the masked value overwrote the secret");
  check(readFileSync(configPath, "utf8").includes("from-the-panel"), "the config file lost the secret");
  await page.click("#edit-open");
  await page.waitForSelector("#edit-server .pair[data-pair=UI_OTHER] .badge");
  check(await page.inputValue("#edit-env-value-1") === "${env:HOME}", "a reference is not shown as it is");
  await shot(page, "server-edit-env");
  await page.click("#edit-open");

  run.step = "import";
  await page.click("nav >> text=Servers");
  await page.click("text=Import…");
  await page.fill("#import-content", JSON.stringify({ mcpServers: { "imported-fx": { command: FIXTURE, args: ["stdio", "--name", "imported"] } } }));
  await page.click("#import-preview");
  await page.waitForSelector("#import-result li[data-imported=imported-fx]");
  check(!(await server("imported-fx")), "a preview imported the server");
  await shot(page, "servers-import");
  await page.click("#import-servers button.primary");
  await until("imported-fx over REST", async () => (await server("imported-fx"))?.quarantined === true);
  await pageShows(page, "tr[data-server=imported-fx] td.state", (t) => t === "quarantined", "the imported server, quarantined");

  run.step = "review";
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

  run.step = "changed tool";
  await page.goto(`${BASE}/ui/#/servers/fx`);
  await page.waitForSelector("#tools tr[data-tool=echo]", { timeout: 20000 });
  check((await textOf(page, "#tools tr[data-tool=echo]")).includes("approved"), "echo is not shown approved");
  const before = Date.now();
  await rest("POST", "/api/v1/tools/call", { tool_name: "fx:set_description", arguments: { tool: "echo", description: "Echo a message back, LOUDLY" } });
  await page.waitForSelector(".changed-tool[data-tool=echo] .diff", { timeout: 20000 });
  run.timings.tool_change_to_diff_ms = Date.now() - before;
  check((await textOf(page, ".changed-tool[data-tool=echo] .diff")).includes("LOUDLY"), "the diff does not show the new description");
  await shot(page, "server-diff");
  await page.click("text=Approve echo");
  await page.waitForSelector(".changed-tool[data-tool=echo]", { state: "detached", timeout: 10000 });
  const tools = (await rest("GET", "/api/v1/servers/fx/tools")).data.tools;
  check(tools.find((t) => t.name === "echo")?.approval?.status === "approved", "echo is not approved over REST");
  await page.waitForSelector("#logs div");

  run.step = "log pushed";
  const logReads = [];
  page.on("request", (req) => { if (req.url().includes("/servers/fx/logs")) logReads.push(req.url()); });
  await pageShows(page, "#live", (t) => t === "live", "the live indicator");
  const pushedAt = Date.now();
  await rest("POST", "/api/v1/tools/call", { tool_name: "fx:log", arguments: { message: "pushed-line-42" } });
  await pageShows(page, "#logs", (t) => t.includes("pushed-line-42"), "the pushed log line", 5000);
  run.timings.log_line_to_page_ms = Date.now() - pushedAt;
  check(logReads.length === 0, `the log was read, not pushed: ${logReads.join(" ")}`);

  run.step = "tools";
  await page.click("nav >> text=Tools");
  await page.fill("#tool-query", "echo message");
  await page.press("#tool-query", "Enter");
  await pageShows(page, "tr[data-tool='fx:echo'] td.matched", (t) => t.includes("name") && t.includes("description"), "the fields fx:echo matched in");
  await page.click("button[aria-label='Open fx:echo']");
  await page.waitForSelector("#try-it #arg-message");
  await page.fill("#arg-message", "hello from the panel");
  await page.click("#try-it button[type=submit]");
  await pageShows(page, "#try-result", (t) => t.includes("Echo: hello from the panel"), "the call's result", 15000);
  await shot(page, "tools");

  run.step = "activity";
  await page.click("nav >> text=Activity");
  await page.waitForSelector("tr[data-call]");
  await page.locator("tr[data-call] button").first().click();
  await pageShows(page, "#call-detail", (t) => t.includes("hello from the panel"), "the call's arguments");
  await page.click("#replay");
  await until("a replayed call", async () => (await rest("GET", "/api/v1/tool-calls?limit=20")).data.tool_calls.some((c) => c.replayed_from));
  await pageShows(page, "#call-detail", (t) => t.includes("Replay of"), "the replayed call's detail");
  await shot(page, "activity");

  run.step = "sessions";
  await page.click("nav >> text=Sessions");
  await pageShows(page, "#sessions", (t) => t.includes("it-client"), "the agent's session");
  await shot(page, "sessions");

  run.step = "secrets";
  await page.click("nav >> text=Secrets");
  await page.fill("#secret-name", "ui-test-token");
  await page.fill("#secret-value", "s3cr3t-value");
  await page.click("form[aria-label='Set a secret'] button[type=submit]");
  await pageShows(page, "#secrets", (t) => t.includes("${keyring:ui-test-token}"), "the stored secret");
  check(!(await page.content()).includes("s3cr3t-value"), "the secret's value is on the page");
  await shot(page, "secrets");

  run.step = "config";
  await page.click("nav >> text=Configuration");
  await page.waitForFunction(() => document.querySelector("#config-editor")?.value.includes("mcpServers"));
  await page.click("text=Validate");
  await pageShows(page, "#config-report", (t) => t.includes("valid"), "the validation");
  await shot(page, "config");

  run.step = "diagnostics";
  await rest("POST", "/api/v1/servers/fx/disable");
  await page.click("nav >> text=Diagnostics");
  await pageShows(page, "#diagnostic-issues", (t) => t.includes("imported-fx"), "the quarantined server's issue");
  check(await page.locator("#diagnostic-issues .issue[data-server=imported-fx] a.button", { hasText: "Review and approve" }).count() === 1, "no Review and approve for imported-fx");
  await page.waitForSelector("#disabled-servers .issue[data-server=fx]");
  await shot(page, "diagnostics");
  await page.click("button[aria-label='Enable fx']");
  await until("fx enabled over REST", async () => (await server("fx")).enabled);
  await page.waitForSelector("#disabled-servers .issue[data-server=fx]", { state: "detached", timeout: 5000 });
  await page.click("#diagnostic-issues .issue[data-server=imported-fx] a.button");
  await page.waitForSelector("#review #plan-runs");

  run.step = "dark";
  const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark" });
  const darkPage = await watchedPage(dark);
  await darkPage.goto(`${BASE}/ui/?apikey=${encodeURIComponent(KEY)}#/servers`);
  await darkPage.waitForSelector("tr[data-server=fx]");
  await shot(darkPage, "servers-dark");
  await dark.close();

  run.step = "keyboard";
  // A fresh document (a goto to another hash of the same page would only change the hash
  // and keep the focus where it was).
  await page.goto(`${BASE}/ui/#/`);
  await page.reload();
  await pageShows(page, "[data-count=total_servers]", (t) => t !== "…", "the counts");
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement?.textContent) === "Skip to content", "the first Tab does not reach the skip link");
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim())).map((el) => el.outerHTML));
  check(unlabelled.length === 0, `unlabelled controls: ${unlabelled.join(" ")}`);
} catch (e) {
  error = e;
} finally {
  await browser.close();
}
finish(error);
