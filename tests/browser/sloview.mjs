// The SLO and golden-signal views as an SRE reads them, in headless
// chromium: chart text at least 11 px as rendered, traffic axes from zero,
// deploy-marker labels that do not overlap, each figure naming its window,
// history from raw data before the recording started, and SLO texts that
// say how much data a budget rests on and that a spent budget is
// exhausted (never a negative share or a past "runs out" time).
//
//   node sloview.mjs --base URL --service NAME --slo ID [--exhausted] [--out DIR]
import { join } from "node:path";
import { Session, shownErrors, step, visit } from "./page.mjs";

const args = Object.fromEntries(process.argv.slice(2).join(" ").split(/\s*--/).filter(Boolean)
  .map((a) => { const [k, ...v] = a.split(" "); return [k, v.join(" ") || true]; }));
const base = args.base, origin = new URL(base).origin;
const problems = [];
const problem = (where, what) => { problems.push(`${where}: ${what}`); console.log(`FAIL ${where}: ${what}`); };
const pass = (what) => console.log(`ok: ${what}`);

// Every chart's text as rendered: font size × the SVG's scale, and boxes.
function readCharts() {
  return [...document.querySelectorAll(".chart svg")].map((svg) => {
    const scale = svg.getScreenCTM() ? svg.getScreenCTM().a : 1;
    const text = (sel) => [...svg.querySelectorAll(sel)].map((t) => {
      const r = t.getBoundingClientRect();
      return { text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale, box: [r.left, r.top, r.right, r.bottom] };
    });
    const box = svg.closest(".chart");
    return {
      signal: box.dataset.signal || box.id || "",
      title: (box.previousElementSibling && box.previousElementSibling.textContent) || "",
      ticks: text("text.tick"), yTicks: text("text.tick.y"), markers: text("text.marker-label"),
      paths: [...svg.querySelectorAll("path")].map((p) => ({ stroke: p.getAttribute("stroke"), dash: p.getAttribute("stroke-dasharray") })),
    };
  });
}

const overlap = (a, b) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

function checkText(where, charts) {
  for (const c of charts) {
    for (const t of [...c.ticks, ...c.markers]) {
      if (t.px < 11 - 0.01) { problem(where, `${c.signal || "chart"}: "${t.text}" drawn at ${t.px.toFixed(1)} px (< 11)`); break; }
    }
    for (let i = 0; i < c.markers.length; i++) {
      for (let j = i + 1; j < c.markers.length; j++) {
        if (overlap(c.markers[i].box, c.markers[j].box)) problem(where, `${c.signal}: marker labels "${c.markers[i].text}" and "${c.markers[j].text}" overlap`);
      }
    }
  }
}

async function servicePage(session, service) {
  const path = `/console/service?name=${encodeURIComponent(service)}&range=21600`;
  step(path);
  const v = await visit(session.ctx, new URL(path, base).href, origin);
  for (const e of v.events) problem(path, `${e.kind} ${e.detail}`);
  for (const m of await shownErrors(v.page)) problem(path, `shown error: ${m}`);
  const charts = await v.page.evaluate(readCharts);
  if (charts.length < 3) problem(path, `${charts.length} charts drawn, want the golden signals`);
  checkText(path, charts);
  const traffic = charts.find((c) => c.signal === "traffic");
  if (!traffic) problem(path, "no traffic chart");
  else {
    const lowest = traffic.yTicks.reduce((a, b) => (b.box[1] > a.box[1] ? b : a), traffic.yTicks[0]);
    if (!lowest || lowest.text !== "0") problem(path, `the traffic axis starts at ${lowest && lowest.text}, not 0`);
    else pass("traffic axis starts at 0");
  }
  for (const [signal, want] of [["traffic", "5 min rate"], ["errors", "5 min rate"], ["latency", "5 min window"]]) {
    const c = charts.find((x) => x.signal === signal);
    if (c && !c.title.includes(want)) problem(path, `the ${signal} figure is titled "${c.title}", without "${want}"`);
  }
  const markers = charts.reduce((n, c) => n + c.markers.length, 0);
  if (!markers) problem(path, "no deploy-marker labels drawn");
  const raw = await v.page.evaluate(() => document.body.innerText.includes("computed from the raw series"));
  if (!raw) problem(path, "no chart says its early history comes from the raw series");
  if (!problems.length) pass(`service page: ${charts.length} charts, text ≥ 11 px, ${markers} marker labels apart, windows named, raw history`);
  await v.page.screenshot({ path: join(args.out || ".", "sloview-service.png"), fullPage: true }).catch(() => {});
  await v.close();
}

async function sloPage(session, id, exhausted) {
  const path = `/console/slo?id=${encodeURIComponent(id)}`;
  step(path);
  const before = problems.length;
  const v = await visit(session.ctx, new URL(path, base).href, origin);
  for (const e of v.events) problem(path, `${e.kind} ${e.detail}`);
  for (const m of await shownErrors(v.page)) problem(path, `shown error: ${m}`);
  const text = await v.page.evaluate(() => document.body.innerText);
  const budget = await v.page.evaluate(() => (document.getElementById("budget") || {}).innerText || "");
  if (!/based on (\d+ (s|min|h|d) of data|the full )/.test(budget)) problem(path, `the budget does not say what data it rests on: "${budget}"`);
  if (/-\d+(\.\d+)?%/.test(text)) problem(path, `a negative percentage is shown: ${text.match(/-\d+(\.\d+)?%/)[0]}`);
  if (exhausted) {
    if (!/exhausted/.test(budget) || !/spent \d+(\.\d)?× the budget/.test(budget)) problem(path, `an overspent budget does not say "exhausted — spent N× the budget": "${budget}"`);
    if (/runs out/.test(budget)) problem(path, `an exhausted budget still shows when it "runs out": "${budget}"`);
  }
  const alertRows = await v.page.evaluate(() => [...document.querySelectorAll("table tr")]
    .filter((tr) => /page|ticket/.test((tr.cells[3] || {}).textContent || "")).length);
  if (!alertRows) problem(path, "the burn-rate table marks no window an alert uses");
  const charts = await v.page.evaluate(readCharts);
  checkText(path, charts);
  const burndown = charts.find((c) => c.signal === "burndown");
  if (!burndown) problem(path, "no burn-down chart");
  else if (exhausted && !burndown.yTicks.some((t) => /× spent$/.test(t.text))) {
    problem(path, `the overspent burn-down's axis reads ${burndown.yTicks.map((t) => t.text).join(", ")}`);
  }
  const rates = charts.find((c) => c.signal === "burnrates");
  if (!rates) problem(path, "no burn-rate chart");
  else {
    const lines = rates.paths.filter((p) => p.stroke);
    const distinct = new Set(lines.map((p) => `${p.stroke}/${p.dash}`));
    if (lines.length < 2 || distinct.size < 2) problem(path, `burn-rate lines not told apart: ${JSON.stringify(lines)}`);
  }
  if (problems.length === before) pass(`SLO page: "${budget.trim()}"; alert windows marked; both burn-rate lines distinct`);
  await v.page.screenshot({ path: join(args.out || ".", "sloview-slo.png"), fullPage: true }).catch(() => {});
  await v.close();
}

async function home(session, service, exhausted) {
  step("/");
  const before = problems.length;
  const v = await visit(session.ctx, base, origin);
  const card = await v.page.evaluate((name) => {
    const c = [...document.querySelectorAll(".card")].find((x) => x.querySelector("h2")?.textContent === name);
    return c ? c.innerText : "";
  }, service);
  if (!card) problem("/", `no card for ${service}`);
  if (/-\d+(\.\d+)?% left/.test(card)) problem("/", `the ${service} card shows a negative budget`);
  if (exhausted && !/exhausted/.test(card)) problem("/", `the ${service} card does not say its budget is exhausted`);
  if (!/5 min/i.test(card)) problem("/", "the golden signals do not name their window");
  if (problems.length === before) pass("home card: budget in words, signal window named");
  await v.close();
}

const session = new Session(process.env.CHROMIUM || "/usr/bin/chromium");
try {
  await session.ensure();
  await servicePage(session, args.service);
  await sloPage(session, args.slo, !!args.exhausted);
  await home(session, args.service, !!args.exhausted);
} finally {
  await session.close();
}
console.log(problems.length ? `${problems.length} problems` : "sloview: no problems");
process.exit(problems.length ? 1 : 0);
