// The SLO page: every SLO with its error budget (/api/v1/slos), and for the
// one picked, burn rates per window, the budget burn-down over the period
// (starting at 100%) and the 1h/6h burn rates over the last day.
"use strict";

const $ = (id) => document.getElementById(id);

function pct(v) { return v === null || v === undefined ? "n/a" : `${(v * 100).toFixed(2)}%`; }
function showError(msg) { $("error").textContent = msg; $("error").style.display = "block"; }

async function api(path) {
  const r = await fetch(path);
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  if (!r.ok || body.status !== "success") throw new Error(body.error || `${r.status}`);
  return body.data;
}

function listTable(slos) {
  const t = $("list");
  t.replaceChildren();
  const head = el("tr");
  for (const h of ["SLO", "objective", "SLI", "budget left", "minutes left", "burn 1h", "firing"]) head.append(el("th", {}, h));
  t.append(head);
  if (!slos.length) {
    const tr = el("tr"); const td = el("td", { colspan: 7, class: "muted" }, "No SLOs loaded: add slo_files to the config.");
    tr.append(td); t.append(tr);
  }
  for (const s of slos) {
    const tr = el("tr", { class: "pick" });
    const burn = (s.burnRates.find((w) => w.window === "1h") || {}).burnRate;
    const left = s.budget.remaining;
    tr.append(
      el("td", {}, s.id),
      el("td", { class: "v" }, pct(s.objective)),
      el("td", { class: "v" }, pct(s.sli)),
      el("td", { class: "v " + (left !== null && left < 0 ? "bad" : "ok") }, pct(left)),
      el("td", { class: "v" }, s.budget.remainingMinutes === null ? "n/a" : s.budget.remainingMinutes.toFixed(1)),
      el("td", { class: "v" }, burn === null || burn === undefined ? "n/a" : `${burn.toFixed(2)}×`),
      el("td", { class: s.firing.length ? "bad" : "" }, s.firing.join(", ")),
    );
    tr.addEventListener("click", () => { history.replaceState(null, "", `?id=${encodeURIComponent(s.id)}`); detail(s); });
    t.append(tr);
  }
}

async function detail(s) {
  const d = $("detail");
  d.replaceChildren(el("h2", {}, `${s.id} — ${pct(s.objective)} over ${s.period}`));
  if (s.description) d.append(el("p", { class: "muted" }, s.description));
  const exhausted = s.budget.exhaustedAt === null ? "not at the current burn rate"
    : new Date(s.budget.exhaustedAt * 1000).toISOString();
  d.append(el("p", {}, `Budget: ${s.budget.minutes.toFixed(1)} minutes of full outage per period; ` +
    `${pct(s.budget.consumed)} spent; runs out: ${exhausted}.`));
  const t = el("table");
  const head = el("tr");
  for (const h of ["window", "error ratio", "burn rate"]) head.append(el("th", {}, h));
  t.append(head);
  for (const w of s.burnRates) {
    const tr = el("tr");
    tr.append(el("td", {}, w.window), el("td", { class: "v" }, pct(w.errorRatio)),
      el("td", { class: "v" }, w.burnRate === null ? "n/a" : `${w.burnRate.toFixed(2)}×`));
    t.append(tr);
  }
  d.append(t);

  d.append(el("h2", {}, "Error budget remaining over the period"));
  const burn = el("div"); d.append(burn);
  try {
    const bd = await api(`/api/v1/slos/${encodeURIComponent(s.id)}/burndown`);
    drawChart(burn, [{ metric: { __name__: "budget remaining (1 = 100%)" }, values: bd.remaining }]);
  } catch (e) { showError(`burn-down: ${e.message}`); }

  d.append(el("h2", {}, "Burn rates, last 24 hours"));
  const rates = el("div"); d.append(rates);
  const end = Date.now() / 1000, start = end - 86400;
  const result = [];
  for (const q of s.burnRateQueries) {
    try {
      const data = await api(`/api/v1/query_range?query=${encodeURIComponent(q.query)}&start=${start}&end=${end}&step=300`);
      for (const r of data.result) result.push({ metric: { __name__: `burn rate ${q.window}` }, values: r.values });
    } catch (e) { showError(`burn rate ${q.window}: ${e.message}`); }
  }
  if (result.length) drawChart(rates, result); else rates.append(el("p", { class: "muted" }, "No data."));
}

(async function init() {
  try {
    const slos = await api("/api/v1/slos");
    listTable(slos);
    const want = new URLSearchParams(location.search).get("id");
    const pick = slos.find((s) => s.id === want) || slos[0];
    if (pick) detail(pick);
  } catch (e) { showError(e.message); }
})();
