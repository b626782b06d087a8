// The services page: for every service declared under `services:` in the
// config, its four golden signals as recorded by the rule engine (latency
// quantiles for successes and failures, traffic, error ratio, saturation).
"use strict";

const SIGNALS = [
  ["Latency (seconds)", "service:request_latency_seconds:quantile", (m) => `p${parseFloat(m.quantile) * 100} ${m.outcome}`],
  ["Traffic (requests/s)", "service:requests:rate5m", () => "requests/s"],
  ["Errors (share of requests)", "service:request_errors:ratio_rate5m", () => "error ratio"],
  ["Saturation", "service:saturation:ratio", () => "saturation"],
];

async function service(name) {
  const box = el("section");
  box.append(el("h2", {}, link(serviceHref(name), name)));
  const grid = el("div", { class: "grid2" });
  box.append(grid);
  $("services").append(box);
  const end = Date.now() / 1000, start = end - 6 * 3600;
  for (const [title, metric, legend] of SIGNALS) {
    const cell = el("div", { class: "panel" });
    const q = `${metric}{service=${JSON.stringify(name)}}`;
    cell.append(el("h3", {}, title, queryLink(q, "query", "6h")));
    grid.append(cell);
    try {
      const data = await api(`/api/v1/query_range?query=${encodeURIComponent(q)}&start=${start}&end=${end}&step=90`);
      if (!data.result.length) { cell.append(el("p", { class: "muted" }, "No data.")); continue; }
      const box = el("div", { class: "chart" });
      cell.append(box);
      drawChart(box, data.result.map((r) => ({ metric: { __name__: legend(r.metric) }, values: r.values })), { height: 220 });
    } catch (e) { showError(`${name} ${title}: ${e.message}`); }
  }
}

(async function init() {
  try {
    const names = await api(`/api/v1/label/service/values?match[]=${encodeURIComponent("service:requests:rate5m")}`);
    if (!names.length) $("services").append(el("p", { class: "muted" }, "No services: declare them under services: in the config."));
    for (const n of names) await service(n);
  } catch (e) { showError(e.message); }
})();
