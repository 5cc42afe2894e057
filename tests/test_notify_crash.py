"""Crash safety of the e-mail outbox on the real server: gunicorn SIGKILLed after a state change and before its
e-mail went out, then started again on the same database, sends each e-mail exactly once to a real SMTP server
(aiosmtpd on a loopback port)."""

import json
import time
import urllib.request

import pytest

from bench import loadgen
from bench.live_server import LiveServer, prepare_database
from storage import open_db
from tests.smtp_support import SmtpServer

ADMIN, REVIEWER = "admin@example.com", "reviewer@example.com"


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


def _env(smtp, **extra):
    settings = {f"INTAKE_{k}": str(v) for k, v in smtp.settings().items()}
    return {**settings, "INTAKE_PUBLIC_URL": "https://intake.example.com", **extra}


def _create_case(server, token, ref):
    body = json.dumps({"external_ref": ref, "title": "Contract helper", "submitter_email": "submitter@example.com",
                       "description": "A chatbot for customers that gives legal advice about a contract."}).encode()
    request = urllib.request.Request(server.url + "/api/v1/cases", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
        return json.loads(response.read())["id"]


def _rows(database):
    db = open_db(str(database))
    try:
        return list(db.query("select recipient, status, attempts, locked_until from notifications order by id"))
    finally:
        db.close()


def _wait_rows(database, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _rows(database)
        if check(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"the outbox never reached the expected state: {_rows(database)}")


def _server(tmp_path, smtp, **env):
    prepare_database(tmp_path / "intake.db")
    token = loadgen.create_tokens(tmp_path / "intake.db", 1)[0]
    return LiveServer(tmp_path, fake_model=True, workers=2, env=_env(smtp, **env)), token


def test_sigkill_after_the_state_change_and_before_the_send_loses_nothing_and_sends_once(tmp_path, smtp):
    smtp.start()
    # The sending threads make their first pass at start-up and then sleep for an hour: the case's e-mails are
    # queued at its commit and still unsent when the server is killed.
    server, token = _server(tmp_path, smtp, INTAKE_NOTIFY_POLL_SECONDS="3600")
    server.start()
    try:
        case_id = _create_case(server, token, "JIRA-7")
    finally:
        server.kill()
    assert [(r["recipient"], r["status"], r["attempts"]) for r in _rows(server.database)] == [
        (ADMIN, "pending", 0), (REVIEWER, "pending", 0)]
    assert smtp.messages == []
    server.extra_env["INTAKE_NOTIFY_POLL_SECONDS"] = "0.2"
    server.start()  # two workers, each with its sending thread, on the same outbox
    try:
        smtp.wait_for(2)
        _wait_rows(server.database, lambda rows: all(r["status"] == "sent" for r in rows))
        time.sleep(2)  # several more passes of both threads
    finally:
        server.kill()  # a throwaway database: a graceful stop would only cost seconds
    assert smtp.recipients() == [ADMIN, REVIEWER]
    message = smtp.to(REVIEWER)[0]
    assert f"Case {case_id} was submitted for review" in message["Subject"] and "(JIRA-7)" in message["Subject"]
    assert f"https://intake.example.com/review/cases/{case_id}" in message.get_content()
    assert [(r["status"], r["attempts"]) for r in _rows(server.database)] == [("sent", 1), ("sent", 1)]


def test_sigkill_during_an_smtp_outage_then_the_server_returns_sends_once(tmp_path, smtp):
    server, token = _server(tmp_path, smtp, INTAKE_NOTIFY_POLL_SECONDS="0.2", INTAKE_NOTIFY_BACKOFF_SECONDS="1",
                            INTAKE_NOTIFY_BACKOFF_MAX_SECONDS="2", INTAKE_SMTP_TIMEOUT_SECONDS="1")
    server.start()
    try:
        _create_case(server, token, "JIRA-8")
        # The SMTP server is down: the threads retry with backoff, recording each failure.
        rows = _wait_rows(server.database, lambda rows: len(rows) == 2 and all(
            r["attempts"] >= 2 and r["locked_until"] is None for r in rows))
    finally:
        server.kill()
    assert {r["status"] for r in rows} == {"pending"} and smtp.messages == []
    smtp.start()
    server.start()
    try:
        # A row leased by an attempt the kill cut short waits for its lease to run out (70 s here).
        smtp.wait_for(2, timeout=90)
        _wait_rows(server.database, lambda rows: all(r["status"] == "sent" for r in rows), timeout=90)
        time.sleep(2)
    finally:
        server.kill()
    assert smtp.recipients() == [ADMIN, REVIEWER]
    # At least two failed attempts before the kill, then one that went through.
    assert all(r["status"] == "sent" and r["attempts"] >= 3 for r in _rows(server.database))
