// Shared by the console pages: DOM helpers and an SVG line chart of
// Prometheus-shaped series. Plain DOM calls only (no innerHTML with data),
// so label values cannot inject markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function seriesName(metric) {
  const name = metric.__name__ || "";
  const rest = Object.keys(metric).filter((k) => k !== "__name__")
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  return rest.length ? `${name}{${rest.join(", ")}}` : (name || "{}");
}

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Round tick spacing (1, 2 or 5 × 10^k) giving about `n` ticks over `span`.
function niceStep(span, n) {
  const raw = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const f of [1, 2, 5, 10]) if (raw <= f * mag) return f * mag;
  return 10 * mag;
}

function fmtNum(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(+v.toPrecision(6));
}

// Draws `result` (Prometheus matrix entries: {metric, values}) into `target`.
function drawChart(target, result) {
  const W = 960, H = 340, L = 64, R = 12, T = 10, B = 28;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  const series = result.map((s) => s.values.map(([t, v]) => [t, parseFloat(v)]));
  for (const pts of series) for (const [t, v] of pts) {
    x0 = Math.min(x0, t); x1 = Math.max(x1, t);
    if (isFinite(v)) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
  }
  if (!isFinite(x0) || !isFinite(y0)) return;
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const ys = niceStep(y1 - y0, 5);
  y0 = Math.floor(y0 / ys) * ys; y1 = Math.ceil(y1 / ys) * ys;
  const px = (t) => L + (t - x0) / (x1 - x0) * (W - L - R);
  const py = (v) => T + (y1 - v) / (y1 - y0) * (H - T - B);

  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  for (let v = y0; v <= y1 + ys / 2; v += ys) {
    svg.append(el("svg:line", { class: "grid", x1: L, x2: W - R, y1: py(v), y2: py(v) }));
    svg.append(el("svg:text", { x: L - 6, y: py(v) + 4, "text-anchor": "end" }, fmtNum(v)));
  }
  const xs = niceStep(x1 - x0, 6);
  const longSpan = x1 - x0 > 2 * 86400;
  for (let t = Math.ceil(x0 / xs) * xs; t <= x1; t += xs) {
    const d = new Date(t * 1000);
    const label = longSpan ? `${d.getMonth() + 1}/${d.getDate()} ${d.toTimeString().slice(0, 5)}` : d.toTimeString().slice(0, 8);
    svg.append(el("svg:line", { class: "grid", x1: px(t), x2: px(t), y1: T, y2: H - B }));
    svg.append(el("svg:text", { x: px(t), y: H - B + 16, "text-anchor": "middle" }, label));
  }
  svg.append(el("svg:line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  svg.append(el("svg:line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));

  // Typical spacing between points; a larger gap (or NaN) breaks the line.
  series.forEach((pts, i) => {
    let gap = Infinity;
    if (pts.length > 1) {
      const d = pts.slice(1).map((p, j) => p[0] - pts[j][0]).sort((a, b) => a - b);
      gap = d[Math.floor(d.length / 2)] * 1.5;
    }
    let path = "", prev = null;
    for (const [t, v] of pts) {
      if (!isFinite(v)) { prev = null; continue; }
      path += `${prev === null || t - prev > gap ? "M" : "L"}${px(t).toFixed(1)},${py(v).toFixed(1)}`;
      prev = t;
    }
    const color = COLORS[i % COLORS.length];
    const p = el("svg:path", { d: path, fill: "none", stroke: color, "stroke-width": 1.5 });
    p.append(el("svg:title", {}, seriesName(result[i].metric)));
    svg.append(p);
    if (pts.length === 1 && isFinite(pts[0][1])) {
      svg.append(el("svg:circle", { cx: px(pts[0][0]), cy: py(pts[0][1]), r: 3, fill: color }));
    }
  });
  target.append(svg);
}
