// Charts drawn as SVG by the browser: a time-series line chart of
// Prometheus-shaped series with optional markers (deploys, rollbacks), and
// a sparkline. Needs common.js (el).
"use strict";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function seriesName(metric) {
  const name = metric.__name__ || "";
  const rest = Object.keys(metric).filter((k) => k !== "__name__")
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  return rest.length ? `${name}{${rest.join(", ")}}` : (name || "{}");
}

// Round tick spacing (1, 2 or 5 × 10^k) giving about `n` ticks over `span`.
function niceStep(span, n) {
  const raw = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const f of [1, 2, 5, 10]) if (raw <= f * mag) return f * mag;
  return 10 * mag;
}

// A time-axis step a person reads as a clock interval (10 min, 1 h, 6 h,
// 1 d), giving at most about `n` ticks over `span` seconds.
const CLOCK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400, 172800, 604800, 1209600, 2592000];
function clockStep(span, n) {
  const raw = span / n;
  return CLOCK_STEPS.find((s) => s >= raw) || niceStep(span, n);
}

function tickLabel(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1);
  return String(+v.toPrecision(6));
}

// Marker labels, laid out left to right in up to MARKER_ROWS rows: each
// goes to the first row where it does not overlap the label before it; a
// label that fits no row is left out (its line and hover title stay).
const MARKER_ROWS = 3, MARKER_ROW_H = 14, MARKER_CHAR_W = 6.6;
function layoutMarkers(markers, px, x0, x1, right) {
  const ends = [];
  const out = [];
  for (const m of markers.slice().sort((a, b) => a.t - b.t)) {
    if (!(m.t >= x0 && m.t <= x1)) continue;
    const x = px(m.t);
    const w = m.label.length * MARKER_CHAR_W + 4;
    const nearEnd = x + 3 + w > right;
    const from = nearEnd ? x - 3 - w : x + 3;
    let row = ends.findIndex((end) => end < from);
    if (row < 0 && ends.length < MARKER_ROWS) row = ends.length;
    if (row >= 0) ends[row] = from + w;
    out.push({ m, x, row, nearEnd });
  }
  return { placed: out, rows: ends.length };
}

// Draws `result` (Prometheus matrix entries: {metric, values, dash}) into
// `target`, as wide as the target is, so 11 px text stays 11 px.
// opts: {height, x0, x1 (seconds), markers: [{t, label, kind, title}],
// zeroLine (the y axis includes 0), yMax (values never above it), yFormat,
// bands: [{t0, t1, label}] (shaded time ranges), hlines: [{v, label}]
// (reference levels, kept in the y range), padBelow (a share of the y range
// added under the lowest value)}. Returns the SVG, or null without data.
function drawChart(target, result, opts) {
  opts = opts || {};
  // The box's width less the SVG's 1 px border on each side.
  const W = Math.max(320, Math.round(target.clientWidth ? target.clientWidth - 2 : 960)), H = opts.height || 340, L = 64, R = 12, B = 28;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  const series = result.map((s) => s.values.map(([t, v]) => [t, parseFloat(v)]));
  for (const pts of series) for (const [t, v] of pts) {
    x0 = Math.min(x0, t); x1 = Math.max(x1, t);
    if (isFinite(v)) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
  }
  if (!isFinite(y0)) { target.append(el("p", { class: "muted" }, "No data in this range.")); return null; }
  if (isFinite(opts.x0)) x0 = opts.x0;
  if (isFinite(opts.x1)) x1 = opts.x1;
  if (opts.zeroLine) { y0 = Math.min(y0, 0); }
  for (const h of opts.hlines || []) if (isFinite(h.v)) { y0 = Math.min(y0, h.v); y1 = Math.max(y1, h.v); }
  // A series along its own minimum would hide in the x axis.
  if (opts.padBelow) y0 -= (y1 - y0) * opts.padBelow;
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  // A flat series, or one whose values differ only by float noise: a tick
  // step below the values' precision would never advance the tick loop.
  const mag = Math.max(Math.abs(y0), Math.abs(y1));
  if (y1 - y0 <= mag * 1e-9) { const pad = mag ? mag / 10 : 1; y0 = opts.zeroLine && y0 === 0 ? 0 : y0 - pad; y1 += pad; }
  const ys = niceStep(y1 - y0, 5);
  y0 = Math.floor(y0 / ys) * ys; y1 = Math.ceil(y1 / ys) * ys;
  // A ceiling the values cannot pass (a budget is never above 100 %): the
  // rounded-up tick would only add empty space.
  const capped = isFinite(opts.yMax) && y1 > opts.yMax;
  if (capped) y1 = opts.yMax;
  const px = (t) => L + (t - x0) / (x1 - x0) * (W - L - R);
  const marks = layoutMarkers(opts.markers || [], px, x0, x1, W - R);
  const T = marks.rows ? 6 + marks.rows * MARKER_ROW_H : 10;
  const py = (v) => T + (y1 - v) / (y1 - y0) * (H - T - B);
  const fmtY = opts.yFormat || tickLabel;

  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  const yTicks = [];
  for (let i = 0, v = y0; v <= y1 + ys * 1e-6 && i < 50; i++, v = y0 + i * ys) yTicks.push(v);
  if (capped && y1 - yTicks[yTicks.length - 1] > ys / 3) yTicks.push(y1);
  for (const v of yTicks) {
    svg.append(el("svg:line", { class: "grid", x1: L, x2: W - R, y1: py(v), y2: py(v) }));
    svg.append(el("svg:text", { class: "tick y", x: L - 6, y: py(v) + 4, "text-anchor": "end" }, fmtY(v)));
  }
  const xs = clockStep(x1 - x0, Math.max(2, Math.floor((W - L - R) / 110)));
  const longSpan = x1 - x0 > 2 * 86400;
  // Ticks on round local clock times (05:00, 06:00; midnight for days).
  const off = -new Date(x0 * 1000).getTimezoneOffset() * 60;
  const t0 = Math.ceil((x0 + off) / xs) * xs - off;
  for (let i = 0, t = t0; t <= x1 && i < 50; i++, t = t0 + i * xs) {
    const d = new Date(t * 1000);
    const day = `${d.getMonth() + 1}/${d.getDate()}`;
    const label = xs >= 86400 ? day : longSpan ? `${day} ${d.toTimeString().slice(0, 5)}` : d.toTimeString().slice(0, 5);
    svg.append(el("svg:line", { class: "grid", x1: px(t), x2: px(t), y1: T, y2: H - B }));
    svg.append(el("svg:text", { class: "tick x", x: px(t), y: H - B + 16, "text-anchor": "middle" }, label));
  }
  svg.append(el("svg:line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  svg.append(el("svg:line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  if (opts.zeroLine && y0 < 0) svg.append(el("svg:line", { class: "zero", x1: L, x2: W - R, y1: py(0), y2: py(0) }));
  drawBandsAndLevels(svg, opts, { px, py, x0, x1, left: L, right: W - R, top: T, bottom: H - B });

  // Typical spacing between points; a larger gap (or NaN) breaks the line.
  series.forEach((pts, i) => {
    let gap = Infinity;
    if (pts.length > 1) {
      const d = pts.slice(1).map((p, j) => p[0] - pts[j][0]).sort((a, b) => a - b);
      gap = d[Math.floor(d.length / 2)] * 1.5;
    }
    let path = "", prev = null;
    for (const [t, v] of pts) {
      if (!isFinite(v) || t < x0 || t > x1) { prev = null; continue; }
      path += `${prev === null || t - prev > gap ? "M" : "L"}${px(t).toFixed(1)},${py(v).toFixed(1)}`;
      prev = t;
    }
    const color = COLORS[i % COLORS.length];
    if (path) {
      const attrs = { d: path, fill: "none", stroke: color, "stroke-width": 1.5 };
      if (result[i].dash) attrs["stroke-dasharray"] = result[i].dash;
      const p = el("svg:path", attrs);
      p.append(el("svg:title", {}, seriesName(result[i].metric)));
      svg.append(p);
    }
    if (pts.length === 1 && isFinite(pts[0][1])) {
      svg.append(el("svg:circle", { cx: px(pts[0][0]), cy: py(pts[0][1]), r: 3, fill: color }));
    }
  });

  // Markers last, so they sit on top.
  for (const { m, x, row, nearEnd } of marks.placed) {
    const g = el("svg:g", { class: `deploy ${m.kind}` });
    g.append(el("svg:title", {}, m.title || m.label));
    g.append(el("svg:line", { class: `marker ${m.kind}`, x1: x, x2: x, y1: row >= 0 ? 8 + row * MARKER_ROW_H : T, y2: H - B }));
    if (row >= 0) {
      g.append(el("svg:text", { class: `marker-label ${m.kind}`, x: nearEnd ? x - 3 : x + 3, y: 14 + row * MARKER_ROW_H, "text-anchor": nearEnd ? "end" : "start" }, m.label));
    }
    svg.append(g);
  }
  target.append(svg);
  return svg;
}

// Shaded time ranges (behind the lines, drawn before them) and labelled
// horizontal reference levels.
function drawBandsAndLevels(svg, opts, f) {
  for (const b of opts.bands || []) {
    const a = Math.max(f.x0, b.t0), z = Math.min(f.x1, b.t1);
    if (!(z > a)) continue;
    const g = el("svg:g", { class: "band" });
    g.append(el("svg:title", {}, b.label || ""));
    g.append(el("svg:rect", { x: f.px(a), y: f.top, width: Math.max(1, f.px(z) - f.px(a)), height: f.bottom - f.top }));
    if (b.label) g.append(el("svg:text", { x: f.px(a) + 4, y: f.top + 13 }, b.label));
    svg.append(g);
  }
  for (const h of opts.hlines || []) {
    if (!isFinite(h.v)) continue;
    const y = f.py(h.v);
    svg.append(el("svg:line", { class: "level", x1: f.left, x2: f.right, y1: y, y2: y }));
    // At the left end: bands (incidents, recent by nature) sit on the right.
    if (h.label) svg.append(el("svg:text", { class: "level-label", x: f.left + 4, y: y - 4 }, h.label));
  }
}

// A legend for a chart's series.
function chartLegend(result) {
  const d = el("div", { class: "legend" });
  result.forEach((s, i) => d.append(el("span", { class: "legend-item" },
    el("span", { class: "swatch", style: s.dash ? `background:repeating-linear-gradient(90deg, ${COLORS[i % COLORS.length]} 0 4px, transparent 4px 7px)` : `background:${COLORS[i % COLORS.length]}` }), seriesName(s.metric))));
  return d;
}

// A small line of [[t, v], …] (no axes), for the catalog.
function sparkline(points, color) {
  const W = 120, H = 28;
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  const pts = (points || []).map(([t, v]) => [t, parseFloat(v)]).filter(([, v]) => isFinite(v));
  if (pts.length < 2) return svg;
  let x0 = pts[0][0], x1 = pts[pts.length - 1][0], y0 = Infinity, y1 = -Infinity;
  for (const [, v] of pts) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  if (x1 === x0) x1 += 1;
  const d = pts.map(([t, v], i) => `${i ? "L" : "M"}${((t - x0) / (x1 - x0) * W).toFixed(1)},${(2 + (y1 - v) / (y1 - y0) * (H - 4)).toFixed(1)}`).join("");
  svg.append(el("svg:path", { d, fill: "none", stroke: color || "#2358c5", "stroke-width": 1.5, "vector-effect": "non-scaling-stroke" }));
  return svg;
}
