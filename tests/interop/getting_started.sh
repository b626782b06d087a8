#!/usr/bin/env bash
# docs/getting-started.md, run as a newcomer would: every command of its
# `sh` blocks in order against a live server, the files its `yaml` blocks
# name (`# homeostat.yaml` on the first line; later blocks for the same file
# add to it) written first, and the output shown in the `text` block after
# a command checked against what the command printed (`…` stands for what
# varies; spacing is free). So the guide cannot drift from the product.
#
# Rewrites, the only ones: the doc's port 9797 becomes a free port (the
# client commands find it through HOMEOSTAT_URL); `cargo run --release --`
# and `./target/release/homeostat` become the binary under test, whose
# build (`cargo build`) is skipped; `homeostat serve` starts in the
# background (`--listen`/`--data-dir` override the file's, as on the command
# line) and a later one restarts it; `homeostat demo` is skipped (its own
# script, demo.sh, plays it). `gate check` may exit 1 (its documented
# "deny"); every other command must exit 0 and print no warning, and a
# reload must be accepted.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer amtool command -v amtool
require_peer python3 python3 -c 'import json'

HS_PORT=$(free_port)
mkdir -p "$WORK/bin" "$WORK/guide"
ln -s "$(realpath "$HOMEOSTAT")" "$WORK/bin/homeostat"

PATH="$WORK/bin:$PATH" HOMEOSTAT_URL="http://127.0.0.1:$HS_PORT" USER=newcomer \
  HS_PORT="$HS_PORT" WORK="$WORK" \
  python3 - docs/getting-started.md <<'PY'
import os, re, shlex, subprocess, sys, time, urllib.request

doc = open(sys.argv[1], encoding="utf-8").read()
port, work = os.environ["HS_PORT"], os.environ["WORK"]
guide = os.path.join(work, "guide")
passed = failed = 0
server = None


def ok(msg):
    global passed
    passed += 1
    print(f"ok: {msg}")


def bad(msg, detail=""):
    global failed
    failed += 1
    print(f"FAIL: {msg}")
    if detail:
        print("    " + detail.rstrip().replace("\n", "\n    "))


def blocks(text):
    """(info string, body) of every fenced block, in order."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = re.match(r"^```(\S*)", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        out.append((m.group(1), "\n".join(lines[i + 1 : j])))
        i = j + 1
    return out


def commands(body):
    """Lines of a sh block, continuation lines joined, blank lines dropped."""
    out, cur = [], ""
    for line in body.split("\n"):
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            out.append(cur.strip())
        cur = ""
    return out


def stop_server():
    global server
    if server is not None:
        server.terminate()
        server.wait(timeout=30)
        server = None


def ready():
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2)
        return True
    except Exception:
        return False


def start_server(cmd):
    global server
    stop_server()
    log = open(os.path.join(work, "serve.log"), "a")
    # No shell in between: stopping the server must stop homeostat itself,
    # or the next start would find the old one still on the port.
    argv = shlex.split(cmd) + ["--listen", f"127.0.0.1:{port}", "--data-dir", f"{work}/data"]
    server = subprocess.Popen(argv, cwd=guide, stdout=log, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            break
        if ready():
            # Ours, not a leftover: it is still running after answering.
            return server.poll() is None
        time.sleep(0.2)
    return False


def matches(want, got):
    """Every line shown appears in the output, `…` standing for anything."""
    lines = got.split("\n")
    missing = []
    for w in want.split("\n"):
        if not w.strip() or w.strip() == "…":
            continue
        # A date and time shown in the doc stand for those of the run.
        w = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "TIMESTAMP", w)
        parts = [re.escape(t).replace("…", ".*?") for t in w.split()]
        pat = r"\s+".join(parts).replace("TIMESTAMP", r"\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d")
        pat = re.compile(pat)
        if not any(pat.search(l) for l in lines):
            missing.append(w)
    return missing


last = None  # (command, stdout) of the last command run
for info, body in blocks(doc):
    if info in ("yaml", "yml"):
        first = body.split("\n", 1)[0]
        m = re.match(r"^# ([\w./-]+\.ya?ml)$", first)
        if not m:
            continue
        path = os.path.join(guide, m.group(1))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(body + "\n")
        last = None
        continue
    if info == "text" and last is not None:
        cmd, out = last
        missing = matches(body, out)
        if missing:
            bad(f"{cmd}: the doc shows output it did not print",
                "missing: " + " | ".join(missing) + "\nprinted:\n" + out)
        else:
            ok(f"{cmd}: prints what the doc shows")
        last = None
        continue
    if info != "sh":
        continue
    for cmd in commands(body):
        cmd = cmd.replace("127.0.0.1:9797", f"127.0.0.1:{port}")
        cmd = re.sub(r"^cargo run --release -- ", "homeostat ", cmd)
        cmd = re.sub(r"^\./target/release/homeostat\b", "homeostat", cmd)
        if cmd.startswith("cargo build"):
            print(f"skip: {cmd} (the script runs the binary under test)")
            continue
        if cmd.startswith("homeostat demo"):
            print(f"skip: {cmd} (tests/interop/demo.sh plays it)")
            continue
        if cmd.startswith("homeostat serve"):
            if start_server(cmd.split("#")[0].strip()):
                ok(f"{cmd}: serving")
            else:
                log = open(os.path.join(work, "serve.log")).read()
                bad(f"{cmd}: did not become ready", log[-3000:])
            last = (cmd, "")
            continue
        r = subprocess.run(["bash", "-c", cmd], cwd=guide, capture_output=True,
                           text=True, timeout=60)
        allowed = (0, 1) if " gate check " in f" {cmd} " else (0,)
        problems = []
        if r.returncode not in allowed:
            problems.append(f"exit {r.returncode}")
        if re.search(r"warn|\x1b\[", r.stderr, re.I):
            problems.append("a warning on stderr")
        # curl exits 0 on a refused reload; a good one prints its summary.
        if "/-/reload" in cmd and not r.stdout.startswith("rule groups:"):
            problems.append("the reload was refused")
        if problems:
            bad(f"{cmd}: {', '.join(problems)}", r.stdout + r.stderr)
        else:
            ok(f"{cmd}")
        last = (cmd, r.stdout + r.stderr)

stop_server()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed < 20 else 0)
PY
