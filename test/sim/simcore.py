"""What the simulated engines (erpnext_sim.py, odoo_sim.py) share: the API port that can go
offline, the request log, fault rules and the actions they take, the engine's capacity (a
rate limiter and a worker count, per site or database and for the whole engine, with their
counters), and the control server's common endpoints. Standard library only; every listener
is on loopback.

Each simulator runs in its own process, so the state below is per engine.
"""

import base64
import collections
import json
import math
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
    """Logs a request; t_worker (when it got a worker) and refused are filled in as it goes."""
    with LOCK:
        entry["seq"] = len(REQUESTS) + 1
        entry.setdefault("t_worker", None)
        entry.setdefault("refused", False)
        REQUESTS.append(entry)
    return entry


def forget_everything():
    """What resetting the whole engine forgets besides its data."""
    with LOCK:
        FAULTS.clear()
        REQUESTS.clear()
        LATENCY["ms"] = 0
        CAPACITY.reset_all()


# ------------------------------------------------------------------------------ capacity

# The capacity's own lock: a request waiting for a worker must not hold LOCK (the control
# API takes LOCK, then this one; a request never takes LOCK while it holds this one).
CAPACITY_LOCK = threading.Lock()


class Gate:
    """One scope's limits and counters: a site, a database, or the whole engine.

    Limits (none by default): requests_per_second and burst, a token bucket (burst tokens,
    default one second's worth, refilled at requests_per_second; a request with no token
    left is refused, Retry-After saying in how many whole seconds one is back, at least 1,
    or retry_after when set); workers, how many requests are processed at once (the rest
    wait in arrival order, as in gunicorn's backlog); status, the refusal's HTTP status
    where the engine lets it be chosen (Odoo's proxy: 429 or 503).

    Counters since the last reset: arrived = refused + served + in_flight; in_flight counts
    requests received and not yet answered (waiting ones included), processing those
    holding a worker, waiting those queued for one; peak_* their highest values."""

    GAUGES = ("in_flight", "processing", "waiting")

    def __init__(self):
        self.cond = threading.Condition(CAPACITY_LOCK)
        self.queue = collections.deque()   # tickets of the requests waiting for a worker
        self.limits = {}
        self.tokens = self.filled_at = None
        self.in_flight = self.processing = self.waiting = 0
        self.zero()

    def zero(self):
        # requests in flight at a reset count as arrived since it, so the counters add up
        self.arrived, self.refused, self.served = self.in_flight, 0, 0
        for gauge in self.GAUGES:
            setattr(self, "peak_" + gauge, getattr(self, gauge))

    def configure(self, limits):
        self.limits = limits
        self.tokens = float(limits["burst"]) if limits.get("requests_per_second") else None
        self.filled_at = time.monotonic()
        self.cond.notify_all()      # fewer limits, or more workers: waiting requests may go

    def bump(self, gauge, by):
        value = getattr(self, gauge) + by
        setattr(self, gauge, value)
        if value > getattr(self, "peak_" + gauge):
            setattr(self, "peak_" + gauge, value)

    def refill(self, now):
        """The tokens left now, or None without a rate limit."""
        rate = self.limits.get("requests_per_second")
        if not rate:
            return None
        self.tokens = min(float(self.limits["burst"]), self.tokens + (now - self.filled_at) * rate)
        self.filled_at = now
        return self.tokens

    def retry_after(self):
        if self.limits.get("retry_after") is not None:
            return int(self.limits["retry_after"])
        return max(1, math.ceil((1 - self.tokens) / self.limits["requests_per_second"]))

    def rate_headers(self):
        """Frappe's X-RateLimit-* headers, in requests: the burst, the tokens left, and the
        whole seconds until the bucket is full again."""
        rate, burst = self.limits["requests_per_second"], self.limits["burst"]
        return [("X-RateLimit-Limit", str(math.floor(burst))), ("X-RateLimit-Remaining", str(int(self.tokens))),
                ("X-RateLimit-Reset", str(math.ceil((burst - self.tokens) / rate)))]

    def free(self):
        workers = self.limits.get("workers")
        return workers is None or self.processing < workers

    def take_worker(self):
        """Waits for a worker, behind every request that came before (FIFO)."""
        if not self.queue and self.free():
            self.bump("processing", 1)
            return
        ticket = object()
        self.queue.append(ticket)
        self.bump("waiting", 1)
        try:
            while self.queue[0] is not ticket or not self.free():
                self.cond.wait()
        finally:
            self.queue.remove(ticket)
            self.bump("waiting", -1)
            self.cond.notify_all()  # the next in line may find a free worker too
        self.bump("processing", 1)

    def give_back_worker(self):
        self.bump("processing", -1)
        self.cond.notify_all()

    def snapshot(self):
        counters = {k: getattr(self, k) for k in ("arrived", "refused", "served")}
        for gauge in self.GAUGES:
            counters[gauge] = getattr(self, gauge)
            counters["peak_" + gauge] = getattr(self, "peak_" + gauge)
        return {**counters, "limits": dict(self.limits)}


class Capacity:
    """The gates: one per scope (a site or a database, by name) and the engine's (None),
    which every request passes too. Gates are reset in place, never dropped: a request in
    flight gives its worker back to the gate it took it from."""

    LIMIT_FIELDS = {"requests_per_second": float, "burst": float, "workers": int, "retry_after": int,
                    "status": int}

    def __init__(self):
        self.gates = {}

    def gate(self, scope):
        with CAPACITY_LOCK:
            return self.gates.setdefault(scope, Gate())

    def gates_of(self, scope):
        """The gates a request of the scope passes, its own first (None: the engine's only)."""
        return ([self.gate(scope)] if scope is not None else []) + [self.gate(None)]

    @classmethod
    def parse_limits(cls, body, statuses=(429,)):
        """The limits a POST /limits body sets (every field absent or null: no such limit),
        or raises ValueError."""
        limits = {}
        for field, kind in cls.LIMIT_FIELDS.items():
            if body.get(field) is None:
                continue
            value = body[field]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or kind(value) != value:
                raise ValueError(f"{field} must be a{'n integer' if kind is int else ' number'}")
            limits[field] = kind(value) if kind is int else value
        for field in ("requests_per_second", "burst", "workers"):
            if field in limits and limits[field] <= 0:
                raise ValueError(f"{field} must be positive")
        if limits.get("retry_after", 0) < 0:
            raise ValueError("retry_after must not be negative")
        if "burst" in limits and "requests_per_second" not in limits:
            raise ValueError("burst needs requests_per_second")
        if limits.get("burst", 1) < 1:
            raise ValueError("burst must be at least 1")
        if "status" in limits and limits["status"] not in statuses:
            raise ValueError(f"status must be one of {', '.join(map(str, statuses))}")
        if "requests_per_second" in limits:
            limits.setdefault("burst", max(1, limits["requests_per_second"]))
        return limits

    def configure(self, scope, limits):
        gate = self.gate(scope)
        with CAPACITY_LOCK:
            gate.configure(limits)

    def reset(self, scope):
        gate = self.gate(scope)
        with CAPACITY_LOCK:
            gate.configure({})
            gate.zero()

    def reset_all(self):
        with CAPACITY_LOCK:
            for gate in self.gates.values():
                gate.configure({})
                gate.zero()

    def snapshot(self, scope):
        gate = self.gate(scope)
        with CAPACITY_LOCK:
            return gate.snapshot()

    def listing(self):
        with CAPACITY_LOCK:
            return {("*" if scope is None else scope): dict(g.limits) for scope, g in self.gates.items() if g.limits}

    # what a request does, in order: arrive, (take_rate,) take_worker, (take_rate,), give back, leave

    def arrive(self, gates):
        with CAPACITY_LOCK:
            for gate in gates:
                gate.arrived += 1
                gate.bump("in_flight", 1)

    def take_rate(self, gates):
        """Takes a token from every rate-limited gate, or none when one has none left.
        Returns (refusing gate or None, Retry-After seconds, the X-RateLimit headers of the
        first rate-limited gate)."""
        with CAPACITY_LOCK:
            now = time.monotonic()
            limited = [g for g in gates if g.refill(now) is not None]
            short = [g for g in limited if g.tokens < 1]
            if short:
                refusing = max(short, key=lambda g: g.retry_after())
                return refusing, refusing.retry_after(), limited[0].rate_headers()
            for gate in limited:
                gate.tokens -= 1
            return None, None, limited[0].rate_headers() if limited else []

    def take_worker(self, gates):
        with CAPACITY_LOCK:
            for gate in gates:
                gate.take_worker()

    def give_back_worker(self, gates):
        with CAPACITY_LOCK:
            for gate in gates:
                gate.give_back_worker()

    def leave(self, gates, refused):
        with CAPACITY_LOCK:
            for gate in gates:
                gate.bump("in_flight", -1)
                if refused:
                    gate.refused += 1
                else:
                    gate.served += 1


CAPACITY = Capacity()


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
    """An answer: a JSON body, or text with its content type; server, when set, replaces the
    Server header (an answer of the proxy in front of the engine), and reason the status line's reason phrase."""

    def __init__(self, status, body, headers=(), content_type="application/json", server=None, reason=None):
        self.status, self.body, self.headers, self.content_type = status, body, list(headers), content_type
        self.server, self.reason = server, reason


class ApiHandler(BaseHTTPRequestHandler):
    """The engine's API side: connection tracking, timing, and the fault actions that
    every engine takes the same way. Subclasses build the request's log entry and run it."""

    protocol_version = "HTTP/1.1"
    # Where the engine's rate limiter stands: in front of its workers (a proxy: a refused
    # request never waits for a worker) or in the application (it runs once the request has
    # a worker, as Frappe's does).
    LIMITER_BEFORE_WORKERS = False
    # headers every answer of this request carries (the rate limiter's), set per request
    extra_headers = ()
    server_override = None
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
        self.server_override = reply.server
        self.send_response(reply.status, reply.reason)
        self.server_override = None
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in list(self.extra_headers) + reply.headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def version_string(self):
        return self.server_override or super().version_string()

    def drop(self, rst):
        """Closes the connection without an answer; with rst, abortively (a reset)."""
        self.answered()
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
            self.answered()
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

    def refusal_reply(self, gate, retry_after):
        """The engine's (or its proxy's) answer to a request over the rate limit; the
        X-RateLimit headers, if the engine sends them, are in extra_headers already."""
        raise NotImplementedError

    RATE_HEADERS = False    # whether the engine sends X-RateLimit-* headers (Frappe does)

    def admit(self, entry, scope, proceed):
        """Runs proceed() (latency, faults and the request: what a worker does) within the
        engine's capacity for the scope (a site or database name, or None): the rate limiter
        refuses the request when the scope or the engine is over its limit (logged as
        refused, not applied, no fault rule consulted), and a worker of the scope's and of
        the engine's is held while it runs, waiting for one in arrival order. With no limit
        configured it passes straight through, only counted."""
        gates = CAPACITY.gates_of(scope)
        self.extra_headers = []
        state = {"worker": False, "refused": False}

        def release():
            if state["worker"]:
                CAPACITY.give_back_worker(gates)
            CAPACITY.leave(gates, state["refused"])
        self.release = release
        CAPACITY.arrive(gates)
        try:
            if self.LIMITER_BEFORE_WORKERS and self.limit(entry, gates, state):
                return
            CAPACITY.take_worker(gates)
            state["worker"] = True
            entry["t_worker"] = time.time()
            if not self.LIMITER_BEFORE_WORKERS and self.limit(entry, gates, state):
                return
            proceed()
        finally:
            self.answered()

    release = None

    def answered(self):
        """The request is answered, or about to be dropped: its worker and its place in
        flight are given back now, before its client can hear of it (a client that sends its
        next request as soon as it has the answer never finds this one still counted)."""
        release, self.release = self.release, None
        if release:
            release()

    def limit(self, entry, gates, state):
        """Takes a token for the request, or answers it refused: True when refused."""
        refusing, retry_after, headers = CAPACITY.take_rate(gates)
        if self.RATE_HEADERS:
            self.extra_headers = headers
        if refusing is None:
            return False
        reply = self.refusal_reply(refusing, retry_after)
        state["refused"] = entry["refused"] = True
        entry["status"] = reply.status
        entry["t_answered"] = entry["t_end"] = time.time()
        entry["duration_ms"] = (entry["t_end"] - entry["t_start"]) * 1000.0
        self.answered()
        self.send_reply(reply)
        self.wfile.flush()
        entry["t_end"] = time.time()
        entry["duration_ms"] = (entry["t_end"] - entry["t_start"]) * 1000.0
        return True


# ------------------------------------------------------------------------------ control API

class ControlError(Exception):
    """A control request the engine refuses: answered {"error": message} with status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class ControlHandler(BaseHTTPRequestHandler):
    """The control API's common endpoints: /health, /faults (POST a rule, or a list of them),
    /malformed (the names of the engine's malformed answers), /latency, /offline,
    /requests?<scope>=X (scope: the engine's unit of tenancy, a site or a database),
    /limits (POST {<scope>, limits}: a scope's limits, without a scope the whole engine's;
    GET: those set) and /capacity[?<scope>=X] (a scope's counters and limits, or the whole
    engine's). Subclasses answer the rest in control_get and control_post (None: not found;
    ControlError: refused)."""

    protocol_version = "HTTP/1.1"
    scope = None
    # the HTTP statuses a limit's "status" may choose for its refusals
    refusal_statuses = (429,)
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

    def scope_key(self, value):
        """The scope a control request names, as the engine keys its requests (None: the
        whole engine)."""
        return value or None

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
            if parsed.path == "/capacity":
                key = self.scope_key(q.get(self.scope))
                return self.reply({self.scope: key, **CAPACITY.snapshot(key)})
            if parsed.path == "/limits":
                return self.reply(CAPACITY.listing())
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
        if path == "/limits":
            try:
                limits = CAPACITY.parse_limits(body, self.refusal_statuses)
            except ValueError as e:
                return self.reply({"error": str(e)}, 400)
            key = self.scope_key(body.get(self.scope))
            CAPACITY.configure(key, limits)
            return self.reply({self.scope: key, "limits": limits})
        try:
            with LOCK:
                answer = self.control_post(path, body)
        except ControlError as e:
            return self.reply({"error": e.message}, e.status)
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
