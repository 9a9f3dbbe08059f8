#!/usr/bin/env python3
"""Listens on $PORT after $DELAY_MS, writes the moment it started listening (ns since the
epoch) to $MARK, then answers every request with 200 ok."""
import os
import socket
import time

time.sleep(int(os.environ.get("DELAY_MS", "300")) / 1000)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(64)
with open(os.environ["MARK"], "w") as f:
    f.write(str(time.time_ns()))
while True:
    c, _ = s.accept()
    request = c.recv(65536)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    # A HEAD request (wait-on's default) gets the head alone.
    c.sendall(head if request.startswith(b"HEAD") else head + b"ok\n")
    c.close()
