// The forms check: bad input gets a visible error, and where the server
// refuses it, the server's own message is shown. Driven: the PromQL
// expression on the query page (`sum(` → the parser's error), and every form
// with a required field on every crawled page (one per path), submitted
// with its first required field empty and the others filled (the incident
// declare form with an empty title, a role without a user, …). The
// browser's own `required` check is bypassed to reach the page's and the
// server's.
import { shownErrors, step, visit } from "./page.mjs";

const SUBMIT_WAIT_MS = 5000;
const QUERY_FIELD = "#expr, textarea[name=expr], textarea[name=query], input[name=expr], input[name=query], textarea";

export async function checkForms(ctx, o, seen, problem) {
  const keys = [...seen];
  const queryPage = keys.find((k) => /^\/console\/query\b/.test(k)) ?? keys.find((k) => /query/.test(k));
  if (!queryPage) problem("forms", "missing", "no query page reachable from /");
  else {
    await submitBad(ctx, o, problem, queryPage, {
      what: "PromQL `sum(`",
      field: (page) => page.locator(QUERY_FIELD).first(),
      value: "sum(",
      expectServer: true,
    });
  }

  let checked = 0;
  const paths = new Set();
  for (const key of keys) {
    const path = key.split("?")[0];
    if (paths.has(path)) continue;
    paths.add(path);
    for (const f of await formsWithRequired(ctx, o, key)) {
      checked++;
      await submitBad(ctx, o, problem, key, {
        what: `${f.name} with ${f.field} empty`,
        field: (page) => page.locator("form").nth(f.index).locator("[required]").first(),
        value: "",
        bypassRequired: true,
      });
    }
  }
  if (!checked) problem("forms", "missing", "no form with a required field on any crawled page");
}

// The forms of a page that have a required field and a way to submit.
async function formsWithRequired(ctx, o, key) {
  let page;
  try {
    page = await ctx.newPage();
    await page.goto(new URL(key, o.origin).href, { waitUntil: "load", timeout: 15000 });
    await page.waitForLoadState("networkidle", { timeout: 10000 }).catch(() => {});
    return await page.evaluate(() => [...document.forms].flatMap((form, index) => {
      const req = form.querySelector("[required]");
      const submit = form.querySelector("button:not([type]), button[type=submit], input[type=submit]");
      if (!req || !submit) return [];
      return [{ index, name: form.id ? `form#${form.id}` : `form ${index + 1}`, field: req.name || req.id || req.tagName.toLowerCase() }];
    }));
  } catch {
    return []; // the crawl already reported why the page does not open
  } finally {
    await page?.close();
  }
}

async function submitBad(ctx, o, problem, key, t) {
  const where = `${key} (form: ${t.what})`;
  step(`form ${where}`);
  let v;
  try {
    v = await visit(ctx, new URL(key, o.origin).href, o.origin);
    for (const e of v.events) problem(where, e.kind, e.detail);
    const field = t.field(v.page);
    if (!(await field.count())) {
      problem(where, "missing", "the field is not on the page");
      return;
    }
    await field.fill(t.value);
    if (t.bypassRequired) {
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
        serverError = typeof body.error === "string" ? body.error : typeof body === "string" ? body : null;
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
      const msg = serverError ? `server: ${JSON.stringify(serverError)}` : "refused in the page";
      console.log(`forms: ${key}: ${t.what}: error shown (${msg})`);
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
    await v?.close();
  }
}
