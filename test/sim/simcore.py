"""What the simulated engines (erpnext_sim.py, odoo_sim.py) share: the API port that can go
offline, the request log, fault rules and the actions they take, and the control server's
common endpoints. Standard library only; every listener is on loopback.

Each simulator runs in its own process, so the state below is per engine.
"""

import base64
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
REQUESTS = []
LATENCY = {"ms": 0}


# ------------------------------------------------------------------------------ faults

class FaultRules:
    """Rules that make the engine misbehave. Common fields: action, times (default 1, -1
    forever), probability, seed, delay_ms, once_per_request (each distinct request, as the
    engine keys it, is answered by the rule once: a rule with times -1 then meets every
    request of a run once, and lets its repetitions through); each engine matches its own
    other fields. Every engine takes the action raw alike: it answers "status" (default 200)
    with exactly the bytes of "body_base64" as application/json, so a test can send what no
    encoder of the engine's would (Latin-1 text, NUL bytes, cut characters)."""

    def __init__(self):
        self.rules = []
        self.next_id = 1

    def add(self, spec):
        with LOCK:
            rule = dict(spec)
            rule["id"] = self.next_id
            self.next_id += 1
            rule.setdefault("times", 1)
            rule["rng"] = random.Random(rule.get("seed"))
            self.rules.append(rule)
            return rule["id"]

    def clear(self):
        with LOCK:
            self.rules.clear()

    def listing(self):
        """The rules; a once_per_request rule's "answered" is how many requests it answered."""
        with LOCK:
            return [{k: (len(v) if k == "answered" else v) for k, v in r.items() if k != "rng"}
                    for r in self.rules]

    def take(self, matches, key=None):
        """The first rule that matches (matches(rule) checks the engine's own fields) and
        fires under its probability; a use is counted off its times. key tells requests
        apart for once_per_request rules."""
        with LOCK:
            for rule in self.rules:
                if rule["times"] == 0 or not matches(rule):
                    continue
                answered = rule.setdefault("answered", set()) if rule.get("once_per_request") else None
                if answered is not None and key in answered:
                    continue
                if rule["rng"].random() >= rule.get("probability", 1.0):
                    continue
                if rule["times"] > 0:
                    rule["times"] -= 1
                if answered is not None:
                    answered.add(key)
                return rule
        return None


FAULTS = FaultRules()


def log_request(entry):
    with LOCK:
        entry["seq"] = len(REQUESTS) + 1
        REQUESTS.append(entry)
    return entry


def forget_everything():
    """What resetting the whole engine forgets besides its data."""
    with LOCK:
        FAULTS.clear()
        REQUESTS.clear()
        LATENCY["ms"] = 0


# ------------------------------------------------------------------------------ malformed answers

DEEP = 100000               # nesting levels: far past any JSON parser's stack
HUGE = 3 * 1024 * 1024      # characters: past a lowered provisioning.max_response_size, yet quick
NOT_UTF8 = b"\xff\xfe\xc3(\xed\xa0\x80"   # no UTF-8: bytes that never start a character, a cut
                                            # sequence, an encoded surrogate
HTML_PAGE = ("<!doctype html>\n<html><head><title>502 Bad Gateway</title></head>\n"
             "<body><h1>Bad Gateway</h1><p>nginx</p></body></html>\n")


def malformed_corpus(envelope, shapes, bodies=None):
    """An engine's corpus of malformed answers, by name: each a function of the request's log
    entry giving (content type, body bytes), sent with HTTP 200. envelope(entry, payload)
    puts a JSON text where the engine's envelope carries its answer; shapes are the engine's
    wrongly typed payloads (JSON texts: nulls and wrong types where ids, names and lists are
    expected), bodies whole answers of its own (an error envelope with 200). The common part:
    nesting past any parser's stack, a truncated answer, an HTML page, an empty body, an
    answer larger than a lowered provisioning.max_response_size, and bytes that are not UTF-8."""
    json_type = "application/json"

    def wrapped(payload):
        return lambda entry: (json_type, envelope(entry, payload).encode())

    corpus = {name: wrapped(payload) for name, payload in shapes.items()}
    corpus.update({name: (lambda entry, b=body: (json_type, json.dumps(b(entry)).encode()))
                   for name, body in (bodies or {}).items()})
    corpus.update({
        "deep": wrapped("[" * DEEP + "]" * DEEP),
        "truncated": lambda entry: (json_type, (lambda text: text[:len(text) * 2 // 3])(
            envelope(entry, '[{"name": "Main Store", "id": 7}, {"name": "POS Store", "id": 8}]')).encode()),
        "html": lambda entry: ("text/html; charset=utf-8", HTML_PAGE.encode()),
        "empty": lambda entry: (json_type, b""),
        "huge": wrapped('"' + "x" * HUGE + '"'),
        # in strings (where no string is expected: what is cut or replaced stays a wrong
        # type), and bare
        "not_utf8": lambda entry: (json_type, envelope(entry, '["@", {"name": ["@"], "@": 1}]').encode()
                                   .replace(b"@", NOT_UTF8)),
        "not_utf8_bare": lambda entry: (json_type, envelope(entry, "@").encode().replace(b"@", NOT_UTF8)),
    })
    return corpus


# ------------------------------------------------------------------------------ API port

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    connections = None      # a ConnectionTracking on the API port

    def handle_error(self, request, client_address):
        pass    # dropped and reset connections are on purpose


class ConnectionTracking:
    """Keeps the open connections of a server, so going offline can close them."""

    def __init__(self):
        self.connections = set()

    def add(self, sock):
        with LOCK:
            self.connections.add(sock)

    def discard(self, sock):
        with LOCK:
            self.connections.discard(sock)

    def close_all(self):
        with LOCK:
            conns, self.connections = list(self.connections), set()
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ApiListener:
    """The API port, which can go offline (closed: connections refused) and come back."""

    def __init__(self, port, handler):
        self.port = port
        self.handler = handler
        self.offline = False
        self.httpd = None
        self.connections = ConnectionTracking()
        self.start()

    def start(self):
        self.httpd = Server(("127.0.0.1", self.port), self.handler)
        self.httpd.connections = self.connections
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def set_offline(self, offline):
        if offline and not self.offline:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.connections.close_all()
        elif not offline and self.offline:
            self.start()
        self.offline = offline


class Reply:
    """An answer: a JSON body, or text with its content type."""

    def __init__(self, status, body, headers=(), content_type="application/json"):
        self.status, self.body, self.headers, self.content_type = status, body, list(headers), content_type


class ApiHandler(BaseHTTPRequestHandler):
    """The engine's API side: connection tracking, timing, and the fault actions that
    every engine takes the same way. Subclasses build the request's log entry and run it."""

    protocol_version = "HTTP/1.1"
    # One send per response, without Nagle: otherwise headers and body leave in two
    # segments and the client's delayed ACK adds ~40 ms to every keep-alive request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def parse_request(self):
        # a request's time runs from its first line to its last byte sent (see answer)
        self.received_at = time.time()
        return super().parse_request()

    def finish(self):
        self.server.connections.discard(self.connection)
        super().finish()

    def read_raw_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_reply(self, reply):
        if isinstance(reply.body, bytes):
            data = reply.body
        elif reply.content_type == "application/json":
            data = json.dumps(reply.body, default=str).encode()
        else:
            data = reply.body.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in reply.headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def drop(self, rst):
        """Closes the connection without an answer; with rst, abortively (a reset)."""
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        except OSError:
            pass

    # the engine's corpus of malformed answers (malformed_corpus)
    MALFORMED = {}

    def canned_reply(self, fault):
        """The engine's answer for a fault action that answers instead of running the
        request (e.g. an error status), or None."""
        raise NotImplementedError

    def malformed_reply(self, fault):
        """The corpus answer a malformed fault names (its "answer"), with HTTP 200."""
        content_type, body = self.MALFORMED[fault["answer"]](self.entry)
        return Reply(200, body, content_type=content_type)

    def answer(self, entry, fault, run):
        """Takes the fault's action, runs the request (run() returns a Reply) unless the
        fault answered or dropped it, and answers; drop_after_commit runs it and then closes
        the connection without an answer; malformed answers with a corpus answer, after
        running the request (mode "applied") or instead of it ("instead", the default).
        The log entry gets the status and timing."""
        started = entry["t_start"]
        reply = None
        malformed = None
        try:
            if fault:
                entry["fault"] = fault["action"]
                if fault["action"] in ("delay", "timeout"):
                    time.sleep(fault.get("delay_ms", 0) / 1000.0)
                if fault["action"] == "timeout":
                    return self.drop(rst=False)
                if fault["action"] == "reset":
                    return self.drop(rst=True)
                if fault["action"] == "raw":
                    reply = Reply(fault.get("status", 200), base64.b64decode(fault.get("body_base64", "")))
                elif fault["action"] == "malformed":
                    malformed = self.malformed_reply(fault)
                    if fault.get("mode", "instead") == "instead":
                        reply = malformed
                else:
                    reply = self.canned_reply(fault)
            if reply is None:
                reply = run()
            if malformed is not None:
                entry["applied_status"] = reply.status if reply is not malformed else None
                reply = malformed
        finally:
            entry["status"] = reply.status if reply else None
            # the answer is made: what the request did is done before anyone can hear of it
            entry["t_answered"] = entry["t_end"] = time.time()  # t_end again once it is sent
            entry["duration_ms"] = (entry["t_end"] - started) * 1000.0
        if fault and fault["action"] == "drop_after_commit":
            self.drop(rst=False)
        else:
            self.send_reply(reply)
            self.wfile.flush()
        entry["t_end"] = time.time()
        entry["duration_ms"] = (entry["t_end"] - started) * 1000.0

    def wait_latency(self):
        if LATENCY["ms"]:
            time.sleep(LATENCY["ms"] / 1000.0)


# ------------------------------------------------------------------------------ control API

class ControlHandler(BaseHTTPRequestHandler):
    """The control API's common endpoints: /health, /faults (POST a rule, or a list of them),
    /malformed (the names of the engine's malformed answers), /latency, /offline and
    /requests?<scope>=X (scope: the engine's unit of tenancy, a site or a database).
    Subclasses answer the rest in control_get and control_post (None: not found)."""

    protocol_version = "HTTP/1.1"
    scope = None
    listener = None     # the ApiListener, set by serve()
    api_handler = None  # the engine's ApiHandler class, set by serve()

    def log_message(self, *args):
        pass

    def reply(self, body, status=200):
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        with LOCK:
            if parsed.path == "/health":
                return self.reply({"ok": True})
            if parsed.path == "/faults":
                return self.reply(FAULTS.listing())
            if parsed.path == "/malformed":
                return self.reply(sorted(self.api_handler.MALFORMED))
            if parsed.path == "/requests":
                return self.reply([r for r in REQUESTS if self.scope not in q or r[self.scope] == q[self.scope]])
            answer = self.control_get(parsed.path, q)
        if answer is None:
            return self.reply({"error": "not found"}, 404)
        self.reply(answer)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self.body()
        if path == "/faults":
            if isinstance(body, list):
                return self.reply({"ids": [FAULTS.add(rule) for rule in body]})
            return self.reply({"id": FAULTS.add(body)})
        if path == "/latency":
            LATENCY["ms"] = int(body.get("ms", 0))
            return self.reply({"ms": LATENCY["ms"]})
        if path == "/offline":
            self.listener.set_offline(bool(body.get("offline")))
            return self.reply({"offline": self.listener.offline})
        with LOCK:
            answer = self.control_post(path, body)
        if answer is None:
            return self.reply({"error": "not found"}, 404)
        self.reply(answer)

    def do_DELETE(self):
        if urllib.parse.urlsplit(self.path).path == "/faults":
            FAULTS.clear()
            return self.reply({"ok": True})
        self.reply({"error": "not found"}, 404)

    def control_get(self, path, q):
        return None

    def control_post(self, path, body):
        return None


# ------------------------------------------------------------------------------ process

def serve(api_handler, control_handler, port, control_port, ready_file):
    """Runs the engine until SIGTERM or SIGINT; the ready file, written once both ports
    listen, tells {"port", "control_port"} (port 0 picks a free one)."""
    listener = ApiListener(port, api_handler)
    control_handler.listener = listener
    control_handler.api_handler = api_handler
    control = Server(("127.0.0.1", control_port), control_handler)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    if ready_file:
        with open(ready_file + ".tmp", "w") as f:
            json.dump({"port": listener.port, "control_port": control.server_address[1]}, f)
        os.replace(ready_file + ".tmp", ready_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    sys.exit(0)
