// `--incident ID`: the incident's page shows its timeline (a non-empty list
// of entries, each `--incident-expect` text among them) and a postmortem
// link or section, and the postmortem link answers.
import { join } from "node:path";
import { shotName, shownErrors, step, visit } from "./page.mjs";

export async function checkIncident(ctx, o, problem) {
  const path = `/console/incident?id=${encodeURIComponent(o.incident)}`;
  const where = `${path} (incident check)`;
  step(where);
  const v = await visit(ctx, new URL(path, o.origin).href, o.origin);
  for (const e of v.events) problem(where, e.kind, e.detail);
  for (const msg of await shownErrors(v.page)) problem(where, "shown-error", msg);
  const found = await v.page.evaluate(readIncident);
  if (!found.timeline) {
    problem(where, "timeline", "no timeline on the page (no #timeline/.timeline element, no \"Timeline\" heading followed by a list)");
  } else if (!found.entries.length) {
    problem(where, "timeline", `the timeline (${found.timeline}) is empty`);
  } else {
    console.log(`incident ${o.incident}: timeline (${found.timeline}) has ${found.entries.length} entries`);
    const all = found.entries.join("\n").toLowerCase();
    for (const want of o.expect) {
      if (!all.includes(want.toLowerCase())) problem(where, "timeline", `no entry mentions ${JSON.stringify(want)}`);
    }
  }
  if (!found.postmortem) {
    problem(where, "postmortem", "no postmortem link or section");
  } else if (found.postmortemHref) {
    const u = new URL(found.postmortemHref);
    if (u.origin === o.origin && u.pathname !== "/console/incident") {
      const r = await ctx.request.get(u.href, { timeout: 10000 });
      if (r.status() >= 400) problem(where, "postmortem", `${u.href} → ${r.status()}`);
      await r.dispose();
    }
  }
  await v.page.screenshot({ path: join(o.out, `${shotName(path)}.png`), fullPage: true })
    .catch((e) => problem(where, "screenshot", e.message.split("\n")[0]));
  await v.close();
}

// Runs in the page: finds the timeline by id or class, else by a heading
// that says "Timeline" and the list after it; and a postmortem link or a
// section whose id, class or heading says postmortem.
function readIncident() {
  const textOf = (e) => e.innerText.replace(/\s+/g, " ").trim();
  const entriesOf = (list) => {
    const items = list.matches("ol, ul") ? list.querySelectorAll(":scope > li") : list.querySelectorAll("li, tr, [class*=entry], [class*=event]");
    const chosen = items.length ? [...items] : [...list.children];
    return chosen.map(textOf).filter(Boolean);
  };
  let timeline = null;
  let entries = [];
  const byName = document.querySelector("#timeline, .timeline, [data-timeline]");
  if (byName) {
    timeline = byName.id ? `#${byName.id}` : `.${[...byName.classList].join(".")}`;
    entries = entriesOf(byName);
  } else {
    for (const h of document.querySelectorAll("h1, h2, h3, h4, summary, legend")) {
      if (!/^timeline\b/i.test(textOf(h))) continue;
      let n = h.nextElementSibling;
      while (n && !n.matches("ol, ul, table, div, section")) n = n.nextElementSibling;
      if (n) { timeline = `"${textOf(h)}" heading`; entries = entriesOf(n); }
      break;
    }
  }
  let postmortem = false;
  let postmortemHref = null;
  for (const a of document.querySelectorAll("a[href]")) {
    if (/postmortem/i.test(a.getAttribute("href")) || /postmortem/i.test(textOf(a))) {
      postmortem = true;
      postmortemHref = a.href;
      break;
    }
  }
  if (!postmortem) {
    postmortem = !!document.querySelector("#postmortem, .postmortem, [id*=postmortem], [class*=postmortem]") ||
      [...document.querySelectorAll("h1, h2, h3, h4")].some((h) => /postmortem/i.test(textOf(h)));
  }
  return { timeline, entries, postmortem, postmortemHref };
}
