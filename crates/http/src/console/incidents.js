// The incident pages: the list (/console/incidents), one incident
// (/console/incident?id=INC-4) with its lifecycle buttons and timeline, and
// who is on call now (/console/oncall). Everything comes from the JSON API.
"use strict";

const $ = (id) => document.getElementById(id);

function showError(msg) { $("error").textContent = msg; $("error").style.display = "block"; }

async function api(path, init) {
  const r = await fetch(path, init);
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  if (!r.ok || body.status !== "success") throw new Error(body.error || `${r.status}`);
  return body.data;
}

function post(path, body) {
  return api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

function age(t) {
  if (!t) return "n/a";
  const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}

function row(cells, attrs) {
  const tr = el("tr", attrs);
  for (const c of cells) {
    const td = el("td");
    if (c instanceof Node) td.append(c); else td.textContent = c === null || c === undefined ? "" : c;
    tr.append(td);
  }
  return tr;
}

function stateCell(s) { return el("span", { class: `state-${s}` }, s); }

function link(href, text) { return el("a", { href }, text); }

async function listPage() {
  const render = async () => {
    const state = $("state").value;
    const list = await api(`/api/v1/incidents${state ? `?state=${encodeURIComponent(state)}` : ""}`);
    const t = $("list");
    t.replaceChildren();
    const head = el("tr");
    for (const h of ["incident", "state", "severity", "service", "age", "title"]) head.append(el("th", {}, h));
    t.append(head);
    if (!list.length) t.append(row([el("span", { class: "muted" }, "No incidents.")]));
    for (const i of list) {
      t.append(row([link(`/console/incident?id=${i.id}`, i.id), stateCell(i.state), i.severity,
        i.service || "", age(i.createdAt), i.title]));
    }
  };
  $("state").addEventListener("change", () => render().catch((e) => showError(e.message)));
  $("declare").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      const i = await post("/api/v1/incidents", {
        title: f.get("title"), severity: f.get("severity"), service: f.get("service") || null, by: f.get("by"),
      });
      location.href = `/console/incident?id=${i.id}`;
    } catch (e) { showError(e.message); }
  });
  await render();
}

async function detailPage() {
  const id = new URLSearchParams(location.search).get("id");
  if (!id) { showError("no incident id: open /console/incident?id=INC-1"); return; }
  $("postmortem").href = `/api/v1/incidents/${encodeURIComponent(id)}/postmortem`;
  $("by").value = localStorage.getItem("homeostat.user") || "";
  const render = async () => {
    const i = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
    $("title").textContent = `${i.id} — ${i.title}`;
    document.title = `${i.id} — homeostat`;
    const s = $("summary");
    s.replaceChildren();
    const t = el("table");
    t.append(row(["state", stateCell(i.state)]), row(["severity", i.severity]), row(["service", i.service || "n/a"]),
      row(["opened", `${i.createdAt} (${age(i.createdAt)} ago)`]), row(["acknowledged", i.acknowledgedAt || "—"]),
      row(["mitigated", i.mitigatedAt || "—"]), row(["resolved", i.resolvedAt || "—"]));
    for (const [role, who] of Object.entries(i.roles)) t.append(row([role.replace(/_/g, " "), who]));
    for (const u of i.runbookUrls) t.append(row(["runbook", link(u, u)]));
    if (i.escalation) {
      t.append(row(["paging", `policy ${i.escalation.policy}, ${i.escalation.status.state}` +
        (i.escalation.nextDeadline ? `, next level at ${i.escalation.nextDeadline}` : "")]));
    }
    s.append(t);
    const tl = $("timeline");
    tl.replaceChildren();
    for (const e of i.timeline) {
      const li = el("li");
      li.append(el("span", { class: "muted" }, `${e.at} `), el("b", {}, e.kind.replace(/_/g, " ")), ` ${e.summary}`);
      tl.append(li);
    }
    const items = $("items");
    items.replaceChildren();
    if (!i.actionItems.length) items.append(row([el("span", { class: "muted" }, "None yet.")]));
    for (const a of i.actionItems) items.append(row([a.title, a.owner || "unowned", a.due || "no due date", a.state]));
  };
  for (const b of document.querySelectorAll("button[data-step]")) {
    b.addEventListener("click", async () => {
      const by = $("by").value.trim();
      if (!by) { showError("type your name first: the timeline records who acted"); return; }
      localStorage.setItem("homeostat.user", by);
      try {
        await post(`/api/v1/incidents/${encodeURIComponent(id)}/${b.dataset.step}`, { by });
        $("error").style.display = "none";
        await render();
      } catch (e) { showError(e.message); }
    });
  }
  await render();
  setInterval(() => render().catch((e) => showError(e.message)), 10000);
}

async function oncallPage() {
  const list = await api("/api/v1/oncall");
  const t = $("oncall");
  t.replaceChildren();
  const head = el("tr");
  for (const h of ["schedule", "on call", "since", "next handoff"]) head.append(el("th", {}, h));
  t.append(head);
  if (!list.length) t.append(row([el("span", { class: "muted" }, "No schedules: add an oncall: section to the config.")]));
  for (const s of list) {
    const who = s.onCall ? s.onCall.user : el("span", { class: "bad" }, "nobody");
    t.append(row([s.schedule, who, s.onCall ? s.onCall.shiftStart || "long ago" : "", s.nextHandoff || "none ahead"]));
  }
}

const pages = { list: listPage, detail: detailPage, oncall: oncallPage };
(pages[document.body.dataset.page] || (async () => {}))().catch((e) => showError(e.message));
