// The on-call page (/console/oncall): per schedule, who is on call now
// (/api/v1/oncall) and the shifts of the next 7 days
// (/api/v1/oncall/{schedule}/shifts); then every escalation policy
// (/api/v1/escalation_policies): its levels, when each is paged, whom each
// target pages now, and when an unacknowledged page gives up.
"use strict";

const SHIFTS_SHOWN = 8;

function sourceText(sources) {
  return (sources || []).map((s) => s.kind === "override" ? `override${s.reason ? `: ${s.reason}` : ""}` : `layer ${s.name}`).join(", ");
}

const DAY_MS = 86400 * 1000;

// The current shift from its start, then the next 7 days; asked for a day
// more, so the last shift shown is not cut off at the 7-day mark.
async function shiftsOf(s) {
  const from = (s.onCall && s.onCall.shiftStart) || s.at;
  const to = new Date(Date.parse(s.at) + 8 * DAY_MS).toISOString();
  try {
    const data = await api(`/api/v1/oncall/${encodeURIComponent(s.schedule)}/shifts?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    const until = Date.parse(s.at) + 7 * DAY_MS;
    return (data.shifts || []).filter((x) => Date.parse(x.start) < until);
  } catch (e) { return { error: e.message }; }
}

function nowTable(list, shifts) {
  return table(["schedule", "time zone", "on call now", "since", "until", "next"], list.map((s, i) => {
    const cur = s.onCall && s.onCall.user;
    const sh = shifts[i];
    const next = Array.isArray(sh) ? sh.find((x) => x.user !== cur && Date.parse(x.start) >= Date.parse(s.at) - 1000) : null;
    return [el("a", { href: `#schedule-${s.schedule}` }, s.schedule), s.timeZone,
      cur ? el("strong", {}, cur) : badge("nobody", "bad", "a page to this schedule now reaches nobody"),
      s.onCall ? (s.onCall.shiftStart ? fmtTime(s.onCall.shiftStart) : "over a week ago") : "",
      s.nextHandoff ? fmtTime(s.nextHandoff) : "no handoff ahead",
      next ? `${next.user} from ${fmtTime(next.start)}` : el("span", { class: "muted" }, sh && sh.error ? sh.error : "nobody else in 7 days")];
  }), "No schedules: add an oncall: section to the config.");
}

function shiftPanel(s, sh) {
  const p = el("section", { class: "panel", id: `schedule-${s.schedule}` }, el("h3", {}, `${s.schedule}`, el("span", { class: "muted small" }, s.timeZone)));
  if (sh.error) { p.append(el("p", { class: "bad" }, `shifts: ${sh.error}`)); return p; }
  const now = Date.now();
  const rows = sh.slice(0, SHIFTS_SHOWN).map((x) => {
    const current = Date.parse(x.start) <= now && now < Date.parse(x.end);
    return [current ? el("strong", {}, x.user) : x.user, fmtTime(x.start), fmtTime(x.end),
      fmtDuration((Date.parse(x.end) - Date.parse(x.start)) / 1000), sourceText(x.sources),
      current ? badge("now", "info") : ""];
  });
  p.append(table(["user", "from", "to", "#length", "why", ""], rows, "Nobody is on call in the next 7 days."));
  if (sh.length > SHIFTS_SHOWN) p.append(el("p", { class: "muted small" }, `and ${sh.length - SHIFTS_SHOWN} more shifts in the next 7 days`));
  return p;
}

function targetCell(t) {
  const who = t.pages.length ? el("strong", {}, t.pages.join(", ")) : badge("nobody on call", "bad", "this target pages nobody now");
  return t.kind === "schedule"
    ? el("div", {}, "schedule ", el("a", { href: `#schedule-${t.id}` }, t.id), " → ", who)
    : el("div", {}, "user ", who);
}

function policyPanel(p) {
  const pass = p.levels.reduce((n, l) => n + l.delaySeconds, 0);
  const passes = p.repeat ? `${p.repeat + 1} passes through the levels` : "one pass through the levels";
  const box = el("section", { class: "panel", id: `policy-${p.id}` }, el("h3", {}, p.id,
    el("span", { class: "muted small" }, `${passes}; unacknowledged, it gives up after ${fmtDuration(p.exhaustedAfterSeconds)}`)));
  box.append(table(["level", "#paged at", "targets (paged now)", "#waits for an ack"], p.levels.map((l) => [
    String(l.level), l.pagedAfterSeconds ? `+${fmtDuration(l.pagedAfterSeconds)}` : "at once",
    el("div", {}, ...l.targets.map(targetCell)), fmtDuration(l.delaySeconds),
  ])));
  if (p.repeat) box.append(el("p", { class: "muted small" }, `A pass takes ${fmtDuration(pass)}; the next starts again at level 1.`));
  return box;
}

(async function init() {
  $("tz").textContent = `Times in ${timeZoneName()}.`;
  const [list, esc] = await Promise.all([
    api("/api/v1/oncall"),
    api("/api/v1/escalation_policies").catch((e) => ({ error: e.message })),
  ]).catch((e) => { showError(`on call: ${e.message}`); return [null, null]; });
  if (!list) return;
  const shifts = await Promise.all(list.map(shiftsOf));
  $("oncall").replaceChildren(nowTable(list, shifts));
  $("shifts").replaceChildren(...list.map((s, i) => shiftPanel(s, shifts[i])));
  if (!list.length) $("shifts").replaceChildren(el("p", { class: "muted" }, "No schedules."));
  if (esc.error) { showError(`escalation policies: ${esc.error}`); return; }
  $("policies").replaceChildren(...(esc.policies.length ? esc.policies.map(policyPanel)
    : [el("p", { class: "muted" }, "No escalation policies: add oncall.escalation_policies to the config; without one, incidents page nobody.")]));
})();
