"""Synthetic Prometheus data for the interop tests and benchmarks, pushed with
remote-write. Pure Python (no snappy or protobuf packages): the protobuf is
hand-encoded and snappy is written as literal-only blocks, which every
decoder accepts.

Data (deterministic for a seed; ~316 series):
  http_requests_total{job,instance,method,code}      integer counters with resets
  node_cpu_seconds_total{instance,cpu,mode}          float counters
  node_memory_free_bytes{instance}                   gauge
  temperature_celsius{instance,sensor}               gauge (can go negative)
  http_request_duration_seconds_{bucket,sum,count}   classic histograms, 12 `le` buckets
Each target is "scraped" every 15 s plus a random 1-4 s offset (all series of
one target share a scrape's timestamp), so no sample sits on a 15 s boundary:
Prometheus 2.x (closed range start) and 3.x (open range start) then agree.

Usage: promgen.py push URL START_MS END_MS [SEED]
"""
import math
import random
import struct
import sys
import urllib.request

INTERVAL_MS = 15_000
LES = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]


def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, wire, payload):
    return _varint(num << 3 | wire) + payload


def _len(num, data):
    return _field(num, 2, _varint(len(data)) + data)


def encode_write_request(series):
    """series: list of (labels dict, [(t_ms, value), ...])."""
    out = bytearray()
    for labels, samples in series:
        ts = bytearray()
        for name in sorted(labels):
            ts += _len(1, _len(1, name.encode()) + _len(2, labels[name].encode()))
        for t, v in samples:
            ts += _len(2, _field(1, 1, struct.pack("<d", v)) + _field(2, 0, _varint(t)))
        out += _len(1, bytes(ts))
    return bytes(out)


def snappy_literal(data):
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


def push(url, series):
    body = snappy_literal(encode_write_request(series))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    })
    with urllib.request.urlopen(req, timeout=60) as r:
        if r.status // 100 != 2:
            raise RuntimeError(f"{url}: HTTP {r.status}")


class Target:
    """One scraped target: its series and their current values."""

    def __init__(self, rng, kind, labels):
        self.rng, self.kind, self.labels = rng, kind, labels
        self.state = {}

    def scrape(self):
        r = self.rng
        out = []
        if self.kind == "api":
            for method in ("GET", "POST"):
                for code in ("200", "500"):
                    k = ("req", method, code)
                    v = self.state.get(k, float(r.randint(0, 1000)))
                    v = 0.0 if r.random() < 0.004 else v + r.randint(0, 40 if code == "200" else 3)
                    self.state[k] = v
                    out.append(({"__name__": "http_requests_total", **self.labels, "method": method, "code": code}, v))
            # A histogram: draw this scrape's observations, add to cumulative buckets.
            reset = r.random() < 0.004
            counts = [0.0] * len(LES) if reset else self.state.get("h", [0.0] * len(LES))
            total = 0.0 if reset else self.state.get("hsum", 0.0)
            for _ in range(r.randint(5, 30)):
                x = r.lognormvariate(math.log(0.08), 1.2)
                total += x
                for i, le in enumerate(LES):
                    if le == "+Inf" or x <= float(le):
                        counts[i] += 1
            self.state["h"], self.state["hsum"] = counts, total
            for le, c in zip(LES, counts):
                out.append(({"__name__": "http_request_duration_seconds_bucket", **self.labels, "le": le}, c))
            out.append(({"__name__": "http_request_duration_seconds_sum", **self.labels}, round(total, 6)))
            out.append(({"__name__": "http_request_duration_seconds_count", **self.labels}, counts[-1]))
        else:
            for cpu in ("0", "1"):
                for mode, rate in (("idle", 12.0), ("user", 2.5), ("system", 0.5)):
                    k = ("cpu", cpu, mode)
                    v = self.state.get(k, r.uniform(0, 1e5)) + rate * r.uniform(0.7, 1.3)
                    self.state[k] = v
                    out.append(({"__name__": "node_cpu_seconds_total", **self.labels, "cpu": cpu, "mode": mode}, round(v, 3)))
            mem = self.state.get("mem", r.uniform(1e9, 8e9)) + r.gauss(0, 5e7)
            self.state["mem"] = max(mem, 1e8)
            out.append(({"__name__": "node_memory_free_bytes", **self.labels}, float(int(self.state["mem"]))))
            for sensor in ("a", "b", "c"):
                k = ("temp", sensor)
                v = self.state.get(k, r.uniform(-5, 60)) + r.gauss(0, 0.8)
                self.state[k] = v
                out.append(({"__name__": "temperature_celsius", **self.labels, "sensor": sensor}, round(v, 2)))
        return out


def targets(seed):
    rng = random.Random(seed)
    out = []
    for job in ("api", "web"):
        for i in range(6):
            out.append(Target(random.Random(rng.random()), "api", {"job": job, "instance": f"{job}-{i}:8080"}))
    for i in range(10):
        out.append(Target(random.Random(rng.random()), "node", {"job": "node", "instance": f"host-{i}:9100"}))
    return out


def generate(start_ms, end_ms, seed=1):
    """Yields batches (list of (labels, samples)) covering ~10 minutes each,
    in time order, so a receiver's head never sees a sample older than one
    it already accepted for the same series."""
    ts = targets(seed)
    jitter = random.Random(seed + 1)
    first = start_ms - start_ms % INTERVAL_MS
    window = 40 * INTERVAL_MS
    for w0 in range(first, end_ms, window):
        acc = {}
        for base in range(w0, min(w0 + window, end_ms), INTERVAL_MS):
            for tgt in ts:
                t = base + jitter.randint(1000, 3999)
                if t < start_ms or t > end_ms:
                    tgt.scrape()
                    continue
                for labels, v in tgt.scrape():
                    key = tuple(sorted(labels.items()))
                    acc.setdefault(key, (labels, []))[1].append((t, v))
        if acc:
            yield list(acc.values())


def push_all(urls, start_ms, end_ms, seed=1):
    series = samples = 0
    names = set()
    for batch in generate(start_ms, end_ms, seed):
        for url in urls:
            push(url, batch)
        for labels, s in batch:
            names.add(tuple(sorted(labels.items())))
            samples += len(s)
    series = len(names)
    return series, samples


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] != "push":
        sys.exit(__doc__)
    urls = sys.argv[2].split(",")
    n, s = push_all(urls, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    print(f"pushed {n} series, {s} samples to {', '.join(urls)}")
