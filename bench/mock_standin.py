#!/usr/bin/env python3
"""The stand-in beside gaterun's mock in bench/run's `mocks` section: Python's ThreadingHTTPServer
(a thread per connection, keep-alive) answering the section's routes as the mock is told to:

    POST /repos/acme/app/pulls  with a JSON body whose $.title matches /fix/  -> 201 {"number": 7}
    GET  /rate_limit                                                           -> 200 {"remaining": 10}
    anything else                                                              -> 404

Like the mock and WireMock it keeps every request it was sent (in memory); it logs nothing.
Environment: PORT.
"""
import json
import os
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED = []
TITLE = re.compile("fix")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the head and the body are two writes

    def answer(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        RECEIVED.append((self.command, self.path, dict(self.headers), body))
        if self.command == "POST" and self.path == "/repos/acme/app/pulls":
            try:
                title = json.loads(body).get("title")
            except (ValueError, AttributeError):
                title = None
            if isinstance(title, str) and TITLE.search(title):
                return self.answer(201, {"number": 7})
        elif self.command == "GET" and self.path == "/rate_limit":
            return self.answer(200, {"remaining": 10})
        self.answer(404)

    do_GET = do_POST = do_PUT = do_DELETE = route

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128  # the default, 5, can drop a connection's handshake
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
