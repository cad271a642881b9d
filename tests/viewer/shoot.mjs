// SPDX-License-Identifier: Apache-2.0
// Opens the viewer page in Debian's headless Chromium (through playwright-core, which
// downloads no browser of its own), waits until every tile the viewer asked for has
// arrived, and saves a screenshot of the viewport (and, given STATE.json, the page's final
// window.viewerState).
// usage: node shoot.mjs PAGE_URL OUT.png [STATE.json]
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [pageUrl, out, stateOut] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
         "--ignore-gpu-blocklist"],
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  page.on("console", (m) => console.log(`page: ${m.text()}`));
  page.on("pageerror", (e) => console.log(`page error: ${e}`));
  page.on("requestfailed", (r) => console.log(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) console.log(`HTTP ${r.status()}: ${r.url()}`); });
  page.on("worker", (w) => console.log(`worker: ${w.url()}`));
  await page.goto(pageUrl);
  // Settled: tiles were requested, all of them answered, and no new request for a while
  // (the viewer asks for more tiles as levels come in).
  let last = "";
  let quiet = 0;
  for (;;) {
    const s = await page.evaluate(() => window.viewerState);
    if (s.error) {
      throw new Error(`viewer: ${s.error}`);
    }
    const now = `${s.started}/${s.ended}/${s.failed}`;
    quiet = now === last && s.started > 0 && s.ended >= s.started ? quiet + 1 : 0;
    last = now;
    if (quiet >= 10) {
      console.log(`tiles requested ${s.started}, loaded ${s.ended}, failed ${s.failed}`);
      if (s.failed > 0) {
        throw new Error(`${s.failed} tiles failed to load`);
      }
      if (stateOut) {
        writeFileSync(stateOut, JSON.stringify(s, null, 2));
      }
      break;
    }
    await page.waitForTimeout(200);
  }
  await page.locator("#viewport").screenshot({ path: out });
} finally {
  await browser.close();
}
