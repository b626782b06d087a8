// What every check does with one page: open it with listeners for all
// that can go wrong, wait for it to settle, read what it shows.
import { chromium } from "playwright-core";

// `/console/incident?id=INC-1` → `incident-INC-1`; `/` → `home`.
export function shotName(key) {
  const u = new URL(key, "http://x");
  let name = u.pathname.replace(/^\/(console\/?)?/, "").replace(/\/+$/, "").replace(/\//g, "-") || "home";
  const values = [...u.searchParams.values()].filter(Boolean);
  if (values.length) name += `-${values.join("-")}`;
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80);
}

// The browser the checks share. On a starved machine chromium has been seen
// to exit in the middle of a run (its GPU watchdog); the session then
// starts a new one, so one lost page does not fail every later check.
export class Session {
  constructor(executablePath) {
    this.executablePath = executablePath;
    this.browser = null;
    this.ctx = null;
    this.restarts = 0;
  }

  async ensure() {
    if (this.browser?.isConnected()) return;
    if (this.browser) {
      this.restarts++;
      step("chromium went away; starting a new one");
    }
    this.browser = await chromium.launch({
      executablePath: this.executablePath,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-gpu-watchdog"],
    });
    this.ctx = await this.browser.newContext({ viewport: { width: 1280, height: 900 } });
  }

  async newPage() {
    await this.ensure();
    try {
      return await this.ctx.newPage();
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
      await this.ensure();
      return this.ctx.newPage();
    }
  }

  get request() {
    return this.ctx.request;
  }

  async close() {
    if (this.browser?.isConnected()) await this.browser.close();
  }
}

// Progress on stderr, so a CI log shows where a slow run spends its time.
const started = Date.now();
export function step(what) {
  process.stderr.write(`· ${((Date.now() - started) / 1000).toFixed(1)}s ${what}\n`);
}

// Opens one page with listeners for everything that can go wrong, waits
// for it to settle and returns what happened; `events` keeps growing while
// the page is open.
export async function visit(ctx, url, origin) {
  const page = await ctx.newPage();
  const events = [];
  let open = true;
  page.on("console", (m) => {
    if (!open || m.type() !== "error") return;
    // A failed resource load names its URL only in the location.
    const at = m.location()?.url;
    events.push({ kind: "console-error", detail: at ? `${m.text()} (${at})` : m.text() });
  });
  page.on("pageerror", (e) => { if (open) events.push({ kind: "page-error", detail: String(e.message || e) }); });
  page.on("requestfailed", (r) => {
    if (open) events.push({ kind: "request-failed", detail: `${r.method()} ${r.url()}: ${r.failure()?.errorText}` });
  });
  page.on("response", (r) => {
    if (open && r.status() >= 400 && new URL(r.url()).origin === origin) {
      events.push({ kind: "http-status", detail: `${r.request().method()} ${r.url()} → ${r.status()}` });
    }
  });
  let status = 0;
  try {
    const resp = await page.goto(url, { waitUntil: "load", timeout: 15000 });
    status = resp ? resp.status() : 0;
  } catch (e) {
    events.push({ kind: "navigation", detail: e.message.split("\n")[0] });
  }
  // A page that keeps fetching never settles; a second chance keeps a
  // briefly starved machine from looking like one.
  let idle = false;
  for (let i = 0; i < 2 && !idle; i++) {
    idle = await page.waitForLoadState("networkidle", { timeout: 10000 }).then(() => true, () => false);
  }
  if (!idle) events.push({ kind: "never-idle", detail: "the network was still busy 20 s after load" });
  // Navigation start → the later of `load` and the last fetch's answer.
  const loadMs = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    let end = nav ? nav.loadEventEnd : 0;
    for (const r of performance.getEntriesByType("resource")) end = Math.max(end, r.responseEnd);
    return Math.round(end);
  }).catch(() => -1);
  return { page, events, status, loadMs, close: async () => { open = false; await page.close(); } };
}

// Every visible error box the page shows on its own (the console's pages
// put API failures into #error).
export async function shownErrors(page) {
  return page.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll("#error, .error, [role=alert]")) {
      const text = e.innerText.trim();
      if (text && e.getClientRects().length && getComputedStyle(e).visibility !== "hidden") out.push(text);
    }
    return out;
  });
}

export async function links(page) {
  return page.evaluate(() => [...document.querySelectorAll("a[href]")].map((a) => a.href));
}

