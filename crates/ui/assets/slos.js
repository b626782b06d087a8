// The SLO pages: the list (/console/slos, every SLO with its budget from
// /api/v1/slos; ?id= also shows one below) and one SLO (/console/slo?id=):
// budget (how much data it rests on, "exhausted" once spent), burn rates
// per window with the query behind each and the windows the alerts use,
// the alert tiers, the budget burn-down from 100% since the data starts
// with the service's deploys marked, and the page tier's two burn rates.
"use strict";

function listTable(slos, pick) {
  const rows = slos.map((s) => {
    const burn = (s.burnRates.find((w) => w.window === "1h") || {}).burnRate;
    return [link(sloHref(s.id), s.id), link(serviceHref(s.service), s.service), pct(s.objective, 3), pct(s.sli, 3),
      budgetBadge(s.budget, 2),
      s.budget.remainingMinutes === null || s.budget.exhausted ? (s.budget.exhausted ? "0" : "n/a") : s.budget.remainingMinutes.toFixed(1),
      burn === null || burn === undefined ? "n/a" : `${burn.toFixed(2)}×`,
      s.firing.length ? badge(s.firing.join(", "), "bad") : ""];
  });
  const t = table(["SLO", "service", "#objective", "#SLI", "#budget left", "#minutes left", "#burn 1h", "firing"], rows,
    "No SLOs loaded: add slo_files to the config.");
  t.querySelectorAll("tr").forEach((tr, i) => {
    if (i === 0 || !slos[i - 1]) return;
    tr.classList.add("pick");
    tr.addEventListener("click", (ev) => {
      if (ev.target.closest("a")) return;
      history.replaceState(null, "", `?id=${encodeURIComponent(slos[i - 1].id)}`);
      pick(slos[i - 1]);
    });
  });
  $("list").replaceChildren(t);
}

function burnText(v) { return v === null || v === undefined ? "n/a" : `${v.toFixed(2)}×`; }

async function detail(s, standalone) {
  const d = $("detail");
  if (standalone) { $("title").textContent = `${s.id}`; document.title = `${s.id} — homeostat`; }
  d.replaceChildren(el(standalone ? "p" : "h2", {}, standalone ? "" : `${s.id} — `,
    `${pct(s.objective, 3)} over ${s.period} for service `, link(serviceHref(s.service), s.service),
    standalone ? "" : " · ", standalone ? "" : link(sloHref(s.id), "own page")));
  if (s.description) d.append(el("p", { class: "muted" }, s.description));
  d.append(budgetParagraph(s));

  const tiers = s.alertTiers || [];
  const twoCol = el("div", { class: "grid2" });
  d.append(twoCol);
  twoCol.append(el("section", {}, el("h3", {}, "Burn rates per window"),
    table(["window", "#error ratio", "#burn rate", "alerts", "query"], s.burnRates.map((w) => [
      w.window, pct(w.errorRatio, 3), burnText(w.burnRate),
      (w.alerts || []).length ? badge(w.alerts.join(", "), "info", "an alert tier watches this window") : "",
      w.query ? queryLink(w.query, "error ratio", w.window === "30d" ? "7d" : "1d") : "",
    ]))));
  twoCol.append(el("section", {}, el("h3", {}, "Alert tiers"),
    table(["tier", "alert", "fires when both windows burn faster than", "state"], tiers.map((t) => [
      t.severity, el("span", {}, link(`/console/alerts?alertname=${encodeURIComponent(t.alert)}`, t.alert),
        t.annotations && t.annotations.runbook_url ? el("span", {}, " · ", externalLink(t.annotations.runbook_url, "runbook")) : null),
      t.windows.map((w) => `${w.long} & ${w.short} > ${+w.factor.toFixed(2)}×`).join("; "),
      t.firing ? badge("firing", "bad") : badge("quiet", "ok"),
    ]), "No alert tiers: both are disabled in the spec.")));

  const since = s.budget.dataSince;
  d.append(el("h2", {}, Number.isFinite(since) && s.budget.basedOnSeconds < periodSeconds(s.period)
    ? `Error budget remaining since the data starts (${fmtSpan(s.budget.basedOnSeconds)})` : "Error budget remaining over the period"));
  const burn = el("div", { class: "chart", id: "burndown" }); d.append(burn);
  try {
    const bd = await api(`/api/v1/slos/${encodeURIComponent(s.id)}/burndown`);
    const pts = bd.remaining;
    const start = pts.length ? pts[0][0] : Date.now() / 1000;
    const deploys = await api(`/api/v1/deploys?service=${encodeURIComponent(s.service)}&since=${Math.floor(start)}&limit=200`).catch(() => []);
    drawChart(burn, [{ metric: { __name__: "budget remaining (1 = 100%)" }, values: pts }],
      { markers: deployMarkers(deploys), zeroLine: true, yMax: 1, yFormat: remainingTick });
  } catch (e) { showError(`burn-down: ${e.message}`); }

  // The page tier's fast pair: the two burn rates whose crossing pages.
  const end = Date.now() / 1000, start = Math.max(end - 86400, Number.isFinite(since) ? Math.floor(since) : -Infinity);
  const names = s.burnRateQueries.map((q) => q.window).join(" and ");
  d.append(el("h2", {}, `Burn rates over ${names}, last ${fmtSpan(end - start)}`));
  const rates = el("div", { class: "chart", id: "burnrates" }); d.append(rates);
  const result = [];
  const links = el("p", { class: "small" });
  const step = Math.max(15, Math.ceil((end - start) / 240));
  for (const [i, q] of s.burnRateQueries.entries()) {
    links.append(queryLink(q.query, `burn rate ${q.window} query`, "1d"), " ");
    try {
      const data = await api(`/api/v1/query_range?query=${encodeURIComponent(q.query)}&start=${start}&end=${end}&step=${step}`);
      // The second line dashed, so it shows where the two overlap.
      for (const r of data.result) result.push({ metric: { __name__: `burn rate ${q.window}` }, values: r.values, dash: i ? "6 4" : undefined });
    } catch (e) { showError(`burn rate ${q.window}: ${e.message}`); }
  }
  if (result.length) { drawChart(rates, result, { height: 240, zeroLine: true, x0: start, x1: end }); rates.append(chartLegend(result)); }
  else rates.append(el("p", { class: "muted" }, "No data."));
  d.append(links);
}

// A Prometheus duration ("30d", "1h") in seconds.
function periodSeconds(p) {
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const [, n, u] of String(p).matchAll(/(\d+)(ms|[smhdwy])/g)) total += u === "ms" ? n / 1000 : n * unit[u];
  return total || Infinity;
}

// Burn-down ticks: a share while budget is left, then how many budgets are
// spent, so an overspent axis reads "3× spent" rather than "-200%".
function remainingTick(v) {
  if (v >= 0) return `${Math.round(v * 100)}%`;
  return `${+(1 - v).toFixed(1)}× spent`;
}

// The budget in words: what is left or that it is exhausted (and by how
// much), how much data it rests on, and when it runs out if it will.
function budgetParagraph(s) {
  const b = s.budget;
  const p = el("p", { id: "budget" }, "Budget: ", budgetBadge(b, 2), " ");
  const words = [];
  if (b.exhausted) {
    words.push(`— spent ${Number.isFinite(b.overspend) ? `${b.overspend.toFixed(1)}×` : "all of"} the budget ` +
      `(${b.minutes.toFixed(1)} minutes of full outage per ${s.period})`);
  } else if (b.remaining !== null) {
    words.push(`${pct(b.consumed)} of ${b.minutes.toFixed(1)} minutes of full outage per ${s.period} spent`);
    const h1 = (s.burnRates.find((w) => w.window === "1h") || {}).burnRate;
    words.push(b.exhaustedAt !== null ? `runs out ${fmtTime(b.exhaustedAt)} at the 1h burn rate`
      : Number.isFinite(h1) && h1 < 1 ? `does not run out at the 1h burn rate (${h1.toFixed(2)}×, below 1×)` : "does not run out at the current burn rate");
  } else {
    words.push("no data yet");
  }
  if (Number.isFinite(b.basedOnSeconds)) {
    words.push(b.basedOnSeconds < periodSeconds(s.period) ? `based on ${fmtSpan(b.basedOnSeconds)} of data` : `based on the full ${s.period}`);
  }
  p.append(`${words.join("; ")}.`);
  return p;
}

async function listPage() {
  const slos = await api("/api/v1/slos");
  const show = (s) => detail(s, false).catch((e) => showError(e.message));
  listTable(slos, show);
  const want = param("id");
  const pick = slos.find((s) => s.id === want) || (want === null ? slos[0] : undefined);
  if (want !== null && !pick) showError(`SLO not found: no SLO with id ${JSON.stringify(want)}.`);
  if (pick) show(pick);
}

async function onePage() {
  const id = param("id");
  if (!id || !id.trim()) {
    $("title").textContent = "SLO";
    showError("No SLO named: open one from the SLO list (/console/slo?id=<slo id>).");
    $("detail").append(link("/console/slos", "All SLOs"));
    return;
  }
  try {
    await detail(await api(`/api/v1/slos/${encodeURIComponent(id)}`), true);
  } catch (e) {
    $("title").textContent = "SLO not found";
    showError(e.status === 404 ? `SLO not found: ${e.message}.` : e.message);
    $("detail").append(link("/console/slos", "All SLOs"));
  }
}

(document.body.dataset.page === "slo" ? onePage : listPage)().catch((e) => showError(e.message));
