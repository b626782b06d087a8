// The incident pages: the list (/console/incidents) with a declare form,
// and one incident (/console/incident?id=INC-4): state, roles, lifecycle
// buttons, role and status-update forms, links to its service, SLO and
// alerts, suspect deploys, the timeline, action items and the postmortem.
"use strict";

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
  for (const u of i.runbookUrls || []) out.append(el("li", {}, "runbook ", link(u, u)));
  return out;
}

async function suspects(id) {
  try {
    const s = await api(`/api/v1/incidents/${encodeURIComponent(id)}/suspects`);
    $("suspects").replaceChildren(s.suspects.length
      ? table(["#", "deploy", "#before the burn", "outcome"], s.suspects.map((x) => [
        String(x.rank), link(`/console/deploys?service=${encodeURIComponent(x.deploy.service)}#deploy-${x.deploy.id}`,
          `${x.deploy.service} ${x.deploy.version}`), `${Math.round(x.leadSeconds / 60)} min`, outcomeBadge(x.deploy),
      ]))
      : el("p", { class: "muted small" }, s.reason || "No deploys in the hour before detection."));
  } catch (e) { $("suspects").replaceChildren(el("p", { class: "muted small" }, `suspects: ${e.message}`)); }
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
    add("opened", `${fmtTime(i.createdAt)} (${age(i.createdAt)} ago)`);
    add("acknowledged", fmtTime(i.acknowledgedAt)); add("mitigated", fmtTime(i.mitigatedAt)); add("resolved", fmtTime(i.resolvedAt));
    for (const [role, who] of Object.entries(i.roles || {})) add(role.replace(/_/g, " "), who);
    if (i.escalation) {
      add("paging", `policy ${i.escalation.policy}, ${i.escalation.status.state}` +
        (i.escalation.nextDeadline ? `, next level at ${fmtTime(i.escalation.nextDeadline)}` : ""));
    }
    $("summary").replaceChildren(kv);
    $("related").replaceChildren(related(i));
    const tl = $("timeline");
    tl.replaceChildren();
    for (const e of i.timeline || []) {
      tl.append(el("li", {}, el("span", { class: "muted" }, `${fmtTime(e.at)} `), el("b", {}, e.kind.replace(/_/g, " ")),
        ` ${e.summary}`, e.actor ? el("span", { class: "muted" }, ` — ${e.actor}`) : null));
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
  try {
    await render();
  } catch (e) {
    $("title").textContent = "Incident not found";
    showError(e.status === 404 || e.status === 400 ? `Incident not found: ${e.message}.` : e.message);
    for (const f of ["actions", "role-form", "update-form"]) $(f).style.display = "none";
    return;
  }
  suspects(id);
  fetch(`${path}/postmortem`).then((r) => r.ok ? r.text() : "").then((t) => { $("postmortem").textContent = t || "No postmortem yet."; })
    .catch(() => { $("postmortem").textContent = "No postmortem yet."; });
  setInterval(() => render().catch((e) => showError(e.message)), 10000);
}

const pages = { incidents: listPage, incident: detailPage };
(pages[document.body.dataset.page] || (async () => {}))().catch((e) => showError(e.message));
