// Shared by every console page: DOM helpers, API calls that surface the
// server's own error message, formatting and links between pages. Plain DOM
// calls only (no innerHTML with data), so label values cannot inject markup.
"use strict";

const $ = (id) => document.getElementById(id);

// el("a", {href}, "text") or el("div", {}, child, "text", ...): strings
// become text nodes, null/undefined/false children are skipped.
// A `style` goes through the CSSOM: the Content-Security-Policy refuses
// style attributes (no 'unsafe-inline'), not styles set from script.
function el(tag, attrs, ...kids) {
  const e = tag.startsWith("svg:") ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "style") e.style.cssText = v; else e.setAttribute(k, v);
  }
  for (const k of kids) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : String(k));
  }
  return e;
}

// Forms that only hold inputs for buttons of their own (no submit): the
// policy allows no inline `onsubmit`, so Enter is stopped here.
for (const f of document.querySelectorAll("form[data-no-submit]")) f.addEventListener("submit", (ev) => ev.preventDefault());

function showError(msg) { const e = $("error"); if (!e) return; e.textContent = msg; e.style.display = "block"; }
function clearError() { const e = $("error"); if (!e) return; e.textContent = ""; e.style.display = "none"; unreachable = false; }

// A query-string parameter; null when absent. URLSearchParams never throws,
// even on malformed escapes like %ZZ.
function param(name) { return new URLSearchParams(location.search).get(name); }

// The loading state: the layout's #loading line is shown from the start, so
// an empty page never looks like an answer. It goes once no API call is in
// flight; a later refresh only shows it when it takes long enough to notice.
let inflight = 0, loadedOnce = false, loadingTimer = null, unreachable = false;
const SLOW_REFRESH_MS = 600;
function setLoading(on) {
  const e = $("loading");
  if (e) e.hidden = !on;
}
function requestStarted() {
  inflight++;
  if (loadedOnce && !loadingTimer) loadingTimer = setTimeout(() => { loadingTimer = null; if (inflight) setLoading(true); }, SLOW_REFRESH_MS);
}
function requestEnded() {
  inflight--;
  // A page often awaits one answer and then asks the next: wait a turn of
  // the event loop before calling the page loaded.
  setTimeout(() => {
    if (inflight) return;
    loadedOnce = true;
    if (loadingTimer) { clearTimeout(loadingTimer); loadingTimer = null; }
    setLoading(false);
  }, 0);
}
document.addEventListener("DOMContentLoaded", () => { if (!inflight) { loadedOnce = true; setLoading(false); } });

// Why an API answer is not data, in words a person can act on: the
// server's own message and the HTTP status, or that the server could not
// be reached at all.
class ApiError extends Error {
  constructor(message, status, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}
const MAX_SHOWN_BODY = 300;
function failure(path, r, text) {
  const t = String(text || "").trim();
  const said = t.length > MAX_SHOWN_BODY ? `${t.slice(0, MAX_SHOWN_BODY)}…` : t;
  const status = `HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ""}`;
  return new ApiError(said ? `${said} (${status})` : `${path} answered ${status}`, r.status, path);
}

// Signed in through /login: state-changing requests carry the session's
// CSRF token (its cookie is readable on purpose; the session cookie is not).
function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)homeostat_csrf=([^;]+)/);
  return m ? m[1] : null;
}

async function request(path, init) {
  let r;
  const method = ((init && init.method) || "GET").toUpperCase();
  const token = csrfToken();
  if (token && method !== "GET" && method !== "HEAD") {
    init = { ...init, headers: { ...((init && init.headers) || {}), "X-CSRF-Token": token } };
  }
  requestStarted();
  try {
    try { r = await fetch(path, init); } catch (e) {
      const err = new ApiError(`cannot reach the homeostat server at ${location.origin} (${path}: ${e.message}); is it running?`, 0, path);
      unreachable = true;
      showError(err.message);
      throw err;
    }
    // Back after an outage: the stale "cannot reach" message goes.
    if (unreachable) clearError();
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = text; }
    return { r, body };
  } finally {
    requestEnded();
  }
}

// The JSON API's envelope: `data` on success; the server's `error` otherwise.
async function api(path, init) {
  const { r, body } = await request(path, init);
  if (r.ok && body && body.status === "success") return body.data;
  if (r.ok) throw new ApiError(`${path}: the answer is not the API's JSON envelope (HTTP ${r.status})`, r.status, path);
  throw failure(path, r, body && typeof body === "object" ? body.error : body);
}

// Alertmanager's API v2 answers plain JSON, and errors as a JSON string.
async function am(path, init) {
  const { r, body } = await request(path, init);
  if (r.ok) return body;
  throw failure(path, r, typeof body === "string" ? body : body && body.error);
}

// The last resort for a page script that lets a failure escape.
window.addEventListener("unhandledrejection", (ev) => {
  const e = ev.reason;
  showError(e && e.message ? e.message : String(e));
});

function user() { try { return localStorage.getItem("homeostat.user") || ""; } catch { return ""; } }
function rememberUser(u) { try { localStorage.setItem("homeostat.user", u); } catch { /* private mode */ } }

function sendJSON(path, method, body, actor) {
  const headers = { "content-type": "application/json" };
  if (actor) headers["x-homeostat-user"] = actor;
  return api(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}
const post = (path, body, actor) => sendJSON(path, "POST", body, actor);

// Formatting.
function pct(v, digits) {
  return v === null || v === undefined || !isFinite(v) ? "n/a" : `${(v * 100).toFixed(digits === undefined ? 2 : digits)}%`;
}
function fmtNum(v) {
  if (v === null || v === undefined || !isFinite(v)) return "n/a";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(+v.toPrecision(4));
}
function fmtSeconds(v) {
  if (v === null || v === undefined || !isFinite(v)) return "n/a";
  return v < 1 ? `${+(v * 1000).toPrecision(3)} ms` : `${+v.toPrecision(3)} s`;
}
function toSec(t) { // RFC 3339 string or seconds → seconds
  if (t === null || t === undefined) return NaN;
  return typeof t === "number" ? t : Date.parse(t) / 1000;
}
function fmtTime(t) {
  const s = toSec(t);
  if (!isFinite(s)) return "—";
  const d = new Date(s * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
// With seconds, for records where the order of events within a minute
// matters (incident timelines).
function fmtTimeSec(t) {
  const s = toSec(t);
  if (!isFinite(s)) return "—";
  return `${fmtTime(s)}:${String(new Date(s * 1000).getSeconds()).padStart(2, "0")}`;
}
// The zone fmtTime and fmtTimeSec show times in (the browser's own).
function timeZoneName() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time"; } catch { return "local time"; }
}
// Seconds → "45s", "5m", "1h 30m", "2d 4h" (two largest units).
function fmtDuration(sec) {
  if (sec === null || sec === undefined || !isFinite(sec)) return "n/a";
  let s = Math.round(Math.abs(sec));
  if (s === 0) return "0s";
  const parts = [];
  for (const [u, n] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (s >= n) { parts.push(`${Math.floor(s / n)}${u}`); s %= n; }
  }
  return parts.slice(0, 2).join(" ");
}
function age(t) {
  const s0 = toSec(t);
  if (!isFinite(s0)) return "n/a";
  const s = Math.max(0, Date.now() / 1000 - s0);
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}

// Remaining budget → ok (above 50%), warn, bad (at or below 0 … 10%).
function budgetClass(r) {
  if (r === null || r === undefined || !isFinite(r)) return "none";
  return r <= 0.1 ? "bad" : r <= 0.5 ? "warn" : "ok";
}
function badge(text, cls, title) { return el("span", { class: `badge ${cls}`, title }, text); }

// Links between pages.
function link(href, text, attrs) { return el("a", Object.assign({ href }, attrs || {}), text); }
// A URL from outside (an alert's runbook_url, a generatorURL) as a link only
// when it is http(s): a `javascript:` or `data:` URL in an annotation must
// not become something a click runs. Anything else is shown as text.
function externalLink(url, text) {
  let u = null;
  try { u = new URL(String(url), location.href); } catch { u = null; }
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) {
    return el("span", { class: "mono", title: "not an http(s) URL, so not a link" }, text === url ? String(url) : `${text}: ${url}`);
  }
  return el("a", { href: u.href, rel: "noopener noreferrer" }, text);
}
const serviceHref = (s) => `/console/service?name=${encodeURIComponent(s)}`;
const sloHref = (id) => `/console/slo?id=${encodeURIComponent(id)}`;
const incidentHref = (id) => `/console/incident?id=${encodeURIComponent(id)}`;
function queryHref(expr, range) {
  return `/console/query?${new URLSearchParams({ expr, mode: "range", range: range || "1h" })}`;
}
function queryLink(expr, text, range) { return link(queryHref(expr, range), text || "query", { class: "small", title: expr }); }

// A table from headers and rows of cells (strings or nodes); `empty` is
// shown when there are no rows. Headers starting with "#" are numeric.
function table(headers, rows, empty) {
  const t = el("table");
  const head = el("tr");
  for (const h of headers) head.append(el("th", h.startsWith("#") ? { class: "v" } : {}, h.replace(/^#/, "")));
  t.append(head);
  if (!rows.length && empty) t.append(el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, empty)));
  for (const cells of rows) {
    const tr = el("tr");
    cells.forEach((c, i) => tr.append(el("td", headers[i] && headers[i].startsWith("#") ? { class: "v" } : {}, c)));
    t.append(tr);
  }
  return el("div", { class: "scroll" }, t);
}

// Label pairs as chips (`name=value`), e.g. an alert's labels or a group key.
function chips(pairs) {
  const box = el("span", { class: "chips" });
  for (const [k, v] of pairs) box.append(el("span", { class: "chip", title: `${k}="${v}"` }, el("span", { class: "k" }, k), "=", v));
  return box;
}

function stateBadge(s) { return el("span", { class: `state-${s}` }, s); }

function outcomeBadge(d) {
  const o = d.outcome;
  const cls = o === "succeeded" ? "ok" : o === "in_progress" ? "info" : "bad";
  return badge(o.replace(/_/g, " "), cls);
}

// Deploys → chart markers: each deploy at its start, a recorded rollback at
// its own time; failed and rolled-back deploys drawn in red.
function deployMarkers(deploys) {
  const out = [];
  for (const d of deploys || []) {
    const bad = d.outcome === "failed" || d.outcome === "rolled_back";
    out.push({ t: toSec(d.startedAt), label: d.version, kind: bad ? "failed" : "deploy", title: `deploy ${d.id}: ${d.service} ${d.version} (${d.outcome})` });
    if (d.rollback) out.push({ t: toSec(d.rollback.at), label: `↩ ${d.version}`, kind: "rollback", title: `rollback of ${d.version}: ${d.rollback.reason || ""}` });
  }
  return out.filter((m) => isFinite(m.t));
}

// Chaos → chart markers: an experiment at its start (and its end), a Chaos
// Monkey termination at its time; aborted or deviated runs in red.
function chaosMarkers(runs, terminations, service) {
  const out = [];
  for (const r of runs || []) {
    const bad = r.status === "aborted" || r.status === "failed" || r.deviated;
    out.push({ t: toSec(r.startedAt), label: `⚡ ${r.title}`, kind: bad ? "failed" : "chaos", title: `chaos experiment ${r.id}: ${r.title} (${r.status})` });
    if (r.finishedAt) out.push({ t: toSec(r.finishedAt), label: `⚡ end`, kind: "chaos", title: `chaos experiment ${r.id} ended: ${r.status}` });
  }
  for (const t of terminations || []) {
    if (service && t.service !== service) continue;
    out.push({ t: toSec(t.at), label: `✕ ${t.target}`, kind: "chaos", title: `chaos monkey (${t.group}) terminated ${t.target}: ${t.outcome}` });
  }
  return out.filter((m) => isFinite(m.t));
}

// A span of seconds as people say it: "45 s", "12 min", "7 h", "3 d".
function fmtSpan(secs) {
  if (secs === null || secs === undefined || !isFinite(secs)) return "n/a";
  if (secs < 90) return `${Math.round(secs)} s`;
  if (secs < 5400) return `${Math.round(secs / 60)} min`;
  if (secs < 172800) return `${Math.round(secs / 3600)} h`;
  return `${Math.round(secs / 86400)} d`;
}

// An error budget (an SLO's `budget`, or a catalog SLO) as a badge: what is
// left, or "exhausted" once spent — never a negative share.
function budgetBadge(b, digits) {
  const title = budgetNote(b);
  if (b.exhausted) return badge("exhausted", "bad", title);
  if (b.remaining === null || b.remaining === undefined) return badge("no data", "none", title);
  return badge(`${pct(b.remaining, digits === undefined ? 1 : digits)} left`, budgetClass(b.remaining), title);
}

// "spent 2.4× the budget; based on 7 h of data".
function budgetNote(b) {
  const parts = [];
  if (b.exhausted && Number.isFinite(b.overspend)) parts.push(`spent ${b.overspend.toFixed(1)}× the budget`);
  if (Number.isFinite(b.basedOnSeconds)) parts.push(`based on ${fmtSpan(b.basedOnSeconds)} of data`);
  return parts.join("; ");
}
