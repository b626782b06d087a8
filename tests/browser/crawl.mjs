// Crawls homeostat's web console in a headless Debian chromium and reports
// every problem a user would hit: console errors, uncaught exceptions,
// failed or >= 400 requests, broken links, error boxes shown on load, slow
// pages. It knows no page names: it starts at `/` and follows every
// same-origin link in the rendered DOM (after the page's scripts ran and its
// fetches settled), so it keeps working while the console changes.
//
//   node crawl.mjs --base http://127.0.0.1:9797 --out target/screenshots \
//     [--incident INC-1 [--incident-expect TEXT]...] [--max-pages 60] \
//     [--max-ms 2000] [--target-ms 300] [--no-forms]
//
// Exit 0 and `browser: N pages, 0 problems` when clean; exit 1 with one line
// per problem (page, kind, detail) otherwise; exit 2 on bad arguments.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { checkIncident } from "./incident.mjs";
import { links, Session, shotName, shownErrors, step, visit } from "./page.mjs";
import { checkForms } from "./forms.mjs";

const USAGE = "usage: node crawl.mjs --base URL --out DIR [--incident ID] [--incident-expect TEXT]... " +
  "[--max-pages N] [--max-ms N] [--target-ms N] [--no-forms]";

function parseArgs(argv) {
  const o = { maxPages: 60, maxMs: 2000, targetMs: 300, forms: true, expect: [] };
  const num = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) usage(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a}: missing value`);
      return argv[++i];
    };
    if (a === "--base") o.base = val();
    else if (a === "--out") o.out = val();
    else if (a === "--incident") o.incident = val();
    else if (a === "--incident-expect") o.expect.push(val());
    else if (a === "--max-pages") o.maxPages = num(a, val());
    else if (a === "--max-ms") o.maxMs = num(a, val());
    else if (a === "--target-ms") o.targetMs = num(a, val());
    else if (a === "--no-forms") o.forms = false;
    else if (a === "-h" || a === "--help") { console.log(USAGE); process.exit(0); }
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  if (!o.base) usage("--base is required (the server's URL, e.g. http://127.0.0.1:9797)");
  if (!o.out) usage("--out is required (the screenshot directory, e.g. target/screenshots)");
  try { o.origin = new URL(o.base).origin; } catch { usage(`--base: ${JSON.stringify(o.base)} is not a URL`); }
  return o;
}

function usage(msg) {
  console.error(`crawl.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

// Pages the crawl opens: the root and everything under /console/ that is
// not a script or style sheet.
function isConsolePage(u) {
  return u.pathname === "/" ||
    (u.pathname.startsWith("/console/") && !/\.(m?js|css|png|svg|ico|map|json)$/.test(u.pathname));
}

const pageKey = (u) => u.pathname + u.search;

// Checks one console page, screenshots the first of each path, and returns
// the links it shows and its row of the report.
async function crawlPage(ctx, o, u, key, problem, shotPaths) {
  const v = await visit(ctx, u.href, o.origin);
  try {
    for (const e of v.events) problem(key, e.kind, e.detail);
    if (v.status >= 400) problem(key, "broken-link", `the page answers ${v.status}`);
    for (const msg of await shownErrors(v.page)) problem(key, "shown-error", msg);
    const found = await links(v.page).catch(() => []);
    if (v.status && v.status < 400 && !shotPaths.has(u.pathname)) {
      await v.page.screenshot({ path: join(o.out, `${shotName(key)}.png`), fullPage: true })
        .then(() => shotPaths.add(u.pathname), (e) => problem(key, "screenshot", e.message.split("\n")[0]));
    }
    return { found, result: { key, url: u.href, status: v.status, coldMs: v.loadMs, loadMs: v.loadMs, links: found.length } };
  } finally {
    await v.close();
  }
}

// Longest one page may take, links and screenshot included.
const PAGE_DEADLINE_MS = 90000;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const ctx = new Session(process.env.CHROMIUM || "/usr/bin/chromium");
  await ctx.ensure();
  const problems = [];
  const problem = (where, kind, detail) => problems.push({ where, kind, detail });
  const results = [];
  const queue = [new URL("/", o.origin)];
  const seen = new Set([pageKey(queue[0])]);
  const checkedLinks = new Map(); // url → the first page linking to it
  const shotPaths = new Set();
  let skipped = 0;

  while (queue.length) {
    const u = queue.shift();
    const key = pageKey(u);
    step(`page ${key}`);
    let found = [];
    // A page whose browser went away under it is checked again in the new
    // one; what the lost attempt saw is dropped.
    for (let attempt = 0; attempt < 2; attempt++) {
      const restarts = ctx.restarts;
      const seenHere = [];
      let hung = false;
      const note = (where, kind, detail) => seenHere.push({ where, kind, detail });
      let result = { key, url: u.href, status: 0, coldMs: -1, loadMs: -1, links: 0 };
      try {
        // A page whose script never returns (a busy loop) blocks every
        // call into it; report it and start a new browser instead.
        let timer;
        const hung = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the page did not finish within ${PAGE_DEADLINE_MS / 1000} s (a script busy-looping?)`)), PAGE_DEADLINE_MS);
        });
        try {
          ({ found, result } = await Promise.race([crawlPage(ctx, o, u, key, note, shotPaths), hung]));
        } finally {
          clearTimeout(timer);
        }
      } catch (e) {
        note(key, "error", e.message.split("\n")[0]);
        if (/did not finish/.test(e.message)) {
          hung = true;
          await ctx.browser?.close().catch(() => {});
        }
      }
      await ctx.ensure().catch(() => {});
      if (attempt === 0 && ctx.restarts !== restarts && !hung) {
        step(`page ${key} again`);
        continue;
      }
      problems.push(...seenHere);
      results.push(result);
      break;
    }
    for (const href of found) {
      let t;
      try { t = new URL(href); } catch { problem(key, "bad-link", href); continue; }
      if (t.origin !== o.origin) continue;
      t.hash = "";
      const k = pageKey(t);
      if (isConsolePage(t)) {
        if (seen.has(k)) continue;
        if (seen.size >= o.maxPages) { skipped++; continue; }
        seen.add(k);
        queue.push(t);
      } else if (!checkedLinks.has(t.href)) {
        checkedLinks.set(t.href, key);
      }
    }
  }

  // Each page once more, as a user moving around the console meets it (the
  // browser started, scripts and fonts cached): that is the number the
  // bound and the target apply to. The first load is printed beside it.
  step("timing every page once more");
  for (const r of results) {
    if (r.status >= 400 || r.status === 0) continue;
    // Problems were the first pass's business; a lost timing keeps the
    // first load's number.
    try {
      const v = await visit(ctx, r.url, o.origin);
      if (v.loadMs >= 0) r.loadMs = v.loadMs;
      await v.close();
    } catch {
      step(`timing ${r.key} failed; keeping the first load's ${r.coldMs} ms`);
    }
    if (r.loadMs > o.maxMs) problem(r.key, "slow", `loaded in ${r.loadMs} ms (bound ${o.maxMs} ms)`);
  }

  // Same-origin links out of the console (API, /metrics, postmortems) are
  // fetched once each, not crawled.
  step(`fetching ${checkedLinks.size} link(s) out of the console`);
  for (const [href, from] of checkedLinks) {
    try {
      const r = await ctx.request.get(href, { timeout: 10000, maxRedirects: 5 });
      if (r.status() >= 400) problem(from, "broken-link", `${href} → ${r.status()}`);
      await r.dispose();
    } catch (e) {
      problem(from, "broken-link", `${href}: ${e.message.split("\n")[0]}`);
    }
  }

  if (o.incident) {
    await checkIncident(ctx, o, problem).catch((e) => problem(`incident ${o.incident}`, "error", e.message.split("\n")[0]));
  }
  if (o.forms) {
    await checkForms(ctx, o, seen, problem);
  }
  await ctx.close();
  if (ctx.restarts) console.log(`note: chromium exited ${ctx.restarts} time(s) during the run and was started again`);
  report(o, results, checkedLinks.size, skipped, problems);
}

function report(o, results, linkCount, skipped, problems) {
  console.log("   load ms   first  status  links  page");
  for (const r of results) {
    const cols = [[r.loadMs, 10], [r.coldMs, 7], [r.status, 6], [r.links, 5]].map(([v, w]) => String(v).padStart(w));
    console.log(`${cols.join("  ")}  ${r.key}`);
  }
  const max = results.reduce((m, r) => (r.loadMs > m.loadMs ? r : m), { loadMs: 0, key: "-" });
  const over = results.filter((r) => r.loadMs > o.targetMs);
  console.log(`load: max ${max.loadMs} ms (${max.key}); ` + (over.length
    ? `the ${o.targetMs} ms target did not hold on ${over.length} page(s): ${over.map((r) => r.key).join(", ")}`
    : `every page under the ${o.targetMs} ms target`));
  console.log(`links: ${linkCount} same-origin non-console link(s) fetched` +
    (skipped ? `; ${skipped} page link(s) not crawled past --max-pages ${o.maxPages}` : ""));
  console.log(`screenshots: ${o.out}`);
  if (problems.length) {
    console.log("problems:");
    for (const p of problems) console.log(`  ${p.where}  [${p.kind}]  ${p.detail}`);
  }
  console.log(`browser: ${results.length} pages, ${problems.length} problems`);
  process.exitCode = problems.length ? 1 : 0;
}

main().catch((e) => {
  console.error(`crawl.mjs: ${e.stack || e}`);
  process.exit(1);
});
