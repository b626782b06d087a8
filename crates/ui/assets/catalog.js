// The service catalog (/): one card per service from /api/v1/catalog —
// SLO budgets, the four golden signals of the last hour, open incidents,
// last deploys and the gate's answer, each linked to its page.
"use strict";

const SIGNAL_LABELS = { traffic: "traffic", errors: "errors", latency: "p99 latency", saturation: "saturation" };

function signalValue(s) {
  if (s.value === null || s.value === undefined) return "—";
  if (s.name === "traffic") return `${fmtNum(s.value)}/s`;
  if (s.name === "errors" || s.name === "saturation") return pct(s.value, s.value < 0.01 ? 2 : 1);
  return fmtSeconds(s.value);
}

function gateBadge(g) {
  if (!g) return badge("no gate", "none", "no error-budget policy gates this service");
  if (g.error) return badge("gate error", "warn", g.error);
  return badge(g.allow ? "deploys allowed" : "deploys frozen", g.allow ? "ok" : "bad", g.reason);
}

function card(s) {
  const c = el("section", { class: "card" });
  c.append(el("div", { class: "head" }, el("h2", {}, link(serviceHref(s.name), s.name)), gateBadge(s.gate)));
  if (s.gate && !s.gate.allow && s.gate.reason) c.append(el("p", { class: "small bad note" }, s.gate.reason));
  const deps = Array.isArray(s.dependsOn) ? s.dependsOn : Array.isArray(s.dependencies) ? s.dependencies : [];
  if (deps.length) {
    const p = el("p", { class: "small muted note" }, "depends on ");
    deps.forEach((d, i) => { const n = typeof d === "string" ? d : d && d.name; if (n) p.append(i ? ", " : "", link(serviceHref(n), n)); });
    c.append(p);
  }

  c.append(el("h3", {}, "SLOs"));
  const slos = el("ul");
  if (!s.slos.length) slos.append(el("li", { class: "muted" }, "No SLOs."));
  for (const o of s.slos) {
    slos.append(el("li", {}, link(sloHref(o.id), o.name || o.id),
      el("span", {}, o.firing.length ? badge(o.firing.join(", "), "bad", "burn-rate alert firing") : null, " ",
        budgetBadge(o))));
  }
  c.append(slos);

  c.append(el("h3", {}, "Golden signals, last hour (5 min rates)"));
  if (!s.goldenSignals) c.append(el("p", { class: "small muted" }, "Not recorded: declare the service under services: in the config."));
  else {
    const g = el("div", { class: "signals" });
    s.signals.forEach((sig, i) => {
      g.append(el("a", { class: "signal", href: queryHref(sig.query), title: sig.query },
        el("div", { class: "label", title: sig.title || "" }, SIGNAL_LABELS[sig.name] || sig.name),
        el("div", { class: "value" }, signalValue(sig)),
        sparkline(sig.points, COLORS[i])));
    });
    c.append(g);
  }

  c.append(el("h3", {}, "Open incidents"));
  const inc = el("ul");
  if (!s.incidents.length) inc.append(el("li", { class: "muted" }, "None."));
  for (const i of s.incidents) {
    inc.append(el("li", {}, link(incidentHref(i.id), `${i.id} ${i.title}`), el("span", {}, stateBadge(i.state), ` ${i.severity}`)));
  }
  c.append(inc);

  c.append(el("h3", {}, "Last deploys"));
  const dep = el("ul");
  if (!s.deploys.length) dep.append(el("li", { class: "muted" }, "None recorded."));
  for (const d of s.deploys.slice(0, 3)) {
    dep.append(el("li", {}, link(`/console/deploys?service=${encodeURIComponent(s.name)}#deploy-${d.id}`, `${d.version}`, { title: d.commit || "" }),
      el("span", {}, outcomeBadge(d), el("span", { class: "muted small" }, ` ${age(d.startedAt)} ago`))));
  }
  c.append(dep);
  return c;
}

(async function init() {
  try {
    const cat = await api("/api/v1/catalog?deploys=3");
    const box = $("catalog");
    if (!cat.services.length) {
      box.append(el("div", { class: "notice" }, "No services yet: declare them under ", el("code", {}, "services:"),
        " or load SLOs with ", el("code", {}, "slo_files:"), " in the config. Try ", el("code", {}, "homeostat demo"), "."));
      return;
    }
    const open = cat.services.reduce((n, s) => n + s.incidents.length, 0);
    const frozen = cat.services.filter((s) => s.gate && !s.gate.allow).length;
    $("summary").textContent = `${cat.services.length} service${cat.services.length === 1 ? "" : "s"}, ` +
      `${open} open incident${open === 1 ? "" : "s"}, ${frozen} frozen for deploys — as of ${fmtTime(cat.generatedAt)}.`;
    for (const s of cat.services) box.append(card(s));
  } catch (e) { showError(`catalog: ${e.message}`); }
})();
