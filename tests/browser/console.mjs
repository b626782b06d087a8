// What the console shows, checked in Debian's headless chromium on a
// seeded server (tests/interop/browser.sh):
//  - every page that calls the API shows its loading state while the call
//    is in flight, then the server's message and the HTTP status when the
//    API answers 500, and a "cannot reach" message when the server is gone;
//  - the alerts page shows each alert's severity as a badge (page in red,
//    ticket in amber) and its labels as chips, and a `javascript:`
//    runbook_url as text, never a link;
//  - the on-call page shows the next shifts and every escalation policy
//    with its levels, delays and whom each target pages now;
//  - an alert-opened incident's page has timestamps with seconds, its group
//    key as label chips (never `{}:{…}`), and an impact chart (SLI and burn
//    rate, the incident window shaded, deploy markers).
//
//   node console.mjs --base http://127.0.0.1:9797 --out DIR --incident INC-3 \
//     --slo checkout-availability --service checkout
//
// Exit 0 and `console: N checks, 0 problems` when clean; 1 with one line per
// problem; 2 on bad arguments.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Session, step } from "./page.mjs";

const USAGE = "usage: node console.mjs --base URL --out DIR --incident ID --slo ID --service NAME";
const WAIT_MS = 15000;

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a}: missing value`);
      return argv[++i];
    };
    if (a === "--base") o.base = val();
    else if (a === "--out") o.out = val();
    else if (a === "--incident") o.incident = val();
    else if (a === "--slo") o.slo = val();
    else if (a === "--service") o.service = val();
    else if (a === "-h" || a === "--help") { console.log(USAGE); process.exit(0); }
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  for (const k of ["base", "out", "incident", "slo", "service"]) if (!o[k]) usage(`--${k} is required`);
  try { o.origin = new URL(o.base).origin; } catch { usage(`--base: ${JSON.stringify(o.base)} is not a URL`); }
  return o;
}

function usage(msg) {
  console.error(`console.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

const problems = [];
let checks = 0;
function check(where, ok, detail) {
  checks++;
  if (!ok) problems.push(`${where}: ${detail}`);
  return ok;
}

const isApi = (u) => new URL(u).pathname.startsWith("/api/");
const INJECTED = "injected failure for the browser test";

// The API held until the loading state was seen, then answering 500 (or
// refusing the connection): the page must say so, with the status.
async function failingApi(ctx, o, path, mode) {
  const where = `${path} (API ${mode === "500" ? "answers 500" : "unreachable"})`;
  step(where);
  const page = await ctx.newPage();
  const uncaught = [];
  page.on("pageerror", (e) => uncaught.push(String(e.message || e)));
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route((u) => isApi(u.href), async (route) => {
    await held;
    if (mode === "500") {
      const am = new URL(route.request().url()).pathname.startsWith("/api/v2/");
      await route.fulfill({
        status: 500,
        contentType: "application/json",
        body: JSON.stringify(am ? INJECTED : { status: "error", errorType: "internal", error: INJECTED }),
      });
    } else {
      await route.abort("connectionrefused");
    }
  });
  try {
    await page.goto(new URL(path, o.origin).href, { waitUntil: "domcontentloaded", timeout: WAIT_MS });
    const loading = await page.waitForSelector("#loading", { state: "visible", timeout: 5000 }).then(() => true, () => false);
    check(where, loading, "no visible #loading while the API call is in flight");
    const empty = await page.evaluate(() => !document.getElementById("error").innerText.trim());
    check(where, empty, "an error is shown before the API answered");
    release();
    const want = mode === "500" ? [INJECTED, "500"] : ["cannot reach"];
    const shown = await page.waitForFunction((w) => {
      const e = document.getElementById("error");
      return e && e.getClientRects().length && w.every((x) => e.innerText.includes(x));
    }, want, { timeout: WAIT_MS }).then(() => true, () => false);
    const text = await page.evaluate(() => document.getElementById("error").innerText.trim());
    check(where, shown, `the error box does not say ${want.map((w) => JSON.stringify(w)).join(" and ")} (it shows ${JSON.stringify(text)})`);
    const gone = await page.waitForSelector("#loading", { state: "hidden", timeout: 5000 }).then(() => true, () => false);
    check(where, gone, "#loading is still shown after the API failed");
    check(where, !uncaught.length, `uncaught: ${uncaught.join("; ")}`);
    if (path === "/") await page.screenshot({ path: join(o.out, `state-${mode}-home.png`), fullPage: true });
  } finally {
    release();
    await page.close();
  }
}

// Opens a page and waits until `ready` (a function run in the page) holds.
async function open(ctx, o, path, ready, arg) {
  const page = await ctx.newPage();
  await page.goto(new URL(path, o.origin).href, { waitUntil: "load", timeout: WAIT_MS });
  const ok = await page.waitForFunction(ready, arg, { timeout: WAIT_MS }).then(() => true, () => false);
  await page.waitForLoadState("networkidle", { timeout: WAIT_MS }).catch(() => {});
  return { page, ok };
}

async function alertsPage(ctx, o) {
  const where = "/console/alerts";
  step(`${where} (severity and labels)`);
  const { page, ok } = await open(ctx, o, where, () => document.querySelectorAll("#groups .badge.sev").length >= 2);
  try {
    if (!check(where, ok, "fewer than two severity badges in #groups")) return;
    const seen = await page.evaluate(() => ({
      badges: [...document.querySelectorAll("#groups .badge.sev")].map((b) => ({ text: b.innerText.trim().toLowerCase(), cls: b.className })),
      chips: [...document.querySelectorAll("#groups .chip")].map((c) => c.innerText.trim()),
      raw: /\w+="[^"]*", \w+="/.test(document.getElementById("groups").innerText),
      // browser.sh gives the ticket alert a `javascript:` runbook_url.
      badLinks: [...document.querySelectorAll("a[href]")].map((a) => a.href).filter((h) => !/^https?:/i.test(h)),
      runbookText: document.getElementById("groups").innerText.includes("javascript:alert(1)"),
    }));
    const page_ = seen.badges.find((b) => b.text === "page");
    const ticket = seen.badges.find((b) => b.text === "ticket");
    check(where, page_ && /\bbad\b/.test(page_.cls), `no red "page" severity badge (badges: ${JSON.stringify(seen.badges)})`);
    check(where, ticket && /\bwarn\b/.test(ticket.cls), `no amber "ticket" severity badge (badges: ${JSON.stringify(seen.badges)})`);
    check(where, seen.chips.includes(`service=${o.service}`), `no service=${o.service} label chip (chips: ${JSON.stringify(seen.chips)})`);
    check(where, !seen.raw, "labels are still shown as a name=\"value\" list");
    check(where, seen.badLinks.length === 0, `links that are not http(s): ${JSON.stringify(seen.badLinks)}`);
    check(where, seen.runbookText, "the javascript: runbook_url is not shown as text");
  } finally {
    await page.screenshot({ path: join(o.out, "alerts-severity.png"), fullPage: true }).catch(() => {});
    await page.close();
  }
}

async function oncallPage(ctx, o) {
  const where = "/console/oncall";
  step(`${where} (shifts and escalation)`);
  const { page, ok } = await open(ctx, o, where, () => document.querySelectorAll("#policies table").length > 0);
  try {
    if (!check(where, ok, "no escalation policy table in #policies")) return;
    const seen = await page.evaluate(() => ({
      shiftRows: [...document.querySelectorAll("#shifts table tr")].length - 1,
      policies: document.getElementById("policies").innerText,
      now: document.getElementById("oncall").innerText,
    }));
    check(where, seen.shiftRows >= 2, `the next shifts list has ${seen.shiftRows} row(s)`);
    check(where, /at once/.test(seen.policies) && /\+5m/.test(seen.policies), `the policy does not say when each level is paged: ${JSON.stringify(seen.policies)}`);
    check(where, /schedule primary → (alice|bob)/.test(seen.policies), `the policy does not say whom the schedule target pages now: ${JSON.stringify(seen.policies)}`);
    check(where, /user bob/.test(seen.policies), `the policy does not list its user target: ${JSON.stringify(seen.policies)}`);
    check(where, /gives up after 30m/.test(seen.policies), `the policy does not say when an unacknowledged page gives up: ${JSON.stringify(seen.policies)}`);
    check(where, /(alice|bob) from /.test(seen.now), `"next" does not name who takes over and when: ${JSON.stringify(seen.now)}`);
  } finally {
    await page.screenshot({ path: join(o.out, "oncall-escalation.png"), fullPage: true }).catch(() => {});
    await page.close();
  }
}

async function incidentPage(ctx, o) {
  const where = `/console/incident?id=${o.incident}`;
  step(`${where} (times, group key, impact)`);
  const { page, ok } = await open(ctx, o, where,
    () => document.querySelectorAll("#timeline li").length > 0 && document.querySelectorAll("#impact svg").length >= 2);
  try {
    const seen = await page.evaluate(() => ({
      times: [...document.querySelectorAll("#timeline li time")].map((t) => t.innerText.trim()),
      // The postmortem is a Markdown document and keeps the key verbatim.
      main: [...document.querySelector("main").children].filter((e) => e.id !== "postmortem").map((e) => e.innerText).join("\n"),
      summaryChips: [...document.querySelectorAll("#summary .chip")].map((c) => c.innerText.trim()),
      timelineChips: [...document.querySelectorAll("#timeline .chip")].map((c) => c.innerText.trim()),
      sli: document.querySelectorAll("#impact .impact-sli svg path[stroke]").length,
      burn: document.querySelectorAll("#impact .impact-burn svg path[stroke]").length,
      band: document.querySelectorAll("#impact svg .band rect").length,
      markers: document.querySelectorAll("#impact svg g.deploy").length,
      impact: document.getElementById("impact").innerText,
    }));
    check(where, ok, `the page never showed its timeline and two impact charts (impact: ${JSON.stringify(seen.impact)})`);
    check(where, seen.times.length && seen.times.every((t) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(t)),
      `timeline times without seconds: ${JSON.stringify(seen.times)}`);
    check(where, !seen.main.includes("{}:{") && !seen.main.includes("{}/{"), "a raw group key ({}:{…}) is shown");
    check(where, seen.summaryChips.some((c) => c.startsWith("alertname=")), `the alert group is not shown as label chips (${JSON.stringify(seen.summaryChips)})`);
    check(where, seen.timelineChips.some((c) => c.startsWith("alertname=")), `the timeline's group key is not shown as label chips (${JSON.stringify(seen.timelineChips)})`);
    check(where, seen.sli >= 1, "the impact chart has no SLI line");
    check(where, seen.burn >= 1, "the impact chart has no burn-rate line");
    check(where, seen.band >= 1, "the impact chart does not shade the incident window");
    check(where, seen.markers >= 1, "the impact chart has no deploy marker");
  } finally {
    await page.screenshot({ path: join(o.out, `incident-impact-${o.incident}.png`), fullPage: true }).catch(() => {});
    await page.close();
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const ctx = new Session(process.env.CHROMIUM || "/usr/bin/chromium");
  await ctx.ensure();
  const pages = ["/", `/console/service?name=${encodeURIComponent(o.service)}`, "/console/services", "/console/slos",
    `/console/slo?id=${encodeURIComponent(o.slo)}`, "/console/alerts", "/console/incidents",
    `/console/incident?id=${encodeURIComponent(o.incident)}`, "/console/oncall", "/console/deploys", "/console/chaos", "/console/toil"];
  const run = async (what, f) => {
    try { await f(); } catch (e) { problems.push(`${what}: ${e.message.split("\n")[0]}`); }
  };
  for (const p of pages) {
    await run(`${p} 500`, () => failingApi(ctx, o, p, "500"));
    await run(`${p} unreachable`, () => failingApi(ctx, o, p, "unreachable"));
  }
  await run("alerts", () => alertsPage(ctx, o));
  await run("oncall", () => oncallPage(ctx, o));
  await run("incident", () => incidentPage(ctx, o));
  await ctx.close();
  for (const p of problems) console.log(`  ${p}`);
  console.log(`console: ${checks} checks, ${problems.length} problems`);
  process.exitCode = problems.length ? 1 : 0;
}

main().catch((e) => {
  console.error(`console.mjs: ${e.stack || e}`);
  process.exit(1);
});
