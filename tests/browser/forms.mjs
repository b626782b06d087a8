// The forms check: bad input gets a visible error, and where the server
// refuses it, the server's own message is shown. Two forms are driven: the
// PromQL expression on the query page (`sum(` → the parser's error) and the
// incident declare form with an empty title. The pages are found among the
// crawled ones, so the check follows the console's layout.
import { shownErrors, visit } from "./page.mjs";

const SUBMIT_WAIT_MS = 5000;

export async function checkForms(ctx, o, seen, problem) {
  const keys = [...seen];
  const queryPage = keys.find((k) => /^\/console\/query\b/.test(k)) ?? keys.find((k) => /query/.test(k));
  if (!queryPage) problem("forms", "missing", "no query page reachable from /");
  else await submitBad(ctx, o, problem, queryPage, {
    what: "PromQL `sum(`",
    field: "#expr, textarea[name=expr], textarea[name=query], input[name=expr], input[name=query], textarea",
    value: "sum(",
    expectServer: true,
  });

  const incidentsPage = keys.find((k) => /^\/console\/incidents\b/.test(k));
  if (!incidentsPage) problem("forms", "missing", "no incidents page reachable from /");
  else await submitBad(ctx, o, problem, incidentsPage, {
    what: "declare with an empty title",
    field: "form input[name=title]",
    value: "",
    // Past the browser's own `required` check, to see the server's answer.
    bypassRequired: true,
  });
}

async function submitBad(ctx, o, problem, key, t) {
  const where = `${key} (form: ${t.what})`;
  const v = await visit(ctx, new URL(key, o.origin).href, o.origin);
  for (const e of v.events) problem(where, e.kind, e.detail);
  try {
    const field = v.page.locator(t.field).first();
    if (!(await field.count())) {
      problem(where, "missing", `no field matching ${t.field}`);
      return;
    }
    await field.fill(t.value);
    if (t.bypassRequired) {
      const blocked = await field.evaluate((f) => !!f.form && !f.form.checkValidity());
      if (blocked) console.log(`forms: ${t.what}: the browser refuses it before sending (required field)`);
      await field.evaluate((f) => {
        f.form.noValidate = true;
        for (const other of f.form.querySelectorAll("input[required], textarea[required]")) {
          if (other !== f && !other.value) other.value = "browser-test";
        }
      });
    }
    const before = v.events.length;
    const answer = v.page.waitForResponse(
      (r) => new URL(r.url()).origin === o.origin && r.request().method() !== "GET",
      { timeout: SUBMIT_WAIT_MS },
    ).catch(() => null);
    await field.evaluate((f) => {
      if (f.form) f.form.requestSubmit();
      else f.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    });
    const r = await answer;
    let serverError = null;
    if (r) {
      const body = await r.json().catch(() => ({}));
      if (r.status() < 400) {
        problem(where, "accepted", `${r.request().method()} ${r.url()} → ${r.status()}: the server accepted bad input`);
      } else {
        serverError = typeof body.error === "string" ? body.error : null;
        if (!serverError) problem(where, "server", `${r.url()} → ${r.status()} without an "error" message`);
      }
    } else if (t.expectServer) {
      problem(where, "no-request", `submitting sent nothing to the server within ${SUBMIT_WAIT_MS} ms`);
    }
    // The message must reach the page: the server's text if there was one,
    // any visible error box otherwise.
    const shown = await v.page.waitForFunction(
      (want) => {
        if (want) return document.body.innerText.includes(want);
        return [...document.querySelectorAll("#error, .error, [role=alert]")]
          .some((e) => e.innerText.trim() && e.getClientRects().length);
      },
      serverError,
      { timeout: SUBMIT_WAIT_MS },
    ).then(() => true, () => false);
    if (!shown) {
      const boxes = await shownErrors(v.page).catch(() => []);
      problem(where, "not-shown", serverError
        ? `the server said ${JSON.stringify(serverError)} but the page does not show it` +
          (boxes.length ? ` (it shows ${JSON.stringify(boxes.join(" | "))})` : "")
        : "no error is shown");
    } else {
      console.log(`forms: ${t.what}: shown` + (serverError ? ` (server: ${JSON.stringify(serverError)})` : ""));
    }
    // The refusal itself is expected (its 4xx and the browser's note of it);
    // anything else that went wrong while submitting is a problem.
    for (const e of v.events.slice(before)) {
      if (e.kind === "http-status" && r && e.detail.includes(r.url())) continue;
      if (e.kind === "console-error" && /status of 4\d\d/.test(e.detail)) continue;
      problem(where, e.kind, e.detail);
    }
  } catch (e) {
    problem(where, "error", e.message.split("\n")[0]);
  } finally {
    await v.close();
  }
}
