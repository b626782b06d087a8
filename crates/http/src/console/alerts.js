// The alerts page (/console/alerts): the built-in Alertmanager's groups from
// /api/v2/alerts/groups with a silence button per group and per alert, and
// the silences with an expire button. Alertmanager's API answers plain JSON
// (no Prometheus envelope).
"use strict";

const $ = (id) => document.getElementById(id);

function showError(msg) { $("error").textContent = msg; $("error").style.display = "block"; }

async function am(path, init) {
  const r = await fetch(path, init);
  const text = await r.text();
  let body;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!r.ok) throw new Error(typeof body === "string" ? body : `${r.status} ${r.statusText}`);
  return body;
}

function labelText(labels) {
  return Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(", ");
}

function cell(content, attrs) {
  const td = el("td", attrs || {});
  if (content instanceof Node) td.append(content); else td.textContent = content ?? "";
  return td;
}

async function silence(labels, what) {
  const author = $("author").value.trim();
  const comment = $("comment").value.trim();
  if (!author || !comment) { showError("Give your name and a reason before silencing."); return; }
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
    const r = await am("/api/v2/silences", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    $("error").style.display = "none";
    await render();
    return r;
  } catch (e) { showError(`silencing ${what}: ${e.message}`); }
}

async function renderGroups() {
  const groups = await am("/api/v2/alerts/groups");
  const t = $("groups");
  t.replaceChildren();
  const head = el("tr");
  for (const h of ["group", "receiver", "alert", "state", "since", "summary", ""]) head.append(el("th", {}, h));
  t.append(head);
  if (!groups.length) {
    const tr = el("tr"); tr.append(cell("No alerts.", { colspan: 7, class: "muted" })); t.append(tr);
  }
  for (const g of groups) {
    const tr = el("tr");
    const btn = el("button", {}, "silence group");
    btn.addEventListener("click", () => silence(g.labels, "the group"));
    tr.append(cell(el("strong", {}, labelText(g.labels) || "(all)")), cell(g.receiver.name),
      cell(`${g.alerts.length} alert${g.alerts.length === 1 ? "" : "s"}`), cell(""), cell(""), cell(""), cell(btn));
    t.append(tr);
    for (const a of g.alerts) {
      const r = el("tr");
      const state = a.status.state;
      const b = el("button", {}, "silence");
      b.addEventListener("click", () => silence(a.labels, a.labels.alertname || "the alert"));
      const why = state === "suppressed"
        ? ` (${a.status.silencedBy.length ? "silenced" : ""}${a.status.inhibitedBy.length ? " inhibited" : ""})` : "";
      r.append(cell(""), cell(""), cell(labelText(a.labels)),
        cell(state + why, { class: state === "active" ? "bad" : "muted" }),
        cell(new Date(a.startsAt).toISOString().replace(".000Z", "Z")),
        cell(a.annotations.summary || ""), cell(state === "active" ? b : ""));
      t.append(r);
    }
  }
}

async function renderSilences() {
  const silences = await am("/api/v2/silences");
  const t = $("silences");
  t.replaceChildren();
  const head = el("tr");
  for (const h of ["matchers", "state", "ends", "by", "comment", ""]) head.append(el("th", {}, h));
  t.append(head);
  const live = silences.filter((s) => s.status.state !== "expired");
  if (!live.length) {
    const tr = el("tr"); tr.append(cell("No active or pending silences.", { colspan: 6, class: "muted" })); t.append(tr);
  }
  for (const s of live) {
    const m = s.matchers.map((x) => `${x.name}${x.isEqual === false ? "!" : ""}${x.isRegex ? "~" : "="}"${x.value}"`).join(", ");
    const b = el("button", {}, "expire");
    b.addEventListener("click", async () => {
      try { await am(`/api/v2/silence/${encodeURIComponent(s.id)}`, { method: "DELETE" }); await render(); }
      catch (e) { showError(`expiring: ${e.message}`); }
    });
    const tr = el("tr");
    tr.append(cell(m), cell(s.status.state), cell(s.endsAt), cell(s.createdBy), cell(s.comment), cell(b));
    t.append(tr);
  }
}

async function render() {
  try { await Promise.all([renderGroups(), renderSilences()]); }
  catch (e) { showError(e.message.includes("not configured") ? "The built-in Alertmanager is not configured: set alertmanager.config_file in the config." : e.message); }
}

render();
setInterval(render, 15000);
