// The query page: sends the expression to /api/v1/query or
// /api/v1/query_range and shows the answer as a table or an SVG line chart.
// Plain DOM calls only (no innerHTML with data), so label values cannot
// inject markup.
"use strict";

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

function clear() {
  clearError();
  for (const id of ["notes", "meta", "chart", "table"]) $(id).replaceChildren();
}

function mode() { return document.querySelector("input[name=mode]:checked").value; }

async function run(ev) {
  if (ev) ev.preventDefault();
  clear();
  const expr = $("expr").value.trim();
  if (!expr) return showError("Type a PromQL expression first.");
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
    const text = await resp.text();
    try { json = JSON.parse(text); } catch { json = { status: "error", error: text.trim() || resp.statusText }; }
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
    drawChart($("chart"), data.result);
    legend(data.result);
  } else {
    resultTable(data);
  }
}

function resultTable(data) {
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
