#!/usr/bin/env python3
"""Sends every query of crates/promql/tests/it/parse_errors.jsonl to
Prometheus and to homeostat (/api/v1/query) and compares the error each
gives, position and message. Rows with `known_difference` are reported, not
failed. `record` rewrites the table's `prometheus` column from the live
Prometheus (the only way that column is written).

usage: promql_errors.py check PROM_URL HOMEOSTAT_URL
       promql_errors.py record PROM_URL
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

TABLE = "crates/promql/tests/it/parse_errors.jsonl"
PREFIX = 'invalid parameter "query": '


def error_of(base, query):
    data = urllib.parse.urlencode({"query": query, "time": "1000"}).encode()
    try:
        with urllib.request.urlopen(base + "/api/v1/query", data, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    err = body.get("error")
    if err is None:
        return None
    if body.get("errorType") != "bad_data" or not err.startswith(PREFIX):
        return f"<{body.get('errorType')}> {err}"
    return err[len(PREFIX):]


def load():
    with open(TABLE, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def record(prom):
    rows = load()
    for r in rows:
        r["prometheus"] = error_of(prom, r["query"])
    with open(TABLE, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"recorded {len(rows)} rows into {TABLE}")


def check(prom, hs):
    rows = load()
    matched = failed = known = 0
    for r in rows:
        q = r["query"]
        p = error_of(prom, q)
        h = error_of(hs, q)
        if p != r["prometheus"]:
            failed += 1
            print(f"FAIL {q!r}: Prometheus now says {p!r}, the table {r['prometheus']!r} (UPDATE=1 records it)")
            continue
        if h == p:
            matched += 1
            if r.get("known_difference"):
                failed += 1
                print(f"FAIL {q!r} matches now: drop its known_difference")
            continue
        if r.get("known_difference"):
            known += 1
            print(f"known {q!r}\n       prometheus: {p}\n       homeostat:  {h}\n       why: {r['known_difference']}")
            continue
        failed += 1
        print(f"FAIL {q!r}\n       prometheus: {p}\n       homeostat:  {h}")
    errors = sum(1 for r in rows if r["prometheus"] is not None)
    print(f"\n{matched} of {len(rows)} queries answered exactly as Prometheus "
          f"({errors} malformed, {len(rows) - errors} valid); {known} known differences")
    print(f"{matched + known} passed, {failed} failed")
    return failed == 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(0 if check(sys.argv[2], sys.argv[3]) else 1)
    else:
        sys.exit(__doc__)
