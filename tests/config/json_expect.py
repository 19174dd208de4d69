#!/usr/bin/env python3
"""Check the FORCECLOSE_STATS file: every line must be one JSON object with
exactly the fields of the specification, then each EXPR must hold.

  json_expect.py FILE EXPR...

EXPR is a Python expression over `lines` (the parsed objects, in file
order) and the helpers below.  Prints every failed check and the lines;
exit status 1 if any check failed.

  counters(line, **want)  every counter (nested ones as "teardowns_shutdown",
                          "given_up_moved"; bytes_inspected excepted) equals
                          want's value, or 0 if not named
"""
import json
import sys

COUNTERS = ["connections_tracked", "connections_excluded", "requests_rewritten",
            "close_added", "close_rewritten", "requests_left_alone",
            "responses_rewritten"]
TEARDOWNS = ["shutdown", "close", "none"]
GIVEN_UP = ["not_http", "left_alone", "excluded_host", "unseen_bytes",
            "bad_response", "unpaired_response", "moved", "no_memory",
            "send_failed"]
TLS = ["sockets", "sessions_tracked", "teardowns"]
FIELDS = ["pid", "program", "event"] + COUNTERS + ["teardowns", "given_up",
                                                  "bytes_inspected", "tls"]


def shape_errors(i, obj):
    errs = []
    if not isinstance(obj, dict):
        return ["line %d: not an object" % (i + 1)]
    if sorted(obj) != sorted(FIELDS):
        errs.append("line %d: fields %s, want %s" % (i + 1, sorted(obj), sorted(FIELDS)))
        return errs
    if not isinstance(obj["pid"], int) or obj["pid"] <= 0:
        errs.append("line %d: pid %r" % (i + 1, obj["pid"]))
    if not isinstance(obj["program"], str) or obj["event"] not in ("exit", "exec"):
        errs.append("line %d: program/event %r/%r" % (i + 1, obj["program"], obj["event"]))
    for name, keys in (("teardowns", TEARDOWNS), ("given_up", GIVEN_UP),
                       ("tls", TLS)):
        if not isinstance(obj[name], dict) or sorted(obj[name]) != sorted(keys):
            errs.append("line %d: %s has %r, want %s" % (i + 1, name, obj[name], keys))
    return errs


def flat(obj):
    out = {k: obj[k] for k in COUNTERS}
    out.update({"teardowns_" + k: obj["teardowns"][k] for k in TEARDOWNS})
    out.update({"given_up_" + k: obj["given_up"][k] for k in GIVEN_UP})
    out.update({"tls_" + k: obj["tls"][k] for k in TLS})
    return out


def counters(obj, **want):
    f = flat(obj)
    unknown = set(want) - set(f)
    if unknown:
        raise KeyError("no such counter: %s" % sorted(unknown))
    bad = {k: v for k, v in f.items() if v != want.get(k, 0)}
    if bad:
        print("  counters differing from %r: %r" % (want, bad))
    return not bad


def main():
    path, exprs = sys.argv[1], sys.argv[2:]
    with open(path, "rb") as f:
        raw = f.read()
    errors, lines = [], []
    if raw and not raw.endswith(b"\n"):
        errors.append("the file does not end with a newline")
    for i, text in enumerate(raw.split(b"\n")[:-1] if raw else []):
        try:
            obj = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            errors.append("line %d is not JSON (%s): %r" % (i + 1, e, text[:200]))
            continue
        errors += shape_errors(i, obj)
        lines.append(obj)
    if not errors:
        env = {"lines": lines, "counters": counters, "flat": flat}
        for e in exprs:
            try:
                ok = eval(e, env)
            except Exception as ex:  # noqa: BLE001 - report any failure
                ok, e = False, "%s (%s: %s)" % (e, type(ex).__name__, ex)
            if not ok:
                errors.append("does not hold: " + e)
    for e in errors:
        print("FAIL " + e)
    print("%s: %d lines" % (path, len(lines)))
    for obj in lines:
        print("  " + json.dumps(obj))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
