// Console sign-in in Debian's headless chromium (tests/interop/auth.sh):
//  - a console page without a session sends the browser to /login;
//  - the form signs in and comes back to the page, which loads its data;
//  - the session cookie is HttpOnly and SameSite=Strict, the CSRF cookie
//    is readable by the page;
//  - a page on another origin (--evil) auto-submits a form posting to the
//    API; the browser sends the session cookie along (same site: only the
//    port differs) and the server refuses the post with 403.
//
//   node signin.mjs --base http://127.0.0.1:9797 --user admin --password pw \
//     --evil http://127.0.0.1:8000/
//
// Exit 0 when every check passes, 1 with one line per problem, 2 on bad
// arguments.
import { Session, step } from "./page.mjs";

const USAGE = "usage: node signin.mjs --base URL --user NAME --password PW --evil URL";

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a}: missing value`);
      return argv[++i];
    };
    if (a === "--base") o.base = val();
    else if (a === "--user") o.user = val();
    else if (a === "--password") o.password = val();
    else if (a === "--evil") o.evil = val();
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  for (const k of ["base", "user", "password", "evil"]) if (!o[k]) usage(`--${k} is required`);
  return o;
}

function usage(msg) {
  console.error(`signin.mjs: ${msg}\n${USAGE}`);
  process.exit(2);
}

const o = parseArgs(process.argv.slice(2));
const problems = [];
const check = (ok, detail) => { if (!ok) problems.push(detail); };

const session = new Session(process.env.CHROMIUM || "/usr/bin/chromium");
try {
  const page = await session.newPage();
  step("a console page without a session");
  await page.goto(`${o.base}/console/alerts`);
  const at = new URL(page.url());
  check(at.pathname === "/login", `/console/alerts without a session ended at ${page.url()}, not /login`);
  check(at.searchParams.get("next") === "/console/alerts", `next is ${at.searchParams.get("next")}`);

  step("a wrong password");
  await page.fill("input[name=user]", o.user);
  await page.fill("input[name=password]", "not the password");
  await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
  check(new URL(page.url()).pathname === "/login", `a wrong password ended at ${page.url()}`);
  check((await page.textContent("body")).includes("wrong user name or password"), "no message for a wrong password");

  step("signing in");
  await page.fill("input[name=user]", o.user);
  await page.fill("input[name=password]", o.password);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname.startsWith("/api/"), { timeout: 15000 }),
    page.click("button[type=submit]"),
  ]);
  check(new URL(page.url()).pathname === "/console/alerts", `signed in, the browser is at ${page.url()}`);
  check(resp.status() === 200, `the page's first API call answered ${resp.status()} (${resp.url()})`);

  const cookies = await session.ctx.cookies(o.base);
  const sess = cookies.find((c) => c.name === "homeostat_session");
  const csrf = cookies.find((c) => c.name === "homeostat_csrf");
  check(sess && sess.httpOnly && sess.sameSite === "Strict", `session cookie: ${JSON.stringify(sess)}`);
  check(csrf && !csrf.httpOnly, `CSRF cookie: ${JSON.stringify(csrf)}`);
  check(!(await page.evaluate(() => document.cookie)).includes("homeostat_session"), "the page's script can read the session cookie");

  step("a state change from the console itself carries the CSRF token");
  const own = await page.evaluate(async () => {
    const token = document.cookie.match(/homeostat_csrf=([^;]+)/)?.[1];
    const r = await fetch("/api/v1/incidents", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ title: "declared from the console", severity: "sev4", by: "admin" }),
    });
    return r.status;
  });
  check(own >= 200 && own < 300, `the console's own POST answered ${own}`);

  step("a cross-origin form post");
  const evil = await session.newPage();
  const [post] = await Promise.all([
    evil.waitForResponse((r) => r.url().startsWith(`${o.base}/api/v1/incidents`), { timeout: 15000 }),
    evil.goto(o.evil),
  ]);
  const sent = (await post.request().allHeaders()).cookie || "";
  // 403 from the session's CSRF check; 415 if the JSON-only check answers first.
  check([403, 415].includes(post.status()), `the cross-origin POST answered ${post.status()}, not 403`);
  step(`cross-origin POST: ${post.status()}; session cookie sent: ${sent.includes("homeostat_session")}`);
} catch (e) {
  problems.push(`error: ${e.message || e}`);
} finally {
  await session.close();
}

for (const p of problems) console.log(p);
console.log(`signin: ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
