// Chaos (/console/chaos[?service=][&run=]): experiment runs with their
// journal (steady states, method, rollbacks, the guard's deviation), the
// Chaos Monkey's groups with their next window and recent terminations,
// the fault proxies with their toxics and the traffic routes.
"use strict";

function runBadge(r) {
  const cls = r.status === "completed" && !r.deviated ? "ok" : r.status === "running" ? "info" : "bad";
  return badge(r.deviated && r.status === "completed" ? "deviated" : r.status, cls);
}

function deviationText(d) {
  if (!d) return "";
  if (typeof d === "string") return d;
  return d.reason || d.message || JSON.stringify(d);
}

async function renderRuns(service, selected) {
  const q = service ? `&service=${encodeURIComponent(service)}` : "";
  const runs = await api(`/api/v1/chaos/experiments?limit=100${q}`);
  $("runs").replaceChildren(table(["run", "experiment", "service", "status", "started", "finished", "by", "deviation"], runs.map((r) => [
    link(`/console/chaos?${new URLSearchParams(Object.assign(service ? { service } : {}, { run: r.id }))}`, r.id, r.id === selected ? { class: "strong" } : {}),
    r.title, r.service ? link(serviceHref(r.service), r.service) : "", runBadge(r), fmtTime(r.startedAt),
    r.finishedAt ? fmtTime(r.finishedAt) : "—", r.principal || "", el("span", { class: "small" }, deviationText(r.deviation)),
  ]), "No experiments run yet."));
}

function activityRows(list) {
  return (list || []).map((a) => {
    const act = a.activity || {};
    const ok = a.status === "succeeded" && a.tolerance_met !== false;
    let out = a.output;
    if (out !== undefined && out !== null && typeof out !== "string") out = JSON.stringify(out);
    return [act.type || "", act.name || "", badge(a.tolerance_met === false ? "tolerance not met" : a.status || "", ok ? "ok" : "bad"),
      Number.isFinite(a.duration) ? `${a.duration.toFixed(2)} s` : "", el("span", { class: "mono small" }, String(out === undefined || out === null ? "" : out).slice(0, 200)),
      el("span", { class: "small bad" }, a.exception ? String(a.exception).slice(0, 200) : "")];
  });
}

function steadyState(ss) {
  if (!ss) return el("p", { class: "muted small" }, "not checked");
  return el("div", {}, badge(ss.steady_state_met ? "met" : "not met", ss.steady_state_met ? "ok" : "bad"),
    table(["type", "probe", "status", "took", "output", "error"], activityRows(ss.probes), "No probes."));
}

async function renderRun(id) {
  const r = await api(`/api/v1/chaos/experiments/${encodeURIComponent(id)}`);
  const j = r.journal || {};
  $("run-detail").hidden = false;
  $("run-title").textContent = `Journal: ${r.title}`;
  $("run-summary").replaceChildren(el("p", {}, runBadge(r), " ", r.service ? link(serviceHref(r.service), r.service) : "",
    ` started ${fmtTime(r.startedAt)}`, r.finishedAt ? `, ended ${fmtTime(r.finishedAt)}` : "", r.principal ? ` by ${r.principal}` : ""),
  r.deviation ? el("p", { class: "bad" }, `Deviation: ${deviationText(r.deviation)}`) : "");
  const ss = j.steady_states || {};
  $("ss-before").replaceChildren(steadyState(ss.before));
  $("ss-after").replaceChildren(steadyState(ss.after));
  $("run-activities").replaceChildren(table(["type", "activity", "status", "took", "output", "error"], activityRows(j.run), "Nothing ran."));
  $("run-rollbacks").replaceChildren(table(["type", "activity", "status", "took", "output", "error"], activityRows(j.rollbacks), "No rollbacks ran."));
  $("run-journal").href = `/api/v1/chaos/experiments/${encodeURIComponent(id)}/journal`;
}

async function renderMonkey(service) {
  let m;
  try { m = await api("/api/v1/chaos/monkey"); } catch (e) { $("monkey").replaceChildren(el("p", { class: "muted small" }, e.message)); return; }
  const groups = m.groups.filter((g) => !service || g.service === service);
  $("monkey").replaceChildren(table(["group", "service", "selector", "mean / min workdays", "next window", "last termination", "now"], groups.map((g) => [
    g.group, link(serviceHref(g.service), g.service), g.mode + (g.dryRun ? " (dry run)" : ""),
    `${g.meanWorkdaysBetweenTerminations} / ${g.minWorkdaysBetweenTerminations}`,
    g.nextWindow ? `${fmtTime(g.nextWindow.start)} – ${fmtTime(g.nextWindow.end)} (${g.timeZone})` : "none",
    g.last ? `${fmtTime(g.last.at)} ${g.last.target}: ${g.last.outcome}` : "never",
    g.blocked ? badge("held back", "warn", g.blocked) : "",
  ]), "No group is opted in: see chaos.monkey in docs/chaos-monkey.md."));
  const list = await api("/api/v1/chaos/terminations?limit=50").catch(() => []);
  $("terminations").replaceChildren(table(["when", "group", "service", "target", "action", "outcome"], list.filter((t) => !service || t.service === service).map((t) => [
    fmtTime(t.at), t.group, link(serviceHref(t.service), t.service), t.target, el("span", { class: "small" }, t.action),
    badge(t.outcome, t.outcome.startsWith("terminated") ? "warn" : t.outcome.startsWith("failed") ? "bad" : "none"),
  ]), "No terminations logged."));
}

async function renderProxies() {
  let p;
  try { p = await api("/api/v1/chaos/proxies"); } catch (e) { $("proxies").replaceChildren(el("p", { class: "muted small" }, `fault proxy: ${e.message}`)); return; }
  const list = Array.isArray(p) ? p : Object.values(p.proxies || p);
  $("proxies").replaceChildren(table(["proxy", "listen", "upstream", "enabled", "toxics"], list.map((x) => [
    x.name, el("span", { class: "mono small" }, x.listen), el("span", { class: "mono small" }, x.upstream), x.enabled ? badge("enabled", "ok") : badge("disabled", "bad"),
    el("span", { class: "small" }, (x.toxics || []).map((t) => `${t.name} (${t.type} ${t.stream}${t.toxicity < 1 ? ` ${Math.round(t.toxicity * 100)}%` : ""}: ${JSON.stringify(t.attributes || {})})`).join("; ") || "none"),
  ]), "No proxies: configure fault_proxy (docs/fault-proxy.md) or create them through its Toxiproxy API."));
}

async function renderTraffic() {
  let routes;
  try { routes = await api("/api/v1/traffic/routes"); } catch (e) { $("traffic").replaceChildren(el("p", { class: "muted small" }, `traffic: ${e.message}`)); return; }
  const list = Array.isArray(routes) ? routes : routes.routes || [];
  $("traffic").replaceChildren(table(["route", "listen", "endpoints", "faults"], list.map((r) => [
    r.name, el("span", { class: "mono small" }, r.listen || ""),
    el("span", { class: "small" }, (r.endpoints || []).map((e) => `${e.address} [${e.zone}] w=${e.weight}${e.healthy === false ? " unhealthy" : ""}${e.ejected || e.ejectedUntil ? " ejected" : ""}`).join("; ")),
    el("span", { class: "small" }, (r.faults || []).map((f) => f.name || JSON.stringify(f)).join(", ") || "none"),
  ]), "No traffic routes: configure traffic.routes (docs/traffic.md)."));
}

(async function init() {
  const service = (param("service") || "").trim();
  const run = (param("run") || "").trim();
  $("service").value = service;
  $("filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const s = $("service").value.trim();
    location.search = s ? `?${new URLSearchParams({ service: s })}` : "";
  });
  await Promise.all([
    renderRuns(service, run).catch((e) => showError(`experiments: ${e.message}`)),
    run ? renderRun(run).catch((e) => showError(`run ${run}: ${e.message}`)) : null,
    renderMonkey(service),
    renderProxies(),
    renderTraffic(),
  ]);
})();
