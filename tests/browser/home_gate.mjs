// The home page's card of one service says what the deploy gate says:
//   node home_gate.mjs --base URL --service checkout --expect "deploys frozen"
//       [--within 90] [--shot target/screenshots/home-burn.png]
// Reloads the page until the card's gate badge shows the expected words
// (the gate measures every few seconds, so the page may lag the server by
// that much) or `--within` seconds pass; prints what the card said and
// exits 1 when it never matched. Also fails on console errors, uncaught
// exceptions and error boxes, like the crawl.
import { Session, shownErrors, step, visit } from "./page.mjs";

function args(argv) {
  const o = { within: 90, shot: null, chromium: process.env.CHROMIUM || "/usr/bin/chromium" };
  for (let i = 2; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k}: missing value`);
    if (k === "--base") o.base = v;
    else if (k === "--service") o.service = v;
    else if (k === "--expect") o.expect = v;
    else if (k === "--within") o.within = Number(v);
    else if (k === "--shot") o.shot = v;
    else throw new Error(`unknown flag ${k}; use --base, --service, --expect, --within, --shot`);
  }
  for (const k of ["base", "service", "expect"]) if (!o[k]) throw new Error(`--${k} is required`);
  return o;
}

// What the service's card shows: its gate badge and the reason under it.
function readCard(service) {
  for (const card of document.querySelectorAll("section.card")) {
    const name = card.querySelector("h2")?.innerText.trim();
    if (name !== service) continue;
    const badge = card.querySelector(".head .badge");
    const reason = card.querySelector("p.bad");
    return { badge: badge ? badge.innerText.trim() : null, reason: reason ? reason.innerText.trim() : "" };
  }
  return null;
}

const o = args(process.argv);
const origin = new URL(o.base).origin;
const session = new Session(o.chromium);
const until = Date.now() + o.within * 1000;
let last = null;
let problems = [];
try {
  for (;;) {
    await session.ensure();
    step(`home page, ${o.service}'s card`);
    const v = await visit(session.ctx, new URL("/", origin).href, origin);
    problems = v.events.map((e) => `${e.kind}: ${e.detail}`);
    for (const msg of await shownErrors(v.page)) problems.push(`shown-error: ${msg}`);
    last = await v.page.evaluate(readCard, o.service);
    const matched = last?.badge?.includes(o.expect);
    if (matched || Date.now() > until) {
      if (o.shot) await v.page.screenshot({ path: o.shot, fullPage: true }).catch(() => {});
      await v.close();
      if (matched) break;
      problems.push(last ? `the card says ${JSON.stringify(last.badge)}, not ${JSON.stringify(o.expect)}` : `no card for ${o.service}`);
      break;
    }
    await v.close();
    await new Promise((r) => setTimeout(r, 2000));
  }
} finally {
  await session.close();
}
console.log(`${o.service}: ${JSON.stringify(last?.badge)}${last?.reason ? ` — ${last.reason}` : ""}`);
for (const p of problems) console.log(`problem: ${p}`);
process.exit(problems.length ? 1 : 0);
