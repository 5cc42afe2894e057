"""Security headers, cookie flags, sign-in throttling, timing of unknown e-mails, and the bandit scan."""

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import werkzeug.security
from flask_login import login_user

import storage.users
from app import create_app
from storage import clock, get_db, login_attempts, migrate, open_db
from storage.login_attempts import Limits
from tests.conftest import PASSWORD, sign_in
from views.auth import User
from views.security import HEADERS

ROOT = Path(__file__).resolve().parent.parent
LOCKED = b"Too many failed sign-ins."
WRONG = b"E-mail or password is not right."


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch):
    """Cheap password hashes, so tests that sign in many times stay fast; the checks run as in production."""
    def generate(password):
        return werkzeug.security.generate_password_hash(password, method="pbkdf2:sha256:1")

    monkeypatch.setattr(storage.users, "generate_password_hash", generate)
    storage.users._stand_in_hash.cache_clear()
    yield
    storage.users._stand_in_hash.cache_clear()


def _signed_in(client):
    return client.get("/").status_code == 200


# --- headers -------------------------------------------------------------------------------------------------


def _raise(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.mark.parametrize(("path", "signed_in", "status", "cached"), [
    ("/", True, 200, False),                       # a page
    ("/auth/login", False, 200, False),            # the public sign-in page
    ("/", False, 302, False),                      # a redirect to sign in
    ("/no/such/page", True, 404, False),           # an HTML error
    ("/api/v1/cases", False, 401, False),          # an API error (no token)
    ("/api/v1/no-such-thing", False, 404, False),  # an API 404
    ("/api/v1/health", False, 200, False),         # API JSON
    ("/static/style.css", False, 200, True),       # a static file
])
def test_security_headers_on_every_kind_of_response(client, auth, path, signed_in, status, cached):
    if signed_in:
        auth.login()
    response = client.get(path)
    assert response.status_code == status
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, name
    assert ("no-store" in response.headers.get("Cache-Control", "")) is not cached
    assert "Strict-Transport-Security" not in response.headers
    response.close()


def test_security_headers_on_an_unexpected_error(app, client, auth):
    auth.login()
    app.view_functions["home.index"] = _raise
    response = client.get("/")
    assert response.status_code == 500
    assert response.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_csp_allows_no_inline_code_and_no_framing(client):
    policy = client.get("/auth/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["script-src"] == directives["style-src"] == directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == directives["form-action"] == "'self'"


def test_permissions_policy_turns_off_unused_features(client):
    policy = client.get("/auth/login").headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_hsts_only_when_cookies_are_secure(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True
    assert client.get("/auth/login").headers["Strict-Transport-Security"].startswith("max-age=")


# --- inline code in templates --------------------------------------------------------------------------------

INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _inline_code(text):
    return [name for name, pattern in INLINE.items() if pattern.search(text)]


@pytest.mark.parametrize(("snippet", "found"), [
    ("<script>alert(1)</script>", ["inline script"]),
    ('<script src="/static/x.js" defer></script>', []),
    ("<style>p { color: red }</style>", ["style element"]),
    ('<rect style="fill: red"/>', ["style attribute"]),
    ('<button onclick="go()">', ["event handler"]),
    ('<a href="javascript:go()">', ["javascript: URL"]),
    ('<p class="description" data-onset="x">', []),
])
def test_inline_code_scanner_finds_what_csp_would_block(snippet, found):
    assert _inline_code(snippet) == found


def test_no_template_has_inline_scripts_styles_or_handlers():
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert len(templates) > 10
    offenders = {str(t.relative_to(ROOT)): _inline_code(t.read_text()) for t in templates}
    assert {path: found for path, found in offenders.items() if found} == {}


def test_dashboard_chart_renders_without_inline_styles(client, auth):
    auth.login("reviewer@example.com")
    page = client.get("/review/dashboard").data.decode()
    assert '<svg class="bars"' in page
    assert _inline_code(page) == [] and " fill=" not in page and "font-size" not in page


# --- cookies -------------------------------------------------------------------------------------------------


def _cookie(response, name):
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return {part.strip().split("=")[0].lower(): part.strip() for part in headers[0].split(";")}


@pytest.fixture
def secure_app(app):
    """The test app as if served over HTTPS, with its cookie settings applied as at start-up."""
    config = {key: app.config[key] for key in ("TESTING", "DATABASE", "WTF_CSRF_ENABLED", "TRAINING_DATA",
                                               "MODEL_DIR", "EMBEDDER", "CLASSIFIER")}
    return create_app({**config, "SESSION_COOKIE_SECURE": True})


@pytest.mark.parametrize("secure", [False, True])
def test_session_cookie_flags(app, secure_app, users, secure):
    client = (secure_app if secure else app).test_client()
    cookie = _cookie(sign_in(client), "session")
    assert "httponly" in cookie and cookie["samesite"].lower() == "samesite=lax"
    assert ("secure" in cookie) is secure


@pytest.mark.parametrize("secure", [False, True])
def test_remember_cookie_follows_the_session_cookie(app, secure_app, users, secure):
    target = secure_app if secure else app
    with target.test_request_context("/"):
        login_user(User(storage.users.get_user_by_email(get_db(), "submitter@example.com")), remember=True)
        response = target.process_response(target.make_response("ok"))
    cookie = _cookie(response, "remember_token")
    assert "httponly" in cookie and cookie["samesite"].lower() == "samesite=lax"
    assert ("secure" in cookie) is secure


def test_sign_in_sets_no_remember_cookie(client, users):
    assert not [h for h in sign_in(client).headers.getlist("Set-Cookie") if h.startswith("remember_token=")]


# --- redirect after sign-in ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "location"), [
    ("/%09/evil.example", "/"),          # a tab: Werkzeug dropped it and sent the browser to //evil.example
    ("/%0a/evil.example", "/"),          # a line break: used to fail with a 500
    ("/%0d%0aSet-Cookie:%20x=1", "/"),   # header injection
    ("/review/?state=submitted", "/review/?state=submitted"),
])
def test_sign_in_redirects_only_to_plain_local_paths(client, users, target, location):
    response = client.post(f"/auth/login?next={target}", data={"email": "submitter@example.com",
                                                               "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == location


# --- throttling ----------------------------------------------------------------------------------------------


class Clock:
    """A settable app clock."""

    def __init__(self):
        self.now = datetime.datetime(2026, 11, 22, 9, 0, tzinfo=datetime.UTC)

    def advance(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture
def app_clock(monkeypatch):
    fake = Clock()
    # The one clock every storage module reads (storage/clock.py).
    monkeypatch.setattr(clock, "now", lambda: fake.now)
    return fake


@pytest.fixture
def throttled(app, users, app_clock):
    app.config.update(LOGIN_MAX_FAILURES=3, LOGIN_MAX_FAILURES_PER_ADDRESS=5, LOGIN_WINDOW_SECONDS=60,
                      LOGIN_LOCKOUT_SECONDS=120)
    return app


def test_failures_for_one_email_pause_its_sign_in_with_429(throttled, client):
    for _ in range(3):
        response = sign_in(client, password="wrong password!")
        assert response.status_code == 200 and WRONG in response.data
    response = sign_in(client)
    assert response.status_code == 429
    assert LOCKED in response.data and b"paused for 2 minutes" in response.data
    assert response.headers["Retry-After"] == "120"
    assert b'name="email"' in response.data and b'name="password"' in response.data
    assert not _signed_in(client)
    # The lock is on the e-mail, wherever the next attempt comes from.
    assert sign_in(client, address="10.0.0.9").status_code == 429


def test_lock_ends_after_the_lockout_and_is_not_extended_by_refused_attempts(throttled, client, app_clock):
    for _ in range(3):
        sign_in(client, password="wrong password!")
    app_clock.advance(60)
    response = sign_in(client, password="wrong password!")
    assert response.status_code == 429 and response.headers["Retry-After"] == "60"
    app_clock.advance(61)
    assert sign_in(client).status_code == 302 and _signed_in(client)


def test_failures_outside_the_window_do_not_add_up(throttled, client, app_clock):
    for _ in range(2):
        sign_in(client, password="wrong password!")
    app_clock.advance(61)
    for _ in range(2):
        assert sign_in(client, password="wrong password!").status_code == 200
    assert sign_in(client).status_code == 302


def test_success_clears_the_email_counter(throttled, client):
    for _ in range(2):
        sign_in(client, password="wrong password!")
    assert sign_in(client).status_code == 302
    client.post("/auth/logout")
    for _ in range(2):
        assert sign_in(client, password="wrong password!").status_code == 200
    assert sign_in(client).status_code == 302


def test_failures_from_one_address_pause_it_for_every_email(throttled, client):
    for n in range(5):
        assert sign_in(client, email=f"guess{n}@example.com").status_code == 200
    response = sign_in(client, email="reviewer@example.com")
    assert response.status_code == 429 and LOCKED in response.data
    # Another address is not affected, nor is the e-mail itself.
    assert sign_in(client, email="reviewer@example.com", address="10.0.0.9").status_code == 302


def test_address_counter_is_not_cleared_by_a_success(throttled, client):
    for n in range(4):
        sign_in(client, email=f"guess{n}@example.com")
    assert sign_in(client).status_code == 302
    client.post("/auth/logout")
    sign_in(client, email="guess9@example.com")
    assert sign_in(client).status_code == 429


def test_zero_turns_a_limit_off(throttled, client):
    throttled.config.update(LOGIN_MAX_FAILURES=0, LOGIN_MAX_FAILURES_PER_ADDRESS=0)
    for _ in range(8):
        sign_in(client, password="wrong password!")
    assert sign_in(client).status_code == 302


def test_throttling_does_not_reveal_whether_an_account_exists(throttled, app):
    seen = {}
    for email in ("submitter@example.com", "nobody@example.com"):
        client = app.test_client()
        steps = [sign_in(client, email=email, password="wrong password!", address=email) for _ in range(4)]
        seen[email] = [(r.status_code, r.headers.get("Retry-After"),
                        r.data.replace(email.encode(), b"EMAIL")) for r in steps]
    assert seen["submitter@example.com"] == seen["nobody@example.com"]
    assert [status for status, _, _ in seen["nobody@example.com"]] == [200, 200, 200, 429]


# --- the counters in storage ---------------------------------------------------------------------------------

LIMITS = Limits(max_failures=2, max_failures_per_address=10, window_seconds=60, lockout_seconds=300)


@pytest.fixture
def db(tmp_path):
    database = open_db(str(tmp_path / "l.db"))
    migrate(database)
    yield database
    database.close()


def test_counters_are_shared_between_connections(db, tmp_path):
    other = open_db(str(tmp_path / "l.db"))
    try:
        login_attempts.record_failure(db, "a@example.com", "1.2.3.4", LIMITS, now=1000)
        assert login_attempts.record_failure(other, "A@Example.com ", "1.2.3.4", LIMITS, now=1001) == 300
        assert login_attempts.locked_for(db, "a@example.com", "5.6.7.8", now=1002) == 299
    finally:
        other.close()


def test_counters_keep_no_email_and_are_pruned_when_expired(db):
    login_attempts.record_failure(db, "a@example.com", "1.2.3.4", LIMITS, now=1000)
    login_attempts.record_failure(db, "a@example.com", "1.2.3.4", LIMITS, now=1001)
    rows = list(db["login_attempts"].rows)
    assert len(rows) == 2 and "a@example.com" not in json.dumps(rows) and "1.2.3.4" not in json.dumps(rows)
    # At 1300 the address counter (never locked) is past its window: pruned. The e-mail's, locked until 1301, stays.
    login_attempts.record_failure(db, "b@example.com", "9.9.9.9", LIMITS, now=1300)
    assert login_attempts.count_rows(db) == 3
    login_attempts.record_failure(db, "c@example.com", "8.8.8.8", LIMITS, now=1400)
    assert login_attempts.count_rows(db) == 2


def test_locked_for_uses_the_app_clock(db, app_clock):
    now = app_clock.now.timestamp()
    login_attempts.record_failure(db, "a@example.com", "1.2.3.4", LIMITS, now=now)
    login_attempts.record_failure(db, "a@example.com", "1.2.3.4", LIMITS, now=now)
    app_clock.advance(100)
    assert login_attempts.locked_for(db, "a@example.com", "") == 200


# --- timing of unknown e-mails -------------------------------------------------------------------------------


def test_every_failed_sign_in_checks_a_password_hash(app, monkeypatch):
    calls = []
    real = storage.users.check_password_hash

    def counting(stored, given):
        calls.append(stored.split("$")[0])
        return real(stored, given)

    # Real hashes here: the stand-in must cost what an account's hash costs.
    monkeypatch.setattr(storage.users, "generate_password_hash", werkzeug.security.generate_password_hash)
    storage.users._stand_in_hash.cache_clear()
    with app.app_context():
        db = get_db()
        storage.users.create_user(db, "submitter@example.com", PASSWORD, "submitter")
        inactive = storage.users.create_user(db, "inactive@example.com", PASSWORD, "submitter")
        db["users"].update(inactive["id"], {"active": 0})
        method = next(db["users"].rows_where("email = ?", ["submitter@example.com"]))["password_hash"].split("$")[0]
        monkeypatch.setattr(storage.users, "check_password_hash", counting)
        for email, password in [("submitter@example.com", "wrong password!"), ("nobody@example.com", PASSWORD),
                                ("inactive@example.com", PASSWORD)]:
            calls.clear()
            assert storage.users.authenticate(db, email, password) is None
            # One check, with the same method and cost as a real account's hash.
            assert calls == [method], email


# --- bandit --------------------------------------------------------------------------------------------------


def test_bandit_clean():
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "--ini", ".bandit", "-r", ".", "-f", "json", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    report = json.loads(result.stdout)
    scanned = {name for name in report["metrics"] if name != "_totals"}
    assert "./app.py" in scanned and "./views/security.py" in scanned
    assert not any(name.startswith(("./.venv", "./tests")) for name in scanned)
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
                for r in report["results"] if r["issue_severity"] in ("MEDIUM", "HIGH")]
    assert findings == []
