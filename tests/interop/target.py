"""A small exposition target for interop tests: counters and gauges that
change on every scrape, and one series that vanishes after VANISH_AFTER s."""
import http.server
import sys
import time

START = time.time()
VANISH_AFTER = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
hits = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global hits
        if self.path != "/metrics":
            self.send_response(404)
            self.end_headers()
            return
        hits += 1
        age = time.time() - START
        lines = [
            "# HELP interop_requests_total Requests served.",
            "# TYPE interop_requests_total counter",
            f'interop_requests_total{{code="200",method="get"}} {hits * 3}',
            f'interop_requests_total{{code="500",method="get"}} {hits // 4}',
            "# TYPE interop_temperature_celsius gauge",
            f"interop_temperature_celsius {20 + (hits % 7) * 0.25}",
            f'interop_info{{version="1.2.3",path="C:\\\\tmp",quote="say \\"hi\\""}} 1',
            "interop_special NaN",
            f"interop_age_seconds {age:.3f}",
        ]
        if age < VANISH_AFTER:
            lines.append('interop_vanishing{stage="early"} 42')
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
