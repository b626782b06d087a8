// The alerts page (/console/alerts[?alertname=]): alert groups from the
// built-in Alertmanager (/api/v2/alerts/groups), and the rule engine's
// alerts (/api/v1/alerts) when it does not take them (its default route) or
// does not answer. Each alert links to its
// SLO, service, runbook, open incident and its rule's expression; groups
// and alerts have silence buttons; silences can be expired.
"use strict";

let rulesByName = new Map(), openIncidents = [];

// The severity an alert carries (an SLO's tiers say it as sloth_severity):
// paging ones in red, tickets in amber, anything else neutral.
const SEVERITY_CLASS = { page: "bad", critical: "bad", ticket: "warn", warning: "warn", info: "info" };
function severityBadge(labels) {
  const s = labels.severity || labels.sloth_severity;
  if (!s) return badge("no severity", "none", "the alert has no severity label");
  const cls = SEVERITY_CLASS[s.toLowerCase()] || "none";
  return badge(s, `sev ${cls}`, cls === "bad" ? "pages someone" : cls === "warn" ? "a ticket: nobody is paged" : `severity ${s}`);
}

const SHOWN_AS_BADGE = ["severity", "sloth_severity"];

// Labels as chips, without the ones shown elsewhere in the row.
function labelChips(labels, omit) {
  const skip = new Set(omit || []);
  return chips(Object.entries(labels).filter(([k]) => !skip.has(k)));
}

async function context() {
  const [rules, incidents] = await Promise.all([
    api("/api/v1/rules?type=alert").catch(() => ({ groups: [] })),
    api("/api/v1/incidents?state=open").catch(() => []),
  ]);
  rulesByName = new Map();
  for (const g of rules.groups || []) for (const r of g.rules || []) {
    if (r.type !== "alerting") continue;
    if (!rulesByName.has(r.name)) rulesByName.set(r.name, []);
    rulesByName.get(r.name).push(r);
  }
  openIncidents = incidents;
}

// The open incident an alert belongs to: one whose labels the alert carries
// (incidents opened from an alert group keep the group's labels), else one
// of the alert's service.
function incidentOf(labels) {
  const service = labels.sloth_service || labels.service;
  const byLabels = openIncidents.find((i) => i.labels && Object.keys(i.labels).length &&
    Object.entries(i.labels).every(([k, v]) => labels[k] === v));
  return byLabels || openIncidents.find((i) => service && i.service === service);
}

function alertLinks(labels, annotations) {
  const out = el("span", { class: "small" });
  const add = (node) => { if (out.childNodes.length) out.append(" · "); out.append(node); };
  if (labels.sloth_id) add(link(sloHref(labels.sloth_id), "SLO"));
  const service = labels.sloth_service || labels.service;
  if (service) add(link(serviceHref(service), service));
  const rb = annotations && annotations.runbook_url;
  if (rb) add(externalLink(rb, "runbook"));
  const inc = incidentOf(labels);
  if (inc) add(link(incidentHref(inc.id), inc.id));
  // Rules sharing a name (an SLO's page and ticket tiers) differ in labels.
  const rule = (rulesByName.get(labels.alertname) || [])
    .find((r) => Object.entries(r.labels || {}).every(([k, v]) => labels[k] === v));
  if (rule && rule.query) add(queryLink(rule.query, "query", "6h"));
  return out;
}

function matchesFilter(labels) {
  const f = $("filter").value.trim().toLowerCase();
  return !f || Object.values(labels).some((v) => String(v).toLowerCase().includes(f));
}

async function silence(labels, what) {
  const author = $("author").value.trim();
  const comment = $("comment").value.trim();
  if (!author || !comment) { showError("Give your name and a reason before silencing."); return; }
  rememberUser(author);
  const hours = Number($("duration").value);
  const now = new Date();
  const body = {
    matchers: Object.entries(labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
    startsAt: now.toISOString(),
    endsAt: new Date(now.getTime() + hours * 3600 * 1000).toISOString(),
    createdBy: author,
    comment,
  };
  try {
    await am("/api/v2/silences", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    clearError();
    await render();
  } catch (e) { showError(`silencing ${what}: ${e.message}`); }
}

function silenceButton(labels, what, text) {
  const b = el("button", { type: "button" }, text);
  b.addEventListener("click", () => silence(labels, what));
  return b;
}

// The first line of the built-in default route's config (DEFAULT_CONFIG in
// crates/server/src/am_config.rs), as /api/v2/status serves it.
const DEFAULT_ROUTE_MARKER = "# homeostat's built-in default";

async function renderGroups() {
  const [groups, status] = await Promise.all([am("/api/v2/alerts/groups"), am("/api/v2/status")]);
  const defaultRoute = ((status.config || {}).original || "").startsWith(DEFAULT_ROUTE_MARKER);
  const rows = [];
  for (const g of groups) {
    const alerts = g.alerts.filter((a) => matchesFilter(a.labels));
    if (!alerts.length) continue;
    rows.push([el("strong", {}, Object.keys(g.labels).length ? labelChips(g.labels) : "(all)"), g.receiver.name,
      `${alerts.length} alert${alerts.length === 1 ? "" : "s"}`, "", "", "", silenceButton(g.labels, "the group", "silence group")]);
    for (const a of alerts) {
      const state = a.status.state;
      const why = state === "suppressed"
        ? ` (${a.status.silencedBy.length ? "silenced" : ""}${a.status.inhibitedBy.length ? " inhibited" : ""})` : "";
      rows.push([severityBadge(a.labels), el("div", {}, el("strong", {}, a.labels.alertname || ""), labelChips(a.labels, ["alertname", ...SHOWN_AS_BADGE, ...Object.keys(g.labels)])),
        el("span", { class: state === "active" ? "bad" : "muted" }, state + why), el("span", { class: "nowrap" }, `${age(a.startsAt)} ago`),
        a.annotations.summary || "", alertLinks(a.labels, a.annotations),
        state === "active" ? silenceButton(a.labels, a.labels.alertname || "the alert", "silence") : ""]);
    }
  }
  const grouped = table(["group / severity", "receiver / alert", "state", "since", "summary", "links", ""], rows, "No alerts.");
  if (!defaultRoute) { $("groups").replaceChildren(grouped); return; }
  $("groups").replaceChildren(grouped, ...await ruleAlerts("The built-in Alertmanager runs its default route (alertmanager.config_file is not set), which does not take the rule engine's alerts: here they are, without routing or silences."));
}

// The rule engine's own alerts, after a note saying why they are shown.
async function ruleAlerts(note) {
  const data = await api("/api/v1/alerts");
  const rows = data.alerts.filter((a) => matchesFilter(a.labels)).map((a) => [
    el("strong", {}, a.labels.alertname || ""), severityBadge(a.labels), labelChips(a.labels, ["alertname", ...SHOWN_AS_BADGE]),
    el("span", { class: a.state === "firing" ? "bad" : "warn" }, a.state), a.activeAt ? el("span", { class: "nowrap" }, `${age(a.activeAt)} ago`) : "",
    (a.annotations || {}).summary || "", alertLinks(a.labels, a.annotations || {}),
  ]);
  return [el("p", { class: "muted small" }, note),
    table(["alert", "severity", "labels", "state", "since", "summary", "links"], rows, "No alerts.")];
}

// Without the built-in Alertmanager: the rule engine's own alerts.
async function renderRuleAlerts() {
  $("groups").replaceChildren(...await ruleAlerts("The built-in Alertmanager is not configured (alertmanager.config_file): these are the rule engine's alerts, without routing or silences."));
}

async function renderSilences() {
  const silences = await am("/api/v2/silences");
  const live = silences.filter((s) => s.status.state !== "expired");
  $("silences").replaceChildren(table(["matchers", "state", "ends", "by", "comment", ""], live.map((s) => {
    const m = s.matchers.map((x) => `${x.name}${x.isEqual === false ? "!" : ""}${x.isRegex ? "~" : "="}"${x.value}"`).join(", ");
    const b = el("button", { type: "button" }, "expire");
    b.addEventListener("click", async () => {
      try { await am(`/api/v2/silence/${encodeURIComponent(s.id)}`, { method: "DELETE" }); await render(); }
      catch (e) { showError(`expiring: ${e.message}`); }
    });
    return [el("span", { class: "m small" }, m), s.status.state, fmtTime(s.endsAt), s.createdBy, s.comment, b];
  }), "No active or pending silences."));
}

async function render() {
  await context();
  try {
    await Promise.all([renderGroups(), renderSilences()]);
  } catch (e) {
    if (e.status === 503) {
      $("silences").replaceChildren(el("p", { class: "muted" }, "No silences: the built-in Alertmanager is not configured."));
      await renderRuleAlerts();
    } else throw e;
  }
}

(function init() {
  $("filter").value = param("alertname") || "";
  $("author").value = user();
  $("filter").addEventListener("input", () => render().catch((e) => showError(e.message)));
  render().catch((e) => showError(e.message));
  setInterval(() => render().catch((e) => showError(e.message)), 15000);
})();
