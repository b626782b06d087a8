"""Remote-write driver for disk_full.sh: pushes random-valued samples (they
compress badly, so the disk fills fast) and checks that every acknowledged
sample can be read back.

Usage:
  disk_writer.py push URL PREFIX SERIES PER_BATCH START_MS STEP_MS MAX_BATCHES LEDGER
      Pushes batches until a 5xx (or MAX_BATCHES). Each batch holds PER_BATCH
      samples for each of SERIES series, timestamps from START_MS in STEP_MS
      steps. Appends "PREFIX acked_samples_per_series last_t" to LEDGER and
      prints "status=<first non-2xx status or 0> acked=<batches>".
      A 4xx is a failure (exit 1): it means samples were refused, not stored.
  disk_writer.py verify URL LEDGER
      For each ledger line, counts the samples of every PREFIX series with
      count_over_time and fails unless each holds at least the acknowledged
      number (a refused batch may still have reached the WAL; never fewer).
"""
import json
import random
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from promgen import encode_write_request, snappy_literal  # noqa: E402


def post(url, series):
    body = snappy_literal(encode_write_request(series))
    req = urllib.request.Request(url + "/api/v1/write", data=body, method="POST", headers={
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    })
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, ""
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def push(url, prefix, n_series, per_batch, start, step, max_batches, ledger):
    rng = random.Random(prefix)
    t = start
    acked = 0
    status = 0
    for _ in range(max_batches):
        ts = [t + i * step for i in range(per_batch)]
        series = [({"__name__": prefix, "i": str(s)}, [(x, rng.random() * 1e6) for x in ts])
                  for s in range(n_series)]
        code, text = post(url, series)
        if code // 100 == 2:
            acked += 1
            t += per_batch * step
            continue
        status = code
        if code // 100 == 4:
            print(f"refused with {code}: {text.strip()[:300]}", file=sys.stderr)
            sys.exit(1)
        print(f"first {code}: {text.strip()[:300]}", file=sys.stderr)
        break
    with open(ledger, "a") as f:
        f.write(f"{prefix} {n_series} {acked * per_batch} {t - step}\n")
    print(f"status={status} acked={acked}")


def query(url, q, at):
    qs = urllib.parse.urlencode({"query": q, "time": f"{at / 1000:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{qs}", timeout=60) as r:
        return json.load(r)["data"]["result"]


def verify(url, ledger):
    bad = 0
    for line in open(ledger):
        prefix, n_series, want, last_t = line.split()
        n_series, want, last_t = int(n_series), int(want), int(last_t)
        if want == 0:
            continue
        got = {r["metric"]["i"]: int(float(r["value"][1]))
               for r in query(url, f"count_over_time({prefix}[1d])", last_t)}
        short = [i for i in range(n_series) if got.get(str(i), 0) < want]
        if short:
            bad += 1
            i = short[0]
            print(f"{prefix}: {len(short)} series short, e.g. i={i} has {got.get(str(i), 0)} of {want}")
        else:
            print(f"{prefix}: all {n_series} series hold their {want} acknowledged samples")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    cmd, url = sys.argv[1], sys.argv[2].rstrip("/")
    if cmd == "push":
        push(url, sys.argv[3], *map(int, sys.argv[4:9]), sys.argv[9])
    elif cmd == "verify":
        verify(url, sys.argv[3])
    else:
        sys.exit(__doc__)
