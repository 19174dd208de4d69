#!/usr/bin/env python3
"""python http.client, one HTTPConnection for several targets.

  py_resp.py HOST PORT [METHOD:]TARGET...

One JSON line per target: status, the final response's Connection and
Keep-Alive headers, will_close (whether http.client will close the
connection after this response), sha256 of the body, and "sockets": how
many sockets the connection object has opened so far (it reconnects by
itself after a response that says close).
"""
import hashlib
import http.client
import json
import sys

host, port, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
conn = http.client.HTTPConnection(host, port, timeout=10)
opened = 0
real_connect = conn.connect


def counting_connect():
    global opened
    opened += 1
    real_connect()


conn.connect = counting_connect
for t in targets:
    method, target = t.split(":", 1) if ":" in t else ("GET", t)
    conn.request(method, target)
    r = conn.getresponse()
    body = r.read()
    print(json.dumps({"target": t, "status": r.status, "connection": r.getheader("Connection"),
                      "keep_alive": r.getheader("Keep-Alive"), "will_close": r.will_close,
                      "sha256": hashlib.sha256(body).hexdigest(), "sockets": opened}))
conn.close()
