// Toil (/console/toil[?weeks=]): the weekly toil share per team against the
// cap as a chart and a table, the automation candidates with their draft
// remediation policy to copy, and a form to log work done outside homeostat.
"use strict";

function shareText(w) { return w.share === null || w.share === undefined ? "—" : pct(w.share, 1); }

function renderTrend(report) {
  const byTeam = {};
  for (const w of report.weeks) (byTeam[w.team] = byTeam[w.team] || []).push(w);
  const result = Object.keys(byTeam).map((team) => ({
    metric: { __name__: team },
    values: byTeam[team].filter((w) => w.share !== null).map((w) => [toSec(w.week), String(w.share)]),
  })).filter((r) => r.values.length);
  const box = $("trend");
  box.replaceChildren();
  const drawn = result.length && drawChart(box, result, {
    height: 220, x0: toSec(report.from), x1: toSec(report.until), zeroLine: true,
    hlines: [{ v: report.cap, label: `cap ${pct(report.cap, 0)}` }],
    yFormat: (v) => `${+(v * 100).toFixed(1)}%`,
  });
  if (!drawn) box.replaceChildren(el("p", { class: "muted" }, "No team with on-call time in these weeks."));
  $("legend").replaceChildren(result.length > 1 ? chartLegend(result) : "");
  $("weeks-table").replaceChildren(table(["team", "week", "toil h", "on-call h", "share", "entries"], report.weeks.map((w) => [
    w.team, fmtTime(w.week).slice(0, 10), w.toilHours.toFixed(1), w.oncallHours.toFixed(1),
    w.overCap ? badge(shareText(w), "bad", `over the ${pct(report.cap, 0)} cap`) : shareText(w), String(w.entries),
  ]), "No toil and no on-call time in these weeks."));
}

function copyButton(text) {
  const b = el("button", { type: "button", class: "small" }, "copy draft policy");
  b.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(text); b.textContent = "copied"; } catch { b.textContent = "select and copy below"; }
  });
  return b;
}

function renderCandidates(report) {
  $("candidates").replaceChildren(table(["what", "service", "team", "minutes", "by", "draft"], report.candidates.map((c) => {
    const pre = el("pre", { class: "mono small", hidden: true }, c.draftPolicy);
    const show = el("a", { href: "#" }, "show");
    show.addEventListener("click", (e) => { e.preventDefault(); pre.hidden = !pre.hidden; });
    return [c.sentence, c.service ? link(serviceHref(c.service), c.service) : "", c.team || "",
      String(Math.round(c.totalMinutes)), c.actors.join(", "), el("div", {}, copyButton(c.draftPolicy), " ", show, pre)];
  }), "No action repeated often enough yet."));
}

async function render() {
  const weeks = param("weeks") || "8";
  $("weeks").value = weeks;
  const report = await api(`/api/v1/toil/report?weeks=${encodeURIComponent(weeks)}`);
  renderTrend(report);
  renderCandidates(report);
}

$("weeks-form").addEventListener("submit", (e) => {
  e.preventDefault();
  location.search = new URLSearchParams({ weeks: $("weeks").value }).toString();
});

$("log-by").value = user();
$("log-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const by = $("log-by").value.trim();
  if (by) rememberUser(by);
  const body = { kind: $("log-kind").value.trim(), minutes: Number($("log-minutes").value), note: $("log-note").value };
  const service = $("log-service").value.trim();
  if (service) body.service = service;
  if (by) body.by = by;
  try {
    const entry = await post("/api/v1/toil", body, by);
    $("log-result").textContent = `logged ${entry.minutes} min of ${entry.kind}${entry.team ? ` for team ${entry.team}` : ""}`;
    await render();
  } catch (err) { $("log-result").textContent = err.message; }
});

render().catch((e) => showError(e.message));
