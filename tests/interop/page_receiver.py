"""A webhook receiver for pages: every POST is appended, as one JSON line
with the path and the receive time, to the file named on the command line.
Prints its port on stdout once listening."""
import http.server
import json
import sys
import time

OUT = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"unparsed": body.decode("utf-8", "replace")}
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "t": time.time(), "body": payload}) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
