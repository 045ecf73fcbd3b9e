// The browser step of an OAuth login in headless Chromium (Debian's, driven by
// playwright-core): open the authorization URL given as the only argument, follow the
// authorization server's redirect to the proxy's loopback listener, and wait for the page
// that says the sign-in worked. Prints one JSON line {url, text} of the final page; exits 1
// with the reason when it never gets there. Environment: PLAYWRIGHT_CORE (path of the
// installed module), CHROMIUM (default /usr/bin/chromium).

import { pathToFileURL } from "node:url";

const playwright = await import(pathToFileURL(process.env.PLAYWRIGHT_CORE).href);
const { chromium } = playwright.default ?? playwright;
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: FLAGS, headless: true,
});
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(process.argv[2], { waitUntil: "load", timeout: 60_000 });
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/, { timeout: 60_000 });
  await page.getByText("You can close this tab").waitFor({ timeout: 60_000 });
  console.log(JSON.stringify({ url: page.url(), text: await page.innerText("body") }));
  await browser.close();
} catch (error) {
  console.error(`browser step failed: ${error.message}`);
  await browser.close();
  process.exit(1);
}
