"""A TCP echo server for the fault proxy's interop test, and a round-trip
timer through it.

  toxiproxy_echo.py serve PORT     echo every byte back, until killed
  toxiproxy_echo.py rtt HOST:PORT  print the median of 5 round trips in ms
"""
import socket
import statistics
import sys
import threading
import time


def serve(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)

    def echo(c):
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                c.sendall(data)

    while True:
        c, _ = srv.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def rtt(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(5):
        t = time.monotonic()
        s.sendall(b"ping")
        got = b""
        while len(got) < 4:
            chunk = s.recv(4 - len(got))
            if not chunk:
                raise SystemExit("connection closed")
            got += chunk
        times.append((time.monotonic() - t) * 1000)
    s.close()
    return statistics.median(times)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        print(f"{rtt(sys.argv[2]):.1f}")
