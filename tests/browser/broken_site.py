"""A tiny console with one of every problem crawl.mjs must report, so the
browser test can show that a clean crawl means something.

Usage: broken_site.py  (prints the port it listens on, then serves)
"""
import http.server
import json
import sys

NAV = '<a href="/">home</a> <a href="/console/throws">throws</a> <a href="/console/fetch-fails">fetch</a> ' \
      '<a href="/console/gone">gone</a> <a href="/api/v1/missing">api</a> <a href="/console/query">query</a> ' \
      '<a href="/console/things">things</a>'


def page(body, script=""):
    return f'<!doctype html><html><head><meta charset="utf-8"><title>t</title>' \
           f'<link rel="icon" href="data:,"></head><body><nav>{NAV}</nav>{body}<div id="error" style="display:none"></div>' \
           f'<script>{script}</script></body></html>'


PAGES = {
    "/": page("<h1>home</h1>"),
    "/console/throws": page("<h1>throws</h1>", "console.error('boom from the page'); undefinedFunction();"),
    "/console/fetch-fails": page(
        "<h1>fetch</h1>",
        "fetch('/api/v1/fails').then(r => r.json()).then(b => {"
        " const e = document.getElementById('error'); e.textContent = b.error; e.style.display = 'block'; });"),
    # A query form that swallows the server's message; no incidents page.
    "/console/query": page(
        '<form id="f"><textarea id="expr"></textarea><button>run</button></form>',
        "document.getElementById('f').addEventListener('submit', async (ev) => { ev.preventDefault();"
        " await fetch('/api/v1/query', {method: 'POST', body: 'query=sum('}); });"),
    # A form whose server takes an empty required field.
    "/console/things": page(
        '<form id="add"><input name="name" required><button>add</button></form>',
        "document.getElementById('add').addEventListener('submit', async (ev) => { ev.preventDefault();"
        " await fetch('/api/v1/things', {method: 'POST', body: '{}'}); });"),
}


class Handler(http.server.BaseHTTPRequestHandler):
    def _send(self, status, ctype, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in PAGES:
            self._send(200, "text/html; charset=utf-8", PAGES[path])
        elif path == "/api/v1/fails":
            self._send(500, "application/json", json.dumps({"status": "error", "error": "it broke"}))
        else:
            self._send(404, "text/plain", "not found")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/api/v1/things":
            return self._send(201, "application/json", json.dumps({"status": "success", "data": {}}))
        self._send(400, "application/json", json.dumps({"status": "error", "error": "parse error: unclosed"}))

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
