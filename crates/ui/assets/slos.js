// The SLO pages: the list (/console/slos, every SLO with its budget from
// /api/v1/slos; ?id= also shows one below) and one SLO (/console/slo?id=):
// budget, burn rates per window with the query behind each, the alert
// tiers, the budget burn-down from 100% with the service's deploys marked,
// and the 1h/6h burn rates over the last day.
"use strict";

function listTable(slos, pick) {
  const rows = slos.map((s) => {
    const burn = (s.burnRates.find((w) => w.window === "1h") || {}).burnRate;
    return [link(sloHref(s.id), s.id), link(serviceHref(s.service), s.service), pct(s.objective, 3), pct(s.sli, 3),
      badge(pct(s.budget.remaining), budgetClass(s.budget.remaining)),
      s.budget.remainingMinutes === null ? "n/a" : s.budget.remainingMinutes.toFixed(1),
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
  const exhausted = s.budget.exhaustedAt === null ? "not at the current burn rate"
    : new Date(s.budget.exhaustedAt * 1000).toISOString();
  d.append(el("p", {}, "Budget: ", badge(`${pct(s.budget.remaining)} left`, budgetClass(s.budget.remaining)),
    ` of ${s.budget.minutes.toFixed(1)} minutes of full outage per period; ` +
    `${pct(s.budget.consumed)} spent; runs out: ${exhausted}.`));

  const tiers = s.alertTiers || [];
  const twoCol = el("div", { class: "grid2" });
  d.append(twoCol);
  twoCol.append(el("section", {}, el("h3", {}, "Burn rates per window"),
    table(["window", "#error ratio", "#burn rate", "query"], s.burnRates.map((w) => [
      w.window, pct(w.errorRatio, 3), burnText(w.burnRate), w.query ? queryLink(w.query, "error ratio", w.window === "30d" ? "7d" : "1d") : "",
    ]))));
  twoCol.append(el("section", {}, el("h3", {}, "Alert tiers"),
    table(["tier", "alert", "fires when both windows burn faster than", "state"], tiers.map((t) => [
      t.severity, el("span", {}, link(`/console/alerts?alertname=${encodeURIComponent(t.alert)}`, t.alert),
        t.annotations && t.annotations.runbook_url ? el("span", {}, " · ", link(t.annotations.runbook_url, "runbook")) : null),
      t.windows.map((w) => `${w.long} & ${w.short} > ${+w.factor.toFixed(2)}×`).join("; "),
      t.firing ? badge("firing", "bad") : badge("quiet", "ok"),
    ]), "No alert tiers: both are disabled in the spec.")));

  d.append(el("h2", {}, "Error budget remaining over the period"));
  const burn = el("div", { class: "chart" }); d.append(burn);
  try {
    const bd = await api(`/api/v1/slos/${encodeURIComponent(s.id)}/burndown`);
    const pts = bd.remaining;
    const start = pts.length ? pts[0][0] : Date.now() / 1000;
    const deploys = await api(`/api/v1/deploys?service=${encodeURIComponent(s.service)}&since=${Math.floor(start)}&limit=200`).catch(() => []);
    drawChart(burn, [{ metric: { __name__: "budget remaining (1 = 100%)" }, values: pts }],
      { markers: deployMarkers(deploys), zeroLine: true, yFormat: (v) => `${Math.round(v * 100)}%` });
  } catch (e) { showError(`burn-down: ${e.message}`); }

  d.append(el("h2", {}, "Burn rates, last 24 hours"));
  const rates = el("div", { class: "chart" }); d.append(rates);
  const end = Date.now() / 1000, start = end - 86400;
  const result = [];
  const links = el("p", { class: "small" });
  for (const q of s.burnRateQueries) {
    links.append(queryLink(q.query, `burn rate ${q.window} query`, "1d"), " ");
    try {
      const data = await api(`/api/v1/query_range?query=${encodeURIComponent(q.query)}&start=${start}&end=${end}&step=300`);
      for (const r of data.result) result.push({ metric: { __name__: `burn rate ${q.window}` }, values: r.values });
    } catch (e) { showError(`burn rate ${q.window}: ${e.message}`); }
  }
  if (result.length) { drawChart(rates, result, { height: 240 }); rates.append(chartLegend(result)); }
  else rates.append(el("p", { class: "muted" }, "No data."));
  d.append(links);
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
