#!/usr/bin/env python3
"""The server for the Hurl port (tests/hurl_port.rs): routes in the spirit of the Flask routes
Hurl's integration suite runs against, written anew for gaterun. Environment: PORT.

Every route answers the same way every time (cookies excepted, which live in the client), so a
case's passing gate and its near miss see the same response.
"""
import base64
import gzip
import hashlib
import json
import os
import time
import urllib.parse
import zlib
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ["PORT"])

# `Hello brotli! The body was compressed with br.`, compressed once with the reference brotli
# encoder (quality 11): no brotli module is needed to serve it.
BROTLI = base64.b64decode("ixaASGVsbG8gYnJvdGxpISBUaGUgYm9keSB3YXMgY29tcHJlc3NlZCB3aXRoIGJyLgM=")

USERS = {
    "name": "Bob",
    "count": 3,
    "ratio": 0.1,
    "active": True,
    "nothing": None,
    "big": 1000000000000000000001,
    "greeting": "café ☕",
    "email": "bob@example.org",
    "tags": ["a", "b", "c"],
    "items": [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}, {"id": 3, "name": "three"}],
    "user": {"address": {"city": "Lyon", "zip": "69001"}},
    "profile-id": "p-42",
    "first name": "Ana",
    "point": {"x": 1, "y": 2},
}

XML = """<?xml version="1.0" encoding="UTF-8"?>
<catalog name="books">
  <title>Gate Books</title>
  <book id="b1" lang="en"><name>Rust in Action</name><price>39.5</price></book>
  <book id="b2" lang="fr"><name>Le Petit Prince</name><price>9</price></book>
  <book id="b3" lang="en"><name>The Pragmatic Programmer</name><price>42</price></book>
</catalog>
"""

HTML = """<!DOCTYPE html>
<html><head><title>Tasks</title></head>
<body>
  <h1>Task list</h1>
  <ul id="tasks">
    <li class="task done" data-id="7">write docs</li>
    <li class="task" data-id="8">review code</li>
  </ul>
  <a class="next" href="/page/2">next</a>
  <p class="hidden-note" hidden>nothing to see</p>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", content_type="text/plain; charset=utf-8", headers=()):
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
            content_type = "application/json"
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
        data = self.body()
        m = self.command
        if path == "/hello":
            return self.reply(200, "Hello World!")
        if path.startswith("/status/"):
            return self.reply(int(path.rsplit("/", 1)[1]), "")
        if path == "/headers-out":
            return self.reply(200, "", headers=[
                ("X-Fruit", "Banana"), ("X-Multi", "one"), ("X-Multi", "two"),
                ("X-Version", "1.2.3"), ("X-Empty", ""),
            ])
        if path == "/echo":
            # What the request was, as JSON: method, version, query, headers (lower case), body.
            return self.reply(200, {
                "method": m,
                "version": self.request_version,
                "path": path,
                "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": data.decode("utf-8", "replace"),
                "sha256": hashlib.sha256(data).hexdigest(),
                "length": len(data),
                "hex": data.hex(),
            })
        if path == "/form":
            ctype = self.headers.get("Content-Type", "")
            return self.reply(200, {
                "content_type": ctype,
                "fields": urllib.parse.parse_qs(data.decode(), keep_blank_values=True),
            })
        if path == "/multipart":
            ctype = self.headers.get("Content-Type", "")
            msg = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + data)
            parts = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                raw = part.get_payload(decode=True) or b""
                parts[name] = {
                    "filename": part.get_filename(),
                    "type": part.get_content_type() if part.get("Content-Type") else None,
                    "text": raw.decode("utf-8", "replace"),
                    "sha256": hashlib.sha256(raw).hexdigest(),
                }
            return self.reply(200, {"multipart": ctype.startswith("multipart/form-data"),
                                    "parts": parts})
        if path == "/json":
            return self.reply(200, USERS)
        if path == "/empty":
            return self.reply(200, b"", content_type=None)
        if path == "/large":
            return self.reply(200, b"x" * (1 << 20), content_type="application/octet-stream")
        if path == "/bytes":
            return self.reply(200, bytes(range(256)), content_type="application/octet-stream")
        if path == "/resource":
            if m == "DELETE":
                return self.reply(204, b"", content_type=None)
            if m in ("PUT", "PATCH", "POST"):
                return self.reply(200, {"method": m, "received": json.loads(data or b"null")})
            if m == "OPTIONS":
                return self.reply(204, b"", content_type=None,
                                  headers=[("Allow", "GET, PUT, PATCH, DELETE, OPTIONS")])
            return self.reply(200, "resource")
        if path == "/protected":
            want = "Basic " + base64.b64encode(b"bob:secret").decode()
            if self.headers.get("Authorization") == want:
                return self.reply(200, "welcome bob")
            return self.reply(401, "who are you?", headers=[("WWW-Authenticate", 'Basic realm="x"')])
        if path == "/token":
            return self.reply(200, "<p>your token=a1b2c3 expires soon</p>", "text/html; charset=utf-8")
        if path == "/items/2":
            return self.reply(200, {"id": 2, "name": "two"})
        if path == "/created":
            return self.reply(201, "", headers=[("Location", "/items/2")])
        if path == "/gzip":
            return self.reply(200, gzip.compress(b"Hello gzip! The body was compressed."),
                              headers=[("Content-Encoding", "gzip")])
        if path == "/deflate":
            return self.reply(200, zlib.compress(b"Hello deflate! The body was compressed."),
                              headers=[("Content-Encoding", "deflate")])
        if path == "/brotli":
            return self.reply(200, BROTLI, headers=[("Content-Encoding", "br")])
        if path == "/latin1":
            return self.reply(200, "café à la crème".encode("latin-1"), "text/plain; charset=ISO-8859-1")
        if path == "/gb2312":
            return self.reply(200, "你好世界".encode("gb2312"), "text/plain; charset=gb2312")
        if path == "/cp1256":
            return self.reply(200, "مرحبا بالعالم".encode("cp1256"), "text/plain; charset=windows-1256")
        if path == "/meta-charset":
            page = '<html><head><meta charset="iso-8859-1"><title>x</title></head><body>déjà vu</body></html>'
            return self.reply(200, page.encode("latin-1"), "text/html")
        if path == "/utf8":
            return self.reply(200, "Grüße, 世界 🌍", "text/plain; charset=utf-8")
        if path == "/cookies/set":
            return self.reply(200, "set", headers=[
                ("Set-Cookie", "session=abc123; Path=/"),
                ("Set-Cookie", "scoped=only-here; Path=/cookies/scoped"),
            ])
        if path.startswith("/cookies/"):
            return self.reply(200, {"cookie": self.headers.get("Cookie", "")})
        if path == "/redirect":
            return self.reply(302, "", headers=[("Location", "/redirect/2")])
        if path == "/redirect/2":
            return self.reply(301, "", headers=[("Location", "/redirect/3")])
        if path == "/redirect/3":
            return self.reply(200, "landed")
        if path == "/slow":
            time.sleep(0.4)
            return self.reply(200, "slow")
        if path == "/xml":
            return self.reply(200, XML, "application/xml; charset=utf-8")
        if path == "/html":
            return self.reply(200, HTML, "text/html; charset=utf-8")
        if path == "/custom":
            return self.reply(200, f"method={m}")
        return self.reply(404, "not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = route
    do_PURGE = do_PROPFIND = route


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
