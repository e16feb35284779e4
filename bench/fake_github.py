#!/usr/bin/env python3
"""A stand-in for api.github.com on 127.0.0.1, for the benchmarks.

gh reaches it as an HTTP proxy (GH_HOST=github.localhost,
HTTP_PROXY=http://127.0.0.1:PORT). Every GET answers a JSON document of about
10 KB, like a repository's metadata. Prints the port it listens on.
"""
import http.server
import json
import sys

BODY = json.dumps(
    {
        "id": 212613049,
        "full_name": "cli/cli",
        "description": "GitHub's official command line tool",
        "topics": ["cli", "git", "github-api-v4", "golang"],
        "padding": ["x" * 90 for _ in range(100)],
    },
    indent=2,
).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("X-RateLimit-Remaining", "4999")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as f:
        f.write(str(server.server_address[1]))
server.serve_forever()
