"""Concurrent load on a live server, and the checks that nothing it acknowledged was lost.

API clients create cases (``POST /api/v1/cases``, each with an Idempotency-Key and a unique marker in
its description) and classify (``POST /api/v1/classify``), one token each, while a reviewer signs in
through the web pages and assigns and approves the cases as they are acknowledged. :func:`check` then
reads the database file: integrity, every acknowledged case and decision present exactly once, one
outbox row per state change for the webhook registered before the load, and the audit chain.
bench/load.py prints figures from it; tests/test_load_crash.py asserts on it.
"""

import collections
import http.client
import json
import re
import statistics
import threading
import time
import urllib.parse
import uuid

import requests

from bench.live_server import PASSWORD, free_port
from storage import audit, open_db
from storage.tokens import create_token

SCOPES = "classify cases:read cases:write webhooks"
# Rate limits count per token and per worker; the load must measure the service, not the limiter.
# No rate limit for the run; the dead webhook URL is on this machine.
UNLIMITED = {"INTAKE_API_RATE_LIMIT": "1000000 per minute", "INTAKE_WEBHOOK_ALLOW_LOOPBACK": "true"}
TEXTS = (
    "A chatbot for customers that gives legal advice about a contract before court.",
    "An internal tool that helps staff sort insurance claim paperwork for each policyholder.",
    "A public assistant that answers patient questions about a symptom before they see the doctor.",
    "A b2b dashboard that summarises loan and credit portfolio news for the bank's analysts.",
)
CREATE, CLASSIFY = "POST /api/v1/cases", "POST /api/v1/classify"
# Markers use letters only, so the masking of phone and card numbers cannot rewrite them.
MARKER = re.compile(r"\bmk[a-p]{32}\b")
_LETTERS = str.maketrans("0123456789", "ghijklmnop")
_HIDDEN = re.compile(r'name="(csrf_token|version)"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="(csrf_token|version)"')


def new_marker():
    """A unique word to find one request's case by."""
    return "mk" + uuid.uuid4().hex.translate(_LETTERS)


def call(base, method, path, body=None, headers=None, timeout=60):
    """One request on a fresh connection; returns ``(status, body)``, status being the exception's name
    when the request got no answer."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__, b""
    finally:
        conn.close()


def create_tokens(database, count):
    """``count`` API tokens with every scope, written straight into the database before the server starts."""
    db = open_db(str(database))
    try:
        return [create_token(db, f"load-{i}", SCOPES)[0] for i in range(count)]
    finally:
        db.close()


def register_dead_webhook(base, token):
    """Register a webhook whose URL nobody listens on, so every delivery stays queued; returns its id."""
    body = json.dumps({"url": f"http://127.0.0.1:{free_port()}/hook"})
    status, raw = call(base, "POST", "/api/v1/webhooks", body,
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    if status != 201:
        raise RuntimeError(f"registering the webhook answered {status}: {raw[:300]!r}")
    return json.loads(raw)["id"]


Sample = collections.namedtuple("Sample", "endpoint status seconds")


class Load:
    """API clients and one reviewer hitting ``base`` until :meth:`stop` or ``seconds`` pass.

    :param tokens: one API token per client thread.
    :param texts: descriptions to send, in turn.
    :param reviewer: also run the reviewer, who assigns and approves acknowledged cases.
    """

    def __init__(self, base, tokens, texts=TEXTS, reviewer=True):
        self.base = base
        self.tokens = list(tokens)
        self.texts = list(texts)
        self.reviewer = reviewer
        self.samples = []
        self.acknowledged = {}  # case id -> marker, for every create answered 201 (or 200 on a retry)
        self.clashes = []  # (case id, marker, marker): two creates acknowledged with one id
        self.approved = set()  # case ids whose approval the web page confirmed
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.to_review = collections.deque()
        self.threads = []
        self.started = self.ended = self.deadline = None

    def start(self, seconds):
        """Start every thread; they stop by themselves after ``seconds``."""
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                        for n in range(len(self.tokens))]
        if self.reviewer:
            self.threads.append(threading.Thread(target=self._review, daemon=True))
        for thread in self.threads:
            thread.start()
        return self

    def running(self):
        return not self.stopping.is_set() and time.monotonic() < self.deadline

    def stop(self):
        """Ask every thread to finish its current request."""
        self.stopping.set()

    def join(self):
        """Wait for every thread; returns self."""
        for thread in self.threads:
            thread.join()
        self.ended = time.monotonic()
        return self

    def run(self, seconds):
        """Start, wait ``seconds`` for the threads to finish and return self."""
        return self.start(seconds).join()

    def _record(self, endpoint, status, seconds):
        with self.lock:
            self.samples.append(Sample(endpoint, status, seconds))

    def _timed(self, endpoint, *args, **kwargs):
        t0 = time.perf_counter()
        status, body = call(self.base, *args, **kwargs)
        self._record(endpoint, status, time.perf_counter() - t0)
        if not isinstance(status, int):
            time.sleep(0.2)  # the server is down: do not spin
        return status, body

    def _client(self, n):
        headers = {"Authorization": f"Bearer {self.tokens[n]}", "Content-Type": "application/json"}
        i = n
        while self.running():
            text = self.texts[i % len(self.texts)]
            if i % 2:
                self._timed(CLASSIFY, "POST", "/api/v1/classify", json.dumps({"description": text}), headers)
            else:
                self._create(n, i, text, headers)
            i += 1

    def _create(self, n, i, text, headers):
        marker = new_marker()
        body = json.dumps({"external_ref": f"LOAD-{n}-{i}", "title": f"Load case {n}-{i}",
                           "description": f"{text} Reference {marker}.", "submitter_email": "pm@example.com"})
        keyed = dict(headers, **{"Idempotency-Key": marker})
        status, raw = self._timed(CREATE, "POST", "/api/v1/cases", body, keyed)
        while not isinstance(status, int) and self.running():
            # No answer: the case may or may not exist. A retry with the same key must not make a second.
            status, raw = self._timed(CREATE, "POST", "/api/v1/cases", body, keyed)
        if status in (200, 201):
            case_id = json.loads(raw)["id"]
            with self.lock:
                first = self.acknowledged.setdefault(case_id, marker)
                if first != marker:
                    self.clashes.append((case_id, first, marker))
            self.to_review.append(case_id)

    def _review(self):
        browser = Browser(self.base)
        if not browser.login("reviewer@example.com"):
            self._record("POST /auth/login", "failed", 0.0)
            return
        while self.running():
            try:
                case_id = self.to_review.popleft()
            except IndexError:
                time.sleep(0.05)
                continue
            if self._approve(browser, case_id):
                with self.lock:
                    self.approved.add(case_id)

    def _approve(self, browser, case_id):
        """Assign the case to the reviewer, then approve it, each from the case page's form."""
        for action in ("assign", "approve"):
            t0 = time.perf_counter()
            status, page = browser.get(f"/review/cases/{case_id}")
            self._record("GET /review/cases/<id>", status, time.perf_counter() - t0)
            if status == 200:
                t0 = time.perf_counter()
                status, _ = browser.post(f"/review/cases/{case_id}/{action}", hidden_fields(page))
                self._record(f"POST /review/cases/<id>/{action}", status, time.perf_counter() - t0)
                if status == 302:
                    continue
            if not isinstance(status, int):
                time.sleep(0.2)  # the server is down: do not spin
            return False
        return True


class Browser:
    """A session on the web pages that keeps its cookie and reports redirects instead of following them."""

    def __init__(self, base):
        self.base = base
        self.session = requests.Session()

    def _send(self, method, path, fields=None):
        try:
            response = self.session.request(method, self.base + path, data=fields, allow_redirects=False,
                                            timeout=60)
        except requests.RequestException as exc:
            return type(exc).__name__, ""
        return response.status_code, response.text

    def get(self, path):
        """``(status, page)``."""
        return self._send("GET", path)

    def post(self, path, fields):
        """Post a form; ``(status, page)``."""
        return self._send("POST", path, fields)

    def login(self, email):
        """Sign in; True when the page redirected away from the form."""
        status, page = self.get("/auth/login")
        if status != 200:
            return False
        fields = dict(hidden_fields(page), email=email, password=PASSWORD)
        return self.post("/auth/login", fields)[0] == 302


def hidden_fields(page):
    """The first ``csrf_token`` and ``version`` hidden inputs of a page."""
    fields = {}
    for match in _HIDDEN.finditer(page):
        name, value = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        fields.setdefault(name, value)
    return fields


def crash_and_restart(server, load, kill_after, resume=3.0):
    """SIGKILL ``server`` ``kill_after`` seconds into the running ``load`` and start it again on the same
    database and port while the clients keep retrying; the load goes on ``resume`` seconds more, then ends.

    :return: ``{"restart_seconds", "acknowledged_after_restart"}``.
    """
    time.sleep(max(0.0, kill_after - (time.monotonic() - load.started)))
    server.kill()
    started = time.monotonic()
    load.deadline = float("inf")  # requests that got no answer are retried until the server is back
    try:
        server.start(timeout=300)
    except BaseException:
        load.stop()
        load.join()
        raise
    restart = time.monotonic() - started
    before = len(load.acknowledged)
    load.deadline = time.monotonic() + resume
    load.join()
    return {"restart_seconds": restart, "acknowledged_after_restart": len(load.acknowledged) - before}


def check(database, load, webhook_id=None):
    """Read the database file after ``load`` and list every broken promise (empty when all held).

    Integrity; each acknowledged case is a row carrying its marker, and no marker is stored twice; each
    confirmed approval is stored; with ``webhook_id``, every state change of every load case has its
    outbox row; every acknowledged case has its audit row, and the audit chain verifies.
    """
    db = open_db(str(database))
    try:
        problems = [f"integrity_check: {row[0]}" for row in db.execute("PRAGMA integrity_check").fetchall()
                    if row[0] != "ok"]
        rows = {r["id"]: r for r in db.query("select id, description, state from cases")}
        stored = collections.defaultdict(list)
        for case_id, row in rows.items():
            for marker in MARKER.findall(row["description"] or ""):
                stored[marker].append(case_id)
        problems += [f"marker {m} is stored {len(ids)} times: cases {ids}" for m, ids in stored.items()
                     if len(ids) > 1]
        problems += [f"case {i} was acknowledged for two requests ({a}, {b})" for i, a, b in load.clashes]
        for case_id, marker in sorted(load.acknowledged.items()):
            if case_id not in rows:
                problems.append(f"case {case_id} was acknowledged but is not in the database")
            elif marker not in (rows[case_id]["description"] or ""):
                problems.append(f"case {case_id} does not carry the marker it was acknowledged with")
        problems += [f"case {i} was approved but is {rows[i]['state'] if i in rows else 'missing'}"
                     for i in sorted(load.approved) if rows.get(i, {}).get("state") != "approved"]
        ours = sorted({i for ids in stored.values() for i in ids})
        if webhook_id is not None:
            changes = dict(db.execute("select case_id, count(*) from case_history group by case_id").fetchall())
            # The outbox row written with each change is its event; the per-webhook delivery rows follow after
            # the commit (or on the delivery worker's next pass after a crash).
            queued = dict(db.execute("select case_id, count(*) from webhook_events group by case_id").fetchall())
            problems += [f"case {i}: {changes.get(i, 0)} state changes but {queued.get(i, 0)} outbox rows"
                         for i in ours if changes.get(i, 0) != queued.get(i, 0)]
        audited = {r[0] for r in db.execute("select distinct case_id from audit where action = 'state'")}
        problems += [f"case {i} was acknowledged but has no audit row" for i in sorted(load.acknowledged)
                     if i in rows and i not in audited]
        problems += [f"audit: {p}" for p in audit.verify(db)]
        return problems
    finally:
        db.close()


def percentile(values, p):
    """The ``p``-th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(load):
    """Figures of a finished load: served, errors by status, latency per endpoint, throughput."""
    elapsed = (load.ended or time.monotonic()) - load.started
    answered = [s for s in load.samples if isinstance(s.status, int)]
    ok = [s for s in answered if s.status < 400]
    errors = collections.Counter(str(s.status) for s in load.samples if not isinstance(s.status, int) or
                                 s.status >= 400)
    endpoints = {}
    for endpoint in sorted({s.endpoint for s in ok}):
        times = [s.seconds for s in ok if s.endpoint == endpoint]
        endpoints[endpoint] = {"ok": len(times), "p50_ms": 1000 * statistics.median(times),
                               "p95_ms": 1000 * percentile(times, 95)}
    return {"seconds": elapsed, "requests": len(load.samples), "served": len(ok), "errors": dict(errors),
            "server_errors": sum(1 for s in answered if s.status >= 500), "per_second": len(ok) / elapsed,
            "endpoints": endpoints, "created": len(load.acknowledged), "approved": len(load.approved)}
