// The incident pages: the list (/console/incidents) with a declare form,
// and one incident (/console/incident?id=INC-4): state, roles, lifecycle
// buttons, role and status-update forms, links to its service, SLO and
// alerts, suspect deploys, an impact chart (its SLO's SLI and burn rates
// around the incident window, with deploy markers), the timeline, action
// items and the postmortem.
"use strict";

// An Alertmanager group key (`{}/{route matchers}:{alertname="X", …}`) →
// the group's labels as [name, value] pairs; null when `key` is not one.
// The labels are the last top-level `{…}`; quoted values may hold braces.
function groupKeyLabels(key) {
  if (typeof key !== "string") return null;
  let depth = 0, quoted = false, open = -1, close = -1;
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (quoted) { if (c === "\\") i++; else if (c === '"') quoted = false; continue; }
    if (c === '"') quoted = true;
    else if (c === "{") { if (depth++ === 0) open = i; }
    else if (c === "}" && depth > 0 && --depth === 0) close = i;
  }
  if (open < 0 || close < open || depth !== 0 || (open > 0 && key[open - 1] !== ":")) return null;
  const body = key.slice(open + 1, close), pairs = [];
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")\s*(?:,|$)/y;
  while (re.lastIndex < body.length) {
    const at = re.lastIndex, m = re.exec(body);
    if (!m) return body.slice(at).trim() ? null : pairs;
    let v;
    try { v = JSON.parse(m[2]); } catch { v = m[2].slice(1, -1); }
    pairs.push([m[1], v]);
  }
  return pairs;
}

// A group key as label chips; the raw key when it does not parse.
function groupKeyNode(key) {
  const pairs = groupKeyLabels(key);
  if (!pairs) return el("code", {}, key);
  return pairs.length ? chips(pairs) : el("span", { class: "muted" }, "(every alert)");
}

// A timeline summary with any group key in it shown as label chips.
function summaryNode(text, keys) {
  for (const k of keys) {
    const at = k ? text.indexOf(k) : -1;
    if (at >= 0) return el("span", {}, text.slice(0, at), groupKeyNode(k), text.slice(at + k.length));
  }
  return text;
}

async function listPage() {
  const render = async () => {
    const state = $("state").value;
    const list = await api(`/api/v1/incidents${state ? `?state=${encodeURIComponent(state)}` : ""}`);
    $("list").replaceChildren(table(["incident", "state", "severity", "service", "opened", "title"], list.map((i) => [
      link(incidentHref(i.id), i.id), stateBadge(i.state), i.severity,
      i.service ? link(serviceHref(i.service), i.service) : "", `${age(i.createdAt)} ago`, i.title,
    ]), "No incidents."));
  };
  const st = param("state");
  if (st !== null && [...$("state").options].some((o) => o.value === st)) $("state").value = st;
  $("state").addEventListener("change", () => render().catch((e) => showError(e.message)));
  const form = $("declare");
  form.elements.by.value = user();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const title = String(f.get("title") || "").trim(), by = String(f.get("by") || "").trim();
    if (!title) { showError("Give the incident a title: what is wrong?"); return; }
    if (!by) { showError("Type your name: the timeline records who declared it."); return; }
    rememberUser(by);
    try {
      const i = await post("/api/v1/incidents", {
        title, severity: f.get("severity"), service: String(f.get("service") || "").trim() || null, by,
      });
      location.href = incidentHref(i.id);
    } catch (e) { showError(`declaring: ${e.message}`); }
  });
  await render();
}

function related(i) {
  const out = el("ul");
  if (i.service) out.append(el("li", {}, "service ", link(serviceHref(i.service), i.service)));
  const slo = i.labels && i.labels.sloth_id;
  if (slo) out.append(el("li", {}, "SLO ", link(sloHref(slo), slo)));
  const alertname = i.labels && i.labels.alertname;
  out.append(el("li", {}, link(alertname ? `/console/alerts?alertname=${encodeURIComponent(alertname)}` : "/console/alerts",
    alertname ? `alerts named ${alertname}` : "alerts")));
  if (i.service) out.append(el("li", {}, link(`/console/deploys?service=${encodeURIComponent(i.service)}`, `deploys of ${i.service}`)));
  for (const u of i.runbookUrls || []) out.append(el("li", {}, "runbook ", externalLink(u, u)));
  return out;
}

// A deploy's lead over the burn's start, as words: "4 min before the
// burn", "40 s after it started" (a deploy during the burn can still be
// the cause of its worsening).
function leadText(secs) {
  const a = Math.abs(Math.round(secs));
  const span = a < 60 ? `${a} s` : a < 7200 ? `${Math.round(a / 60)} min` : `${(a / 3600).toFixed(1)} h`;
  return secs >= 0 ? `${span} before the burn` : `${span} after the burn started`;
}

async function suspects(id) {
  try {
    const s = await api(`/api/v1/incidents/${encodeURIComponent(id)}/suspects`);
    $("suspects").replaceChildren(s.suspects.length
      ? table(["#", "deploy", "#when", "outcome"], s.suspects.map((x) => [
        String(x.rank), link(`/console/deploys?service=${encodeURIComponent(x.deploy.service)}#deploy-${x.deploy.id}`,
          `${x.deploy.service} ${x.deploy.version}`), leadText(x.leadSeconds), outcomeBadge(x.deploy),
      ]))
      : el("p", { class: "muted small" }, s.reason || "No deploys in the hour before detection."));
    // Injected failure is the first thing to rule out: chaos goes on top.
    if ((s.chaos || []).length) {
      $("suspects").prepend(table(["chaos", "what", "status"], s.chaos.map((x) => [
        badge(x.kind === "experiment" ? "experiment" : "termination", x.runningAtBurn ? "bad" : "warn"),
        x.kind === "experiment" ? link(`/console/chaos?run=${encodeURIComponent(x.id)}`, x.summary) : x.summary,
        x.status])));
    }
  } catch (e) { $("suspects").replaceChildren(el("p", { class: "muted small" }, `suspects: ${e.message}`)); }
}

// Remediation runs on this incident; an action waiting for approval gets
// approve/reject buttons (docs/remediation.md).
async function remediation(id) {
  try {
    const runs = (await api("/api/v1/remediation/runs?limit=1000")).filter((r) => r.incident === id);
    const answer = (r, verb) => {
      const b = el("button", { type: "button" }, verb);
      b.addEventListener("click", async () => {
        try { await post(`/api/v1/remediation/runs/${encodeURIComponent(r.id)}/${verb}`, {}); clearError(); await remediation(id); }
        catch (e) { showError(`${verb} ${r.id}: ${e.message}`); }
      });
      return b;
    };
    $("remediation").replaceChildren(table(["run", "policy", "target", "state", "last step", ""], runs.map((r) => {
      const last = (r.steps || [])[r.steps.length - 1];
      const waiting = r.state === "pending-approval";
      return [r.id, r.policy, el("span", { class: "mono small" }, r.target),
        badge(r.state, r.state === "recovered" ? "ok" : r.state === "exhausted" || r.state === "denied" ? "bad" : "info"),
        el("span", { class: "small" }, last ? `${last.action ? `${last.action}: ` : ""}${last.detail}` : ""),
        waiting ? el("span", {}, answer(r, "approve"), " ", answer(r, "reject")) : ""];
    }), "No remediation policy acted on this incident."));
  } catch (e) { $("remediation").replaceChildren(el("p", { class: "muted small" }, `remediation: ${e.message}`)); }
}

// "5m", "1h", "1h30m", "30d" → seconds (NaN when not a duration).
function durationSeconds(d) {
  const units = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  const parts = String(d).match(/(\d+)(ms|s|m|h|d|w|y)/g);
  if (!parts || parts.join("") !== String(d)) return NaN;
  return parts.reduce((n, p) => { const [, v, u] = p.match(/(\d+)(ms|s|m|h|d|w|y)/); return n + Number(v) * units[u]; }, 0);
}

// The incident's SLOs: the one its alerts name, else every SLO of its service.
function incidentSlos(i, slos) {
  const id = i.labels && i.labels.sloth_id;
  if (id) return slos.filter((s) => s.id === id);
  return i.service ? slos.filter((s) => s.service === i.service) : [];
}

const IMPACT_SLOS = 2;

// The impact chart: for each of the incident's SLOs, the SLI over its
// shortest burn-rate window and the burn rates the page shows elsewhere,
// from before detection to resolution (or now), with the service's deploys
// marked and the incident window shaded.
async function impact(i) {
  const box = $("impact");
  if (!i) return;
  const now = Date.now() / 1000;
  const began = Math.min(toSec(i.createdAt), isFinite(toSec(i.detectedAt)) ? toSec(i.detectedAt) : Infinity);
  const ended = isFinite(toSec(i.resolvedAt)) ? toSec(i.resolvedAt) : now;
  const span = Math.max(ended - began, 600);
  const start = Math.floor(began - Math.max(1800, span / 2)), end = Math.ceil(Math.min(now, ended + Math.max(600, span / 4)));
  const step = Math.max(15, Math.ceil((end - start) / 240));
  const slos = incidentSlos(i, await api("/api/v1/slos").catch(() => [])).slice(0, IMPACT_SLOS);
  if (!slos.length) {
    box.replaceChildren(el("p", { class: "muted small" }, i.service
      ? `No SLO names ${i.service}: nothing to chart. See the service's golden signals.` : "No service or SLO on this incident: nothing to chart."));
    if (i.service) box.firstChild.append(" ", link(`${serviceHref(i.service)}&range=21600`, "golden signals"));
    return;
  }
  const deploys = i.service ? await api(`/api/v1/deploys?service=${encodeURIComponent(i.service)}&since=${start}&limit=200`).catch(() => []) : [];
  const common = { x0: start, x1: end, height: 200, markers: deployMarkers(deploys),
    bands: [{ t0: began, t1: ended, label: i.resolvedAt ? `${i.id}` : `${i.id} (${i.state}, ongoing)` }] };
  box.replaceChildren();
  for (const s of slos) {
    const windows = s.burnRates.filter((w) => w.query && isFinite(durationSeconds(w.window)))
      .sort((a, b) => durationSeconds(a.window) - durationSeconds(b.window));
    const panel = el("section", { class: "panel" }, el("h3", {}, link(sloHref(s.id), s.id),
      el("span", { class: "muted small" }, `objective ${pct(s.objective, 3)}, ${fmtTime(start)} – ${fmtTime(end)}`)));
    box.append(panel);
    const range = async (q) => (await api(`/api/v1/query_range?query=${encodeURIComponent(q)}&start=${start}&end=${end}&step=${step}`)).result;
    try {
      if (windows.length) {
        const w = windows[0];
        const sli = await range(`1 - (${w.query})`);
        panel.append(el("div", { class: "small muted" }, `SLI, ${w.window} window`));
        const c = el("div", { class: "chart impact-sli" });
        panel.append(c);
        drawChart(c, sli.map((r) => ({ metric: { __name__: `SLI ${w.window}` }, values: r.values })),
          Object.assign({}, common, { hlines: [{ v: s.objective, label: `objective ${pct(s.objective, 3)}` }], padBelow: 0.08, yFormat: (v) => `${+(v * 100).toFixed(3)}%` }));
      }
      const rates = [];
      for (const q of s.burnRateQueries || []) {
        for (const r of await range(q.query)) rates.push({ metric: { __name__: `burn rate ${q.window}` }, values: r.values });
      }
      panel.append(el("div", { class: "small muted" }, "Burn rate (1× spends the budget exactly over the period)"));
      const c = el("div", { class: "chart impact-burn" });
      panel.append(c);
      drawChart(c, rates, Object.assign({}, common, { hlines: [{ v: 1, label: "1×" }], zeroLine: true, yFormat: (v) => `${+v.toPrecision(3)}×` }));
      if (rates.length > 1) panel.append(chartLegend(rates));
    } catch (e) { panel.append(el("p", { class: "bad" }, `${s.id}: ${e.message}`)); }
  }
}

async function detailPage() {
  const id = param("id");
  if (!id || !id.trim()) {
    showError("No incident named: open one from the list (/console/incident?id=INC-1).");
    $("actions").style.display = "none";
    return;
  }
  const path = `/api/v1/incidents/${encodeURIComponent(id)}`;
  $("postmortem-link").href = `${path}/postmortem`;
  $("by").value = user();
  const byOrComplain = () => {
    const by = $("by").value.trim();
    if (!by) { showError("Type your name first: the timeline records who acted."); return null; }
    rememberUser(by);
    return by;
  };
  const render = async () => {
    const i = await api(path);
    $("title").textContent = `${i.id} — ${i.title}`;
    document.title = `${i.id} — homeostat`;
    const kv = el("div", { class: "kv" });
    const add = (k, v) => kv.append(el("span", {}, k), el("span", {}, v));
    add("state", stateBadge(i.state)); add("severity", i.severity);
    add("service", i.service ? link(serviceHref(i.service), i.service) : "n/a");
    if (i.groupKey) add("alert group", groupKeyNode(i.groupKey));
    add("opened", `${fmtTimeSec(i.createdAt)} (${age(i.createdAt)} ago)`);
    add("acknowledged", fmtTimeSec(i.acknowledgedAt)); add("mitigated", fmtTimeSec(i.mitigatedAt)); add("resolved", fmtTimeSec(i.resolvedAt));
    for (const [role, who] of Object.entries(i.roles || {})) add(role.replace(/_/g, " "), who);
    if (i.escalation) {
      add("paging", `policy ${i.escalation.policy}, ${i.escalation.status.state}` +
        (i.escalation.nextDeadline ? `, next level at ${fmtTimeSec(i.escalation.nextDeadline)}` : ""));
    }
    $("summary").replaceChildren(kv);
    $("related").replaceChildren(related(i));
    const tl = $("timeline");
    tl.replaceChildren();
    $("timeline-tz").textContent = `times in ${timeZoneName()}`;
    for (const e of i.timeline || []) {
      const keys = [e.data && e.data.group_key, i.groupKey].filter(Boolean);
      tl.append(el("li", {}, el("time", { class: "muted", datetime: e.at }, `${fmtTimeSec(e.at)} `), el("b", {}, e.kind.replace(/_/g, " ")),
        " ", summaryNode(e.summary, keys), e.actor ? el("span", { class: "muted" }, ` — ${e.actor}`) : null));
    }
    $("items").replaceChildren(table(["item", "owner", "due", "state"], (i.actionItems || []).map((a) =>
      [a.title, a.owner || "unowned", a.due || "no due date", a.state]), "None yet."));
    return i;
  };
  for (const b of document.querySelectorAll("button[data-step]")) {
    b.addEventListener("click", async () => {
      const by = byOrComplain();
      if (!by) return;
      try { await post(`${path}/${b.dataset.step}`, { by }); clearError(); await render(); }
      catch (e) { showError(`${b.textContent}: ${e.message}`); }
    });
  }
  $("role-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const by = byOrComplain();
    if (!by) return;
    const f = new FormData(ev.target);
    const who = String(f.get("user") || "").trim();
    if (!who) { showError("Name who takes the role."); return; }
    try { await post(`${path}/roles`, { role: f.get("role"), user: who, by }); clearError(); ev.target.reset(); await render(); }
    catch (e) { showError(`assigning the role: ${e.message}`); }
  });
  $("update-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const by = byOrComplain();
    if (!by) return;
    const text = String(new FormData(ev.target).get("text") || "").trim();
    if (!text) { showError("Write the status update first."); return; }
    try { await post(`${path}/updates`, { text, by }); clearError(); ev.target.reset(); await render(); }
    catch (e) { showError(`posting the update: ${e.message}`); }
  });
  let first;
  try {
    first = await render();
  } catch (e) {
    $("title").textContent = "Incident not found";
    showError(e.status === 404 || e.status === 400 ? `Incident not found: ${e.message}.` : e.message);
    for (const f of ["actions", "role-form", "update-form"]) $(f).style.display = "none";
    return;
  }
  suspects(id);
  remediation(id);
  impact(first).catch((e) => $("impact").replaceChildren(el("p", { class: "bad" }, `impact: ${e.message}`)));
  fetch(`${path}/postmortem`).then((r) => r.ok ? r.text() : "").then((t) => { $("postmortem").textContent = t || "No postmortem yet."; })
    .catch(() => { $("postmortem").textContent = "No postmortem yet."; });
  setInterval(() => render().catch((e) => showError(e.message)), 10000);
}

const pages = { incidents: listPage, incident: detailPage };
(pages[document.body.dataset.page] || (async () => {}))().catch((e) => showError(e.message));
