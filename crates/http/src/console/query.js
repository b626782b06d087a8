// The query page: sends the expression to /api/v1/query or
// /api/v1/query_range and shows the answer as a table or an SVG line chart.
// Plain DOM calls only (no innerHTML with data), so label values cannot
// inject markup.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const UNITS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

// "1h30m" or "90" → seconds; null when unreadable.
function parseDuration(s) {
  s = s.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s);
  const re = /(\d+)(ms|s|m|h|d|w|y)/g;
  let total = 0, used = 0, m;
  while ((m = re.exec(s)) !== null) { total += parseInt(m[1], 10) * UNITS[m[2]]; used += m[0].length; }
  return used === s.length && used > 0 ? total : null;
}

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

function clear() {
  $("error").style.display = "none";
  for (const id of ["error", "notes", "meta", "chart", "table"]) $(id).replaceChildren();
}

function showError(msg) {
  $("error").textContent = msg;
  $("error").style.display = "block";
}

function mode() { return document.querySelector("input[name=mode]:checked").value; }

async function run(ev) {
  if (ev) ev.preventDefault();
  clear();
  const expr = $("expr").value.trim();
  if (!expr) return;
  const body = new URLSearchParams({ query: expr });
  let url = "/api/v1/query";
  let endText = $("end").value.trim();
  if (mode() === "range") {
    const range = parseDuration($("range").value);
    if (!range || range <= 0) return showError("range: expected a duration like 1h");
    let end = Date.now() / 1000;
    if (endText) {
      end = /^[\d.]+$/.test(endText) ? parseFloat(endText) : Date.parse(endText) / 1000;
      if (!isFinite(end)) return showError("end: expected Unix seconds or RFC 3339");
    }
    let step = $("step").value.trim() ? parseDuration($("step").value) : Math.max(1, Math.ceil(range / 250));
    if (!step || step <= 0) return showError("step: expected a duration like 15s");
    url = "/api/v1/query_range";
    body.set("start", String(end - range));
    body.set("end", String(end));
    body.set("step", String(step));
  } else if (endText) {
    body.set("time", endText);
  }
  const params = new URLSearchParams({ expr, mode: mode(), range: $("range").value, step: $("step").value, end: endText });
  history.replaceState(null, "", "?" + params.toString());

  const started = performance.now();
  let resp, json;
  try {
    resp = await fetch(url, { method: "POST", body });
    json = await resp.json();
  } catch (e) {
    return showError(`request failed: ${e}`);
  }
  if (json.status !== "success") {
    return showError(`${json.errorType || "error"} (HTTP ${resp.status}): ${json.error}`);
  }
  const notes = [...(json.warnings || []), ...(json.infos || [])];
  $("notes").textContent = notes.join("\n");
  const data = json.data;
  const n = Array.isArray(data.result) && data.resultType !== "scalar" && data.resultType !== "string"
    ? data.result.length : 1;
  $("meta").textContent = `${data.resultType}, ${n} result${n === 1 ? "" : "s"}, ${Math.round(performance.now() - started)} ms`;
  if (data.resultType === "matrix") {
    drawChart(data.result);
    legend(data.result);
  } else {
    table(data);
  }
}

function table(data) {
  const t = $("table");
  const head = el("tr");
  head.append(el("th", {}, "series"), el("th", {}, "value"));
  t.append(head);
  const rows = data.resultType === "vector"
    ? data.result.map((r) => [seriesName(r.metric), r.value[1]])
    : [[data.resultType, data.result[1]]];
  if (rows.length === 0) t.append(row("no data", ""));
  for (const [m, v] of rows) t.append(row(m, v));
}

function row(m, v) {
  const tr = el("tr");
  tr.append(el("td", { class: "m" }, m), el("td", { class: "v" }, v));
  return tr;
}

function legend(result) {
  const t = $("table");
  if (result.length === 0) return t.append(row("no data", ""));
  result.forEach((s, i) => {
    const tr = el("tr");
    const td = el("td", { class: "m" });
    td.append(el("span", { class: "swatch", style: `background:${COLORS[i % COLORS.length]}` }), seriesName(s.metric));
    tr.append(td, el("td", { class: "v" }, `${s.values.length} points`));
    t.append(tr);
  });
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

function drawChart(result) {
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
  $("chart").append(svg);
}

// Restore the last query from the address bar, so a page can be shared.
(function init() {
  const q = new URLSearchParams(location.search);
  if (q.get("expr")) $("expr").value = q.get("expr");
  if (q.get("range")) $("range").value = q.get("range");
  if (q.get("step")) $("step").value = q.get("step");
  if (q.get("end")) $("end").value = q.get("end");
  if (q.get("mode") === "range") document.querySelector("input[name=mode][value=range]").checked = true;
  $("form").addEventListener("submit", run);
  $("expr").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) run(e);
  });
  if (q.get("expr")) run();
})();
