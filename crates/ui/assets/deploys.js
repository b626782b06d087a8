// Deploys and analysis (/console/deploys[?service=]): recorded deploys with
// outcome and rollback, canary analysis runs with their measurements and
// verdict, and gate overrides (list, create, revoke).
"use strict";

function deployRows(list) {
  return list.map((d) => {
    const rb = d.rollback;
    return [el("a", { id: `deploy-${d.id}` }, String(d.id)), link(serviceHref(d.service), d.service), el("strong", {}, d.version),
      el("span", { class: "mono small" }, (d.commit || "").slice(0, 12)), d.author || "", d.changeType || "", d.environment,
      fmtTime(d.startedAt), d.finishedAt ? fmtTime(d.finishedAt) : "—", outcomeBadge(d),
      rb ? el("span", { class: rb.ok === false ? "bad" : "" }, `${fmtTime(rb.at)} ${rb.action || ""}: ${rb.reason || ""}${rb.ok === false ? " (failed)" : ""}`) : ""];
  });
}

async function renderDeploys(service) {
  const list = await api(`/api/v1/deploys?limit=200${service ? `&service=${encodeURIComponent(service)}` : ""}`);
  $("deploys").replaceChildren(table(["id", "service", "version", "commit", "author", "change", "env", "started", "finished", "outcome", "rollback"],
    deployRows(list), service ? `No deploys of ${service} recorded.` : "No deploys recorded: POST them to /api/v1/deploys."));
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target) { target.closest("tr").style.background = "#fff8d6"; target.scrollIntoView({ block: "center" }); }
}

async function renderRuns(service) {
  const runs = (await api("/api/v1/analysis")).filter((r) => !service || r.service === service);
  $("runs").replaceChildren(table(["run", "service", "deploy", "phase", "#pass", "#fail", "#inconclusive", "measurements", "started", "verdict"],
    runs.map((r) => {
      const ms = el("span", { class: "small" });
      for (const m of r.measurements || []) ms.append(badge(`${m.verdict}${m.score !== null && m.score !== undefined ? ` ${+Number(m.score).toFixed(1)}` : ""}`,
        m.verdict === "Pass" || m.verdict === "pass" ? "ok" : m.verdict === "Fail" || m.verdict === "fail" ? "bad" : "warn", m.reason || ""), " ");
      const cls = r.phase === "Successful" ? "ok" : r.phase === "Running" || r.phase === "Pending" ? "info" : "bad";
      return [el("a", { href: `/api/v1/analysis/${encodeURIComponent(r.id)}` }, r.id), r.service ? link(serviceHref(r.service), r.service) : "",
        r.deployId === null || r.deployId === undefined ? "" : link(`/console/deploys?service=${encodeURIComponent(r.service || "")}#deploy-${r.deployId}`, String(r.deployId)),
        badge(r.phase, cls), String(r.successful), String(r.failed), String(r.inconclusive),
        ms, fmtTime(r.startedAt), r.message || ""];
    }), "No analysis runs."));
}

async function renderOverrides(service) {
  const list = await api(`/api/v1/gate/overrides${service ? `?service=${encodeURIComponent(service)}` : ""}`);
  const now = Date.now();
  $("override-list").replaceChildren(table(["id", "service", "reason", "by", "created", "expires", "state", ""], list.map((o) => {
    const live = !o.revokedAt && Date.parse(o.expiresAt) > now;
    let b = "";
    if (live) {
      b = el("button", { type: "button" }, "revoke");
      b.addEventListener("click", async () => {
        const by = $("override-form").elements.author.value.trim();
        if (!by) { showError("Type your name in the override form first: revoking is audited."); return; }
        try { await sendJSON(`/api/v1/gate/overrides/${encodeURIComponent(o.id)}`, "DELETE", undefined, by); clearError(); await renderOverrides(service); }
        catch (e) { showError(`revoking ${o.id}: ${e.message}`); }
      });
    }
    return [el("span", { class: "mono small" }, o.id), link(serviceHref(o.service), o.service), o.reason, o.author, fmtTime(o.createdAt), fmtTime(o.expiresAt),
      o.revokedAt ? badge("revoked", "none") : live ? badge("active", "warn") : badge("expired", "none"), b];
  }), "No overrides."));
}

(async function init() {
  const service = (param("service") || "").trim();
  $("service").value = service;
  $("filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const s = $("service").value.trim();
    location.search = s ? `?${new URLSearchParams({ service: s })}` : "";
  });
  const form = $("override-form");
  form.elements.author.value = user();
  if (service) form.elements.service.value = service;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v).trim()]));
    if (!f.service) { showError("override: name the service to let deploys through."); return; }
    if (!f.reason) { showError("override: give a reason; it is audited."); return; }
    if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(f.duration)) { showError(`override: duration ${JSON.stringify(f.duration)} is not a duration like 30m or 2h.`); return; }
    if (!f.author) { showError("override: type your name; it is audited."); return; }
    rememberUser(f.author);
    try {
      await post("/api/v1/gate/overrides", { service: f.service, reason: f.reason, duration: f.duration, author: f.author });
      clearError();
      form.elements.reason.value = "";
      await renderOverrides(service);
    } catch (e) { showError(`override: ${e.message}`); }
  });
  const results = await Promise.allSettled([renderDeploys(service), renderRuns(service), renderOverrides(service)]);
  const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  if (failed.length) showError(failed.join("\n"));
})();
