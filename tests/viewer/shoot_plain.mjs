// SPDX-License-Identifier: Apache-2.0
// Opens the plain viewer page once per job in Debian's headless Chromium (through
// playwright-core, which downloads no browser of its own), waits until Cornerstone has
// drawn the frame, saves a screenshot of its viewport and what the page reported.
// usage: node shoot_plain.mjs JOBS.json RESULTS.json
//   JOBS.json: [{"url": PAGE_URL, "png": OUT.png}, ...]
//   RESULTS.json: the same list, each with "state": the page's window.plainState
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [jobsPath, resultsPath] = process.argv.slice(2);
const jobs = JSON.parse(readFileSync(jobsPath, "utf8"));
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
                                        args: ["--no-sandbox"] });
try {
  for (const job of jobs) {
    // A fresh page per job, larger than any box, so nothing the test measures is cut.
    const page = await browser.newPage({ viewport: { width: 1024, height: 1024 } });
    page.on("console", (m) => console.log(`page: ${m.text()}`));
    page.on("pageerror", (e) => console.log(`page error: ${e}`));
    page.on("response", (r) => { if (r.status() >= 400) console.log(`HTTP ${r.status()}: ${r.url()}`); });
    await page.goto(job.url);
    await page.waitForFunction(() => window.plainState.ready || window.plainState.error,
                               null, { timeout: 60000 });
    job.state = await page.evaluate(() => window.plainState);
    if (job.state.error) {
      throw new Error(`${job.url}: ${job.state.error}`);
    }
    await page.locator("#viewport").screenshot({ path: job.png });
    await page.close();
  }
} finally {
  await browser.close();
}
writeFileSync(resultsPath, JSON.stringify(jobs, null, 1));
