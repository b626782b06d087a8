// One service (/console/service?name=checkout): its golden signals as
// charts with deploy markers, its SLOs, open incidents, deploys and the
// gate's answer. One catalog call, one deploys call and one signals call
// (which fills history from raw data where the recording starts later).
"use strict";

// Legend names per signal, from a series' labels.
const LEGENDS = {
  latency: (m) => `p${+(parseFloat(m.quantile) * 100).toFixed(1)} ${m.outcome || ""}`,
  traffic: () => "requests/s",
  errors: () => "error ratio",
  saturation: () => "saturation",
};

function rangeSeconds() {
  const r = parseInt(param("range") || "", 10);
  return [3600, 21600, 86400, 604800].includes(r) ? r : 21600;
}

// "traffic, 5 min rate" → "Traffic, 5 min rate (requests/s)".
function signalTitle(sig) {
  return `${sig.title.charAt(0).toUpperCase()}${sig.title.slice(1)} (${sig.unit})`;
}

// One chart of a signal from /api/v1/catalog/signals. Every axis starts at
// zero: a rate or a ratio read against a cropped axis looks like an outage.
function chart(cell, sig, start, end, markers) {
  const rangeLabel = `${Math.round((end - start) / 3600)}h`;
  cell.append(el("h3", {}, signalTitle(sig), " ", queryLink(sig.query, "query", rangeLabel)));
  const legend = LEGENDS[sig.name] || (() => sig.name);
  const result = sig.series.map((r) => ({ metric: { __name__: legend(r.labels) }, values: r.values }));
  const box = el("div", { class: "chart", "data-signal": sig.name });
  cell.append(box);
  drawChart(box, result, { height: 220, x0: start, x1: end, markers, zeroLine: true });
  if (result.length > 1) cell.append(chartLegend(result));
  const raw = sig.series.map((r) => r.rawUntil).filter((t) => Number.isFinite(t) && t > start);
  if (raw.length) {
    const until = Math.max(...raw);
    cell.append(el("p", { class: "small muted" }, until >= end
      ? "Computed from the raw series: the recording rule has written nothing in this range yet."
      : `Before ${fmtTime(until)}: computed from the raw series (the recording rule started later).`));
  }
}

function render(s, signals, deploysInRange, chaos, start, end) {
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

  const markers = deployMarkers(deploysInRange).concat(chaosMarkers(chaos.runs, chaos.terminations, s.name));
  const charts = $("charts");
  if (!s.goldenSignals) {
    charts.append(el("p", { class: "muted" }, "No golden signals recorded for this service: declare it under services: in the config."));
  } else if (!signals) {
    charts.append(el("p", { class: "bad" }, "Golden signals could not be read (see the error above)."));
  } else {
    for (const sig of signals.signals) {
      const cell = el("div", { class: "panel" });
      charts.append(cell);
      chart(cell, sig, start, end, markers);
    }
  }

  $("slos").append(table(["SLO", "#objective", "#SLI", "budget", "based on", "firing"], s.slos.map((o) => [
    link(sloHref(o.id), o.id), pct(o.objective, 3), pct(o.sli, 3),
    budgetBadge(o), Number.isFinite(o.basedOnSeconds) ? `${fmtSpan(o.basedOnSeconds)} of data` : "no data",
    o.firing.length ? badge(o.firing.join(", "), "bad") : "",
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
    const [cat, deploys, runs, terminations] = await Promise.all([
      api(`/api/v1/catalog?service=${q}&deploys=10`),
      api(`/api/v1/deploys?service=${q}&since=${start}&limit=200`).catch(() => []),
      // Chaos is optional: a server without it answers 404/503 and the
      // charts simply carry no chaos markers.
      api(`/api/v1/chaos/experiments?service=${q}&since=${start}&limit=200`).catch(() => []),
      api(`/api/v1/chaos/terminations?since=${start}&limit=500`).catch(() => []),
    ]);
    // Only a service with golden signals has charts (one that only
    // incidents or deploys name has a page, not signals).
    const signals = !cat.services[0].goldenSignals ? null
      : await api(`/api/v1/catalog/signals?service=${q}&range=${rangeSeconds()}`).catch((e) => {
        showError(`golden signals: ${e.message}`);
        return null;
      });
    render(cat.services[0], signals, deploys, { runs, terminations }, start, end);
  } catch (e) {
    $("title").textContent = "Service not found";
    showError(e.status === 404 ? `${e.message}. See the catalog for known services.` : `service ${name}: ${e.message}`);
  }
})();
