// One service (/console/service?name=checkout): its golden signals as
// charts with deploy markers, its SLOs, open incidents, deploys and the
// gate's answer. One catalog call, one deploys call, one range query per chart.
"use strict";

const CHARTS = [
  ["Latency (seconds)", (s) => `service:request_latency_seconds:quantile{service=${JSON.stringify(s)}}`,
    (m) => `p${+(parseFloat(m.quantile) * 100).toFixed(1)} ${m.outcome || ""}`],
  ["Traffic (requests/s)", (s) => `service:requests:rate5m{service=${JSON.stringify(s)}}`, () => "requests/s"],
  ["Errors (share of requests)", (s) => `service:request_errors:ratio_rate5m{service=${JSON.stringify(s)}}`, () => "error ratio"],
  ["Saturation", (s) => `service:saturation:ratio{service=${JSON.stringify(s)}}`, () => "saturation"],
];

function rangeSeconds() {
  const r = parseInt(param("range") || "", 10);
  return [3600, 21600, 86400, 604800].includes(r) ? r : 21600;
}

async function chart(cell, title, expr, legend, start, end, markers) {
  const step = Math.max(15, Math.ceil((end - start) / 240));
  const range = `${Math.round((end - start) / 3600)}h`;
  cell.append(el("h3", {}, title, queryLink(expr, "query", range)));
  try {
    const data = await api(`/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start}&end=${end}&step=${step}`);
    const result = data.result.map((r) => ({ metric: { __name__: legend(r.metric) }, values: r.values }));
    const box = el("div", { class: "chart" });
    cell.append(box);
    drawChart(box, result, { height: 220, x0: start, x1: end, markers });
    if (result.length > 1) cell.append(chartLegend(result));
  } catch (e) { cell.append(el("p", { class: "bad" }, `${title}: ${e.message}`)); }
}

function render(s, deploysInRange, start, end) {
  $("title").textContent = s.name;
  document.title = `${s.name} — homeostat`;
  const g = s.gate;
  $("gate").replaceChildren(!g ? badge("no gate policy", "none") : g.error ? badge(`gate: ${g.error}`, "warn")
    : el("span", {}, badge(g.allow ? "deploys allowed" : "deploys frozen", g.allow ? "ok" : "bad"), " ",
      el("span", { class: "small" }, g.reason || ""), " ", link(`/console/deploys?service=${encodeURIComponent(s.name)}#overrides`, "overrides", { class: "small" })));
  const deps = Array.isArray(s.dependsOn) ? s.dependsOn : Array.isArray(s.dependencies) ? s.dependencies : [];
  if (deps.length) {
    const d = $("deps");
    d.append("depends on ");
    deps.forEach((x, i) => { const n = typeof x === "string" ? x : x && x.name; if (n) d.append(i ? ", " : "", link(serviceHref(n), n)); });
  }

  const markers = deployMarkers(deploysInRange);
  const charts = $("charts");
  if (!s.goldenSignals) {
    charts.append(el("p", { class: "muted" }, "No golden signals recorded for this service: declare it under services: in the config."));
  } else {
    for (const [title, q, legend] of CHARTS) {
      const cell = el("div", { class: "panel" });
      charts.append(cell);
      chart(cell, title, q(s.name), legend, start, end, markers);
    }
  }

  $("slos").append(table(["SLO", "#objective", "#SLI", "#budget left", "firing"], s.slos.map((o) => [
    link(sloHref(o.id), o.id), pct(o.objective, 3), pct(o.sli, 3),
    badge(pct(o.remaining, 1), budgetClass(o.remaining)), o.firing.length ? badge(o.firing.join(", "), "bad") : "",
  ]), "No SLOs name this service."));
  $("incidents").append(table(["incident", "state", "severity", "opened"], s.incidents.map((i) => [
    link(incidentHref(i.id), `${i.id} ${i.title}`), stateBadge(i.state), i.severity, `${age(i.createdAt)} ago`,
  ]), "No open incidents."));
  $("deploys").append(table(["deploy", "version", "commit", "author", "started", "outcome", "rollback"], s.deploys.map((d) => [
    link(`/console/deploys?service=${encodeURIComponent(s.name)}#deploy-${d.id}`, String(d.id)), d.version, d.commit || "", d.author || "",
    fmtTime(d.startedAt), outcomeBadge(d), d.rollback ? `${d.rollback.action || "rollback"}: ${d.rollback.reason || ""}` : "",
  ]), "No deploys recorded."));
}

(async function init() {
  const name = param("name");
  if (!name || !name.trim()) {
    showError("No service named: open a service from the catalog (/console/service?name=<service>).");
    return;
  }
  const sel = $("range");
  sel.value = String(rangeSeconds());
  sel.addEventListener("change", () => { location.search = `?${new URLSearchParams({ name, range: sel.value })}`; });
  const end = Math.floor(Date.now() / 1000), start = end - rangeSeconds();
  try {
    const q = encodeURIComponent(name);
    const [cat, deploys] = await Promise.all([
      api(`/api/v1/catalog?service=${q}&deploys=10`),
      api(`/api/v1/deploys?service=${q}&since=${start}&limit=200`).catch(() => []),
    ]);
    render(cat.services[0], deploys, start, end);
  } catch (e) {
    $("title").textContent = "Service not found";
    showError(e.status === 404 ? `${e.message}. See the catalog for known services.` : `service ${name}: ${e.message}`);
  }
})();
