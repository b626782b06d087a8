#!/usr/bin/env python3
"""Slowloris: opens N connections that send part of a request's headers and
then one more header byte every second, never finishing. Prints how long
the server took to close them and exits 1 if any stayed open longer than
LIMIT seconds (the server's header timeout plus slack).

usage: slowloris.py HOST PORT N LIMIT [--tls]  (--tls: a TLS handshake
first, certificate not checked)"""

import socket
import ssl
import sys
import time
import selectors


def main():
    host, port, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    use_tls = "--tls" in sys.argv[5:]
    ctx = None
    if use_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    sel = selectors.DefaultSelector()
    opened = {}
    start = time.monotonic()
    for i in range(n):
        s = socket.create_connection((host, port), timeout=5)
        if ctx is not None:
            s = ctx.wrap_socket(s, server_hostname=host)
        s.sendall(b"GET /api/v1/status/buildinfo HTTP/1.1\r\nHost: %s\r\nX-Slow: " % host.encode())
        s.setblocking(False)
        opened[s.fileno()] = (s, time.monotonic())
        sel.register(s, selectors.EVENT_READ)
    print(f"opened {n} connections in {time.monotonic() - start:.2f}s", flush=True)
    closed = {}
    next_trickle = time.monotonic() + 1
    deadline = start + limit + 5
    while len(closed) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s, t0 = opened[key.fd]
            try:
                data = s.recv(4096)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except OSError:
                data = b""
            if data:
                # An answer (e.g. 408) is fine as long as the connection then closes.
                continue
            closed[key.fd] = time.monotonic() - t0
            sel.unregister(s)
        if time.monotonic() >= next_trickle:
            next_trickle += 1
            for fd, (s, _) in opened.items():
                if fd not in closed:
                    try:
                        s.send(b"a")
                    except (OSError, ssl.SSLWantWriteError):
                        pass
    still_open = n - len(closed)
    slowest = max(closed.values()) if closed else float("nan")
    late = sum(1 for t in closed.values() if t > limit)
    print(f"closed by the server: {len(closed)}/{n}; slowest after {slowest:.2f}s; "
          f"later than {limit}s: {late}; still open: {still_open}")
    for s, _ in opened.values():
        s.close()
    sys.exit(0 if still_open == 0 and late == 0 else 1)


if __name__ == "__main__":
    main()
