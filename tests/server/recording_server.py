#!/usr/bin/env python3
"""Recording HTTP/1.x test server for forceclose (stdlib only).

Every byte received on connection N is appended, as it arrives, to
LOGDIR/conn-NNNN.raw (unbuffered), so a test can read the file as soon as the
client has exited.  If the file LOGDIR/phase exists when a connection is
accepted, its content (a plain name) selects a subdirectory LOGDIR/<phase>/
for that connection: one server (hence one Host header) can then record a
baseline run and a shim run into separate directories.

Modes:
  keepalive  answers every request with a deterministic response, ignores
             "Connection: close" and never closes a connection itself: the
             misbehaving server that forceclose exists for.  The target picks
             the kind of response (chunked, 1xx, 204/304, HTTP/1.0,
             close-delimited, deliberately ambiguous ones): see respond().
             --honour-close makes it close when the request asks for it.
  sink       never answers; only records.
  slow       like keepalive but with a tiny receive buffer and slow reads, so
             a client sending a big body sees partial writes / EAGAIN.

--tls CERT KEY wraps every accepted connection in TLS (the handshake runs in
the connection's thread); what is recorded is the decrypted stream.  TLS 1.3
servers send session tickets after the handshake (Python's default, 2).
--tls-max 1.2 caps the version; --alpn h2,http/1.1 selects from what the
client offers.

The request parser below (Reader, read_request) is also used by
tests/lib/check_requests.py so both apply the same framing rules.

Every log directory (LOGDIR and each phase directory) also gets a
stats.json, rewritten on every accept, request and close: see Stats.
"""
import argparse
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time


class Malformed(Exception):
    pass


class Reader:
    """Buffered byte reader over a pull function returning b"" at EOF."""

    def __init__(self, pull):
        self.pull = pull
        self.buf = b""
        self.pos = 0      # read offset in buf
        self.eof = False

    def _more(self):
        if self.eof:
            return False
        data = self.pull()
        if not data:
            self.eof = True
            return False
        # Drop consumed bytes so big bodies do not make the buffer grow.
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        return True

    def mark(self):
        self.raw = []     # consumed bytes since mark, kept for the caller

    def _take(self, n):
        chunk = self.buf[self.pos:self.pos + n]
        self.pos += len(chunk)
        self.raw.append(chunk)
        return chunk

    def readline(self):
        """Return one line including its LF; b"" or a partial line at EOF."""
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                return self._take(i + 1 - self.pos)
            if not self._more():
                return self._take(len(self.buf) - self.pos)

    def read(self, n):
        out = []
        while n > 0:
            if self.pos >= len(self.buf) and not self._more():
                break
            chunk = self._take(n)
            out.append(chunk)
            n -= len(chunk)
        return b"".join(out)

    def at_eof(self):
        return self.pos >= len(self.buf) and not self._more()


class Request:
    def __init__(self):
        self.raw = b""          # exact bytes, including leading blank lines
        self.lead = b""         # the leading blank lines alone
        self.head_lines = []    # raw head lines (with line endings)
        self.method = self.target = self.version = ""
        self.fields = []        # (name, value) as str (latin-1), unfolded
        self.body = b""         # message body as sent (chunk framing kept)
        self.complete = False
        self.error = None       # framing problem; rest of stream not parsed

    def field_values(self, name):
        return [v for n, v in self.fields if n.lower() == name.lower()]


def _parse_fields(lines):
    fields = []
    for line in lines:
        text = line.rstrip(b"\r\n").decode("latin-1")
        if text[:1] in (" ", "\t") and fields:   # obsolete line folding
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + text.strip())
        elif ":" in text:
            name, value = text.split(":", 1)
            fields.append((name, value.strip()))
        else:
            fields.append((text, ""))
    return fields


def read_request(rd, on_head=None):
    """Read one request from Reader rd.  Returns None at a clean EOF.

    Framing: optional leading blank lines, a head ended by an empty line (CRLF
    or bare LF), then a body by chunked Transfer-Encoding (extensions and
    trailers allowed) or Content-Length, else no body.  on_head(req) is called
    between head and body (for "Expect: 100-continue").
    """
    rd.mark()
    req = Request()
    line = rd.readline()
    while line in (b"\r\n", b"\n"):           # tolerated blank lines
        line = rd.readline()
    req.lead = b"".join(rd.raw[:-1])
    if not line:
        if rd.raw and b"".join(rd.raw):
            req.raw = b"".join(rd.raw)
            req.error = "only blank lines"
            return req
        return None
    while line and line not in (b"\r\n", b"\n"):
        req.head_lines.append(line)
        if not line.endswith(b"\n"):
            break                             # EOF inside the head
        line = rd.readline()
    head_done = line in (b"\r\n", b"\n")
    parts = req.head_lines[0].rstrip(b"\r\n").decode("latin-1").split(" ")
    if len(parts) == 3:
        req.method, req.target, req.version = parts
    req.fields = _parse_fields(req.head_lines[1:])
    if not head_done:
        req.raw = b"".join(rd.raw)
        req.error = "EOF inside the head"
        return req
    try:
        if on_head:
            on_head(req)
        req.body = _read_body(rd, req)
        req.complete = True
    except Malformed as e:
        req.error = str(e)
    req.raw = b"".join(rd.raw)
    return req


def _read_body(rd, req):
    te = ",".join(req.field_values("Transfer-Encoding")).lower()
    if te.strip():
        if te.split(",")[-1].strip() != "chunked":
            raise Malformed("Transfer-Encoding without final chunked: " + te)
        out = []
        while True:
            line = rd.readline()
            out.append(line)
            if not line.endswith(b"\n"):
                raise Malformed("EOF in chunk size line")
            size = line.split(b";", 1)[0].strip()
            try:
                n = int(size, 16)
            except ValueError:
                raise Malformed("bad chunk size %r" % size)
            if n == 0:
                break
            data = rd.read(n)
            out.append(data)
            end = rd.readline()
            out.append(end)
            if len(data) < n or end not in (b"\r\n", b"\n"):
                raise Malformed("bad or truncated chunk data")
        while True:                            # trailer section
            line = rd.readline()
            out.append(line)
            if not line.endswith(b"\n"):
                raise Malformed("EOF in trailers")
            if line in (b"\r\n", b"\n"):
                return b"".join(out)
    lengths = {v.strip() for v in req.field_values("Content-Length")}
    if not lengths:
        return b""
    if len(lengths) != 1 or not next(iter(lengths)).isdigit():
        raise Malformed("bad Content-Length %r" % sorted(lengths))
    n = int(next(iter(lengths)))
    body = rd.read(n)
    if len(body) < n:
        raise Malformed("EOF inside a Content-Length body")
    return body


PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyz\n"


def response_body(method, path, bodylen):
    """Deterministic body; HEAD is sized like the matching GET.

    A target ending in /size/N gets N bytes of a fixed pattern; any other
    target gets the line "METHOD TARGET REQUEST-BODY-LENGTH\\n"."""
    m = re.search(r"/size/(\d+)$", path)
    if m:
        n = int(m.group(1))
        return (PATTERN * (n // len(PATTERN) + 1))[:n]
    if method == "HEAD":
        method = "GET"
    return ("%s %s %d\n" % (method, path, bodylen)).encode("latin-1")


def chunked_body(body, bws=False):
    """body in chunked framing with extensions (tokens, quoted strings with
    ';' and escaped quotes inside), upper-case hex, a leading zero, and a
    trailer section.  bws: also an extension with whitespace around ';' and
    '=' (allowed by RFC 9112, rejected by node's strict parser)."""
    sizes = [1, 7, 100, 4096, 16384, 3]
    exts = [b";name=value", b';q="quoted;string \\"with\\" escapes"', b"",
            b";a=1;flag"] + ([b' ;spaced = "x y"'] if bws else [])
    out, pos, i = [], 0, 0
    while pos < len(body):
        piece = body[pos:pos + sizes[i % len(sizes)]]
        size = ("%X" if i % 2 else "0%x") % len(piece)
        ext = exts[i % len(exts)]
        out.append(size.encode() + ext + b"\r\n" + piece + b"\r\n")
        pos += len(piece)
        i += 1
    out.append(b'0;final="yes;really"\r\n')
    out.append(b"X-Checksum: %s\r\nX-Trailer-Two: done\r\n\r\n"
               % hashlib.sha256(body).hexdigest().encode())
    return b"".join(out)


# Responses the shim must leave alone (never rewrite, never tear down): each
# is sent as is, then the server keeps the connection open and answers every
# received chunk that contains "PING" with "PONG\r\n".
HUGE = b"a" * (70 * 1024)
BAD = {
    # two different Content-Length values; the body is as long as the second
    "two-cl": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n"
              b"Content-Length: 11\r\n\r\nhello world",
    # Content-Length together with Transfer-Encoding
    "cl-te": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "cl-negative": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: -1\r\n"
                   b"\r\nhello",
    "cl-nonnumeric": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5x\r\n"
                     b"\r\nhello",
    # 2**64 + 5: wraps to 5 in 64-bit arithmetic
    "cl-overflow": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
                   b"Content-Length: 18446744073709551621\r\n\r\nhello",
    # 17 hex digits, value 5
    "chunk17": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
               b"\r\n00000000000000005\r\nhello\r\n0\r\n\r\n",
    # 17 hex digits, 2**64 + 5: wraps to 5
    "chunk17-overflow": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                        b"10000000000000005\r\nhello\r\n0\r\n\r\n",
    "garbage": b"This is not an HTTP status line\r\nConnection: keep-alive\r\n"
               b"Content-Length: 5\r\n\r\nhello",
    "bare-cr": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX-Bare: a\rb\r\n"
               b"Content-Length: 5\r\n\r\nhello",
    # one 70 KiB header line: the head is over 64 KiB
    "huge-header": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX-Huge: " + HUGE +
                   b"\r\nContent-Length: 5\r\n\r\nhello",
}


def tokens(values):
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def respond(req):
    """(list of byte strings to send, what to do next) for one request.

    What next: "keep" (wait for the next request), "close" (the server closes
    after the response: close-delimited body), "pong" (framing is broken on
    purpose; keep the connection and answer PINGs).

    Response kinds by target prefix (any other target: 200 with
    Content-Length, as before):
      /chunked/...          chunked body, chunk extensions, trailers
      /chunked-bws/...      the same plus whitespace around ';' in extensions
      /hints/N/...          N (1 or 2) "103 Early Hints" before the 200
      /hints/ka/...         one 103 carrying "Connection: keep-alive"
      /status/204...        204, no body
      /status/304...        304, no body; /status/304cl... adds Content-Length
      /ka/...               200 with "Connection: keep-alive" and Keep-Alive
      /ka-tokens/...        200 with "Connection: Keep-Alive, X-Fc-Token",
                            Keep-Alive and X-Fc-Token lines
      /http10-keepalive/... HTTP/1.0 200, Connection: keep-alive, Keep-Alive:
                            timeout=5, max=100, Content-Length
      /http10-close/...     HTTP/1.0 200 without length; the server closes
      /http11-close/...     HTTP/1.1 200 without length; the server closes
      /bad/KIND             the raw bytes BAD[KIND], then PONG mode
      /trickle/REST         the response to /REST, sent 1 to 7 bytes per
                            segment with a short pause between segments
    "Expect: 100-continue" is answered with 100 Continue before the body is
    read, whatever the target (see handle()).
    """
    t, head = req.target, req.method == "HEAD"
    body = response_body(req.method, t, len(req.body))
    ctype = b"Content-Type: text/plain\r\n"

    def final(status_line, fields, body, framing="cl"):
        h = status_line + b"\r\n" + ctype + fields
        if framing == "cl":
            h += b"Content-Length: %d\r\n" % len(body)
        elif framing in ("chunked", "chunked-bws"):
            h += b"Transfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Trailer-Two\r\n"
            body = chunked_body(body, framing == "chunked-bws")
        # head and body in one send: no Nagle / delayed-ACK stall between them
        return [h + b"\r\n" + (b"" if head else body)]

    m = re.match(r"/bad/([A-Za-z0-9-]+)", t)
    if m and m.group(1) in BAD:
        return [BAD[m.group(1)]], "pong"
    if t.startswith("/chunked/") or t.startswith("/chunked-bws/"):
        return final(b"HTTP/1.1 200 OK", b"", body, t.split("/")[1]), "keep"
    m = re.match(r"/hints/(1|2|ka)/", t)
    if m:
        hints = [b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"]
        if m.group(1) == "2":
            hints.append(b"HTTP/1.1 103 Early Hints\r\nLink: </script.js>; rel=preload; "
                         b"as=script\r\nX-Hint: second\r\n\r\n")
        if m.group(1) == "ka":
            hints = [b"HTTP/1.1 103 Early Hints\r\nConnection: keep-alive\r\n"
                     b"Keep-Alive: timeout=5\r\nLink: </a.css>; rel=preload; as=style\r\n\r\n"]
        return hints + final(b"HTTP/1.1 200 OK", b"", body), "keep"
    if t.startswith("/status/204"):
        return [b"HTTP/1.1 204 No Content\r\nX-Status: 204\r\n\r\n"], "keep"
    if t.startswith("/status/304cl"):
        return [b"HTTP/1.1 304 Not Modified\r\nETag: \"fc-1\"\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)], "keep"
    if t.startswith("/status/304"):
        return [b"HTTP/1.1 304 Not Modified\r\nETag: \"fc-1\"\r\n\r\n"], "keep"
    if t.startswith("/ka/"):
        return final(b"HTTP/1.1 200 OK", b"Connection: keep-alive\r\n"
                     b"Keep-Alive: timeout=5, max=100\r\n", body), "keep"
    if t.startswith("/ka-tokens/"):
        return final(b"HTTP/1.1 200 OK", b"Connection: Keep-Alive, X-Fc-Token\r\n"
                     b"Keep-Alive: timeout=5, max=100\r\nX-Fc-Token: kept\r\n", body), "keep"
    if t.startswith("/http10-keepalive/"):
        return final(b"HTTP/1.0 200 OK", b"Connection: keep-alive\r\n"
                     b"Keep-Alive: timeout=5, max=100\r\n", body), "keep"
    if t.startswith("/http10-close/"):
        return final(b"HTTP/1.0 200 OK", b"", body, "close"), "close"
    if t.startswith("/http11-close/"):
        return final(b"HTTP/1.1 200 OK", b"", body, "close"), "close"
    return final(b"HTTP/1.1 200 OK", b"", body), "keep"


def wants_close(req):
    toks = tokens(req.field_values("Connection"))
    return "close" in toks or (req.version == "HTTP/1.0" and "keep-alive" not in toks)


class Stats:
    """Connection counters of one log directory, rewritten to DIR/stats.json
    (atomically) on every accept, request and close:
      open               connections accepted and not yet closed by the server
      max_open           most connections open at once, counted at each
                         accept: the new one plus every earlier one still
                         open whose client has not ended it (a FIN that the
                         connection's thread has not processed yet does not
                         count, so this does not depend on thread scheduling)
      connections        connections accepted
      requests           complete requests answered (counted before the answer)
      requests_per_conn  requests of each connection, in accept order
      conns              per connection: requests, open, end ("eof": the
                         client ended it, "server": the server closed first,
                         "error"), pongs (PINGs answered in PONG mode)
    """

    def __init__(self, d):
        self.dir = d
        self.path = os.path.join(d, "stats.json")
        self.open = self.max_open = self.requests = 0
        self.conns = {}         # insertion (accept) order

    def write(self):
        doc = {"open": self.open, "max_open": self.max_open,
               "connections": len(self.conns), "requests": self.requests,
               "requests_per_conn": [c["requests"] for c in self.conns.values()],
               "conns": self.conns}
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, self.path)


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.counters = {}
        self.stats = {}
        self.socks = {}         # raw path -> socket, while open

    def log(self, text):
        with self.lock:
            with open(os.path.join(self.args.log_dir, "connections.log"), "a") as f:
                f.write(text + "\n")

    def open_raw(self):
        """Pick the directory (phase) and sequence number at accept time
        (in the accepting thread, so conn-NNNN follows accept order)."""
        base = self.args.log_dir
        try:
            with open(os.path.join(base, "phase")) as f:
                phase = f.read().strip()
        except FileNotFoundError:
            phase = ""
        if phase and not re.fullmatch(r"[A-Za-z0-9_.-]+", phase):
            phase = ""
        d = os.path.join(base, phase) if phase else base
        with self.lock:
            os.makedirs(d, exist_ok=True)
            n = self.counters.get(d, 0) + 1
            self.counters[d] = n
        name = os.path.join(d, "conn-%04d.raw" % n)
        return name, open(name, "ab", buffering=0)

    def _stat_targets(self, path):
        """[(Stats, key)] for the connection's own directory and, when it is a
        phase subdirectory, the whole server's log dir too."""
        out = []
        for d in {os.path.dirname(path), self.args.log_dir}:
            st = self.stats.get(d)
            if st is None:
                st = self.stats[d] = Stats(d)
            out.append((st, os.path.relpath(path, d)[:-len(".raw")]))
        return out

    @staticmethod
    def _client_holds(sock):
        """False once the peer's FIN (or a reset) is queued on sock."""
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    def stat_event(self, path, event, end=None, sock=None):
        with self.lock:
            if event == "open":
                live = {p for p, s in self.socks.items() if self._client_holds(s)}
                self.socks[path] = sock
            elif event == "close":
                self.socks.pop(path, None)
            for st, key in self._stat_targets(path):
                if event == "open":
                    st.conns[key] = {"requests": 0, "open": True, "end": None, "pongs": 0}
                    st.open += 1
                    held = 1 + sum(1 for p in live if st.dir == self.args.log_dir
                                   or os.path.dirname(p) == st.dir)
                    st.max_open = max(st.max_open, held)
                elif event == "request":
                    st.conns[key]["requests"] += 1
                    st.requests += 1
                elif event == "pong":
                    st.conns[key]["pongs"] += 1
                elif event == "close":
                    st.conns[key]["open"] = False
                    st.conns[key]["end"] = end
                    st.open -= 1
                st.write()

    def handle(self, sock, peer, path, raw):
        name = os.path.relpath(path, self.args.log_dir)
        self.log("accept %s peer=%s" % (name, peer))
        slow = self.args.mode == "slow"
        end = "eof"
        if self.tls is not None:
            # the TCP socket stays in self.socks for the liveness peek
            # (a dup: wrap_socket detaches the object it wraps)
            plain = sock
            sock = self.tls.wrap_socket(plain.dup(), server_side=True,
                                        do_handshake_on_connect=False)
            try:
                sock.settimeout(30)
                sock.do_handshake()
                sock.settimeout(None)
            except OSError as e:
                self.log("tls handshake %s: %s" % (name, e))
                sock.close()
                plain.close()
                raw.close()
                self.stat_event(path, "close", "error")
                return

        def pull():
            try:
                data = sock.recv(2048 if slow else 65536)
            except OSError:
                return b""
            raw.write(data)                    # record before parsing
            if slow:
                time.sleep(0.002)
            return data

        def drain():
            while pull():
                pass

        try:
            if self.args.mode == "sink":
                drain()
                return
            rd = Reader(pull)

            def on_head(req):
                if any(v.lower() == "100-continue" for v in req.field_values("Expect")):
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

            while True:
                req = read_request(rd, on_head)
                if req is None:
                    break
                if not req.complete:
                    # Framing is lost: keep recording whatever comes next.
                    self.log("malformed %s: %s" % (name, req.error))
                    drain()
                    break
                self.stat_event(path, "request")
                trickle = req.target.startswith("/trickle/")
                if trickle:
                    req.target = req.target[len("/trickle"):]
                parts, after = respond(req)
                for part in parts:
                    if not trickle:
                        sock.sendall(part)
                        continue
                    # 1 to 7 bytes per segment: heads and chunk lines cut
                    # at every kind of place
                    i = 0
                    while i < len(part):
                        n = 1 + i % 7
                        sock.sendall(part[i:i + n])
                        i += n
                        time.sleep(0.0005)
                if after == "pong":
                    while True:
                        data = rd.buf[rd.pos:] or pull()
                        rd.buf, rd.pos = b"", 0
                        if not data:
                            break
                        if b"PING" in data:
                            self.stat_event(path, "pong")
                            sock.sendall(b"PONG\r\n")
                    break
                if after == "close" or (self.args.honour_close and wants_close(req)):
                    # Close first (FIN), then record until the client closes.
                    end = "server"
                    sock.shutdown(socket.SHUT_WR)
                    sock.settimeout(5)
                    drain()
                    break
        except OSError as e:
            end = "error"
            self.log("error %s: %s" % (name, e))
        finally:
            self.log("closed %s" % name)
            raw.close()
            sock.close()
            if self.tls is not None:
                plain.close()
            self.stat_event(path, "close", end)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"])
    p.add_argument("--unix", metavar="PATH", help="listen on a Unix socket instead")
    p.add_argument("--mode", default="keepalive", choices=["keepalive", "sink", "slow"])
    p.add_argument("--honour-close", action="store_true",
                   help="close after a response whose request asked for close "
                        "(HTTP/1.0 without keep-alive counts as asking)")
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                   help="speak TLS with this certificate and key")
    p.add_argument("--tls-max", choices=["1.2", "1.3"], default="1.3")
    p.add_argument("--alpn", help="ALPN protocols the TLS server accepts "
                   "(comma list), e.g. h2,http/1.1")
    args = p.parse_args()
    os.makedirs(args.log_dir, exist_ok=True)

    # SIGTERM must end the process promptly: worker threads are daemons.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    if args.unix:
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(args.unix)
        port = args.unix
    else:
        family = socket.AF_INET6 if args.host == "::1" else socket.AF_INET
        lsock = socket.socket(family, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.mode == "slow":
        # Set before listen() so accepted sockets start with a small window.
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if not args.unix:
        lsock.bind((args.host, 0))
        port = str(lsock.getsockname()[1])
    lsock.listen(128)
    lsock.settimeout(0.5)

    server = Server(args)
    server.tls = None
    if args.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        if args.tls_max == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if args.alpn:
            ctx.set_alpn_protocols(args.alpn.split(","))
        server.tls = ctx
    Stats(args.log_dir).write()          # stats.json exists from the start
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(port + "\n")
    os.replace(tmp, args.port_file)

    deadline = time.monotonic() + args.max_seconds
    while time.monotonic() < deadline:
        try:
            sock, peer = lsock.accept()
        except socket.timeout:
            continue
        sock.settimeout(None)
        if not args.unix:
            # interim responses go out as separate segments without delay
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if args.mode == "slow":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        peer = "%s:%s" % peer[:2] if isinstance(peer, tuple) else "unix"
        path, raw = server.open_raw()
        server.stat_event(path, "open", sock=sock)
        threading.Thread(target=server.handle, args=(sock, peer, path, raw),
                         daemon=True).start()
    server.log("max-seconds reached, exiting")


if __name__ == "__main__":
    main()
