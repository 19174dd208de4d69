#!/usr/bin/env python3
"""Several requests on one http.client.HTTPConnection.

py_client.py HOST PORT           GET, HEAD, POSTs (plain and chunked), GET
py_client.py HOST PORT upload    a 4 MB POST then a GET: against the slow
    server one send() of the whole body returns short / EAGAIN.
"""
import http.client
import sys

conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=30)


def do(method, path, body=None, headers=None, **kw):
    conn.request(method, path, body=body, headers=headers or {}, **kw)
    resp = conn.getresponse()
    data = resp.read()          # read fully so the connection can be reused
    print(method, path, resp.status, data[:60])
    if resp.status != 200:
        sys.exit(1)


if sys.argv[3:] == ["upload"]:
    # Bigger than the loopback send buffer, so the kernel takes it in parts.
    do("POST", "/py/upload", body=bytes(range(256)) * 16384)
    do("GET", "/py/after-upload")
    sys.exit(0)

do("GET", "/py/get")
do("HEAD", "/py/head", headers={"Connection": "keep-alive"})
do("POST", "/py/post", body=b"a=1&b=2", headers={"Content-Type": "application/x-www-form-urlencoded"})
do("POST", "/py/chunked", body=iter([b"first,", b"second,", b"third"]), encode_chunked=True,
   headers={"Connection": "keep-alive"})
do("GET", "/py/last", headers={"Connection": "keep-alive"})
conn.close()
