// The on-call page (/console/oncall): per schedule, who is on call now
// (/api/v1/oncall) and the next shift (/api/v1/oncall/{schedule}/shifts).
"use strict";

async function nextShift(s) {
  try {
    const from = s.onCall && s.onCall.shiftEnd ? s.onCall.shiftEnd : s.at;
    const data = await api(`/api/v1/oncall/${encodeURIComponent(s.schedule)}/shifts?from=${encodeURIComponent(from)}`);
    const cur = s.onCall && s.onCall.user;
    return (data.shifts || []).find((x) => Date.parse(x.start) >= Date.parse(from) - 1000 && x.user !== cur) || (data.shifts || [])[0] || null;
  } catch (e) { return { error: e.message }; }
}

(async function init() {
  try {
    const list = await api("/api/v1/oncall");
    const next = await Promise.all(list.map(nextShift));
    $("oncall").replaceChildren(table(["schedule", "time zone", "on call now", "since", "until", "next", "from"], list.map((s, i) => {
      const n = next[i];
      return [s.schedule, s.timeZone,
        s.onCall ? el("strong", {}, s.onCall.user) : badge("nobody", "bad"),
        s.onCall ? (s.onCall.shiftStart ? fmtTime(s.onCall.shiftStart) : "long ago") : "",
        s.nextHandoff ? `${fmtTime(s.nextHandoff)}` : "none ahead",
        n ? (n.error ? el("span", { class: "muted" }, n.error) : n.user || "nobody") : el("span", { class: "muted" }, "none in 7 days"),
        n && !n.error ? fmtTime(n.start) : ""];
    }), "No schedules: add an oncall: section to the config."));
  } catch (e) { showError(e.message); }
})();
