// The services page: for every service with golden signals, its four
// signals over the last 6 hours (latency quantiles for successes and
// failures, traffic, error ratio, saturation), each figure named with its
// window, from /api/v1/catalog/signals.
"use strict";

const LEGEND = {
  latency: (m) => `p${+(parseFloat(m.quantile) * 100).toFixed(1)} ${m.outcome || ""}`,
  traffic: () => "requests/s",
  errors: () => "error ratio",
  saturation: () => "saturation",
};

async function service(name) {
  const box = el("section");
  box.append(el("h2", {}, link(serviceHref(name), name)));
  const grid = el("div", { class: "grid2" });
  box.append(grid);
  $("services").append(box);
  let data;
  try {
    data = await api(`/api/v1/catalog/signals?service=${encodeURIComponent(name)}&range=6h`);
  } catch (e) { showError(`${name}: ${e.message}`); return; }
  for (const sig of data.signals) {
    const cell = el("div", { class: "panel" });
    cell.append(el("h3", {}, `${sig.title.charAt(0).toUpperCase()}${sig.title.slice(1)} (${sig.unit})`, " ", queryLink(sig.query, "query", "6h")));
    grid.append(cell);
    if (!sig.series.length) { cell.append(el("p", { class: "muted" }, "No data.")); continue; }
    const chart = el("div", { class: "chart", "data-signal": sig.name });
    cell.append(chart);
    const legend = LEGEND[sig.name] || (() => sig.name);
    drawChart(chart, sig.series.map((r) => ({ metric: { __name__: legend(r.labels) }, values: r.values })),
      { height: 220, x0: data.start, x1: data.end, zeroLine: true });
  }
}

(async function init() {
  try {
    const cat = await api("/api/v1/catalog?deploys=1");
    const names = cat.services.filter((s) => s.goldenSignals).map((s) => s.name);
    if (!names.length) $("services").append(el("p", { class: "muted" }, "No services: declare them under services: in the config."));
    for (const n of names) await service(n);
  } catch (e) { showError(e.message); }
})();
