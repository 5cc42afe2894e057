"""Webhooks cannot outlive their token, see more than their token may read, multiply without bound, hold the
write lock per receiver, be held open by a slow receiver, or be pointed elsewhere by a second DNS answer."""

import socket
import socketserver
import threading
import time

import pytest

from api.delivery import deliver_due, post
from storage import get_db, write_transaction
from storage.cases import set_state
from tests.api_support import Receiver, assert_problem, bearer, make_token, new_case

HOOKS = "/api/v1/webhooks"


def register(client, token, url):
    return client.post(HOOKS, json={"url": url}, headers=bearer(token))


def open_case(client, token, ref="JIRA-1"):
    response = client.post("/api/v1/cases", json=new_case(ref), headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliver(app):
    with app.app_context():
        return deliver_due(get_db(), app.config)


def test_revoking_a_token_stops_its_webhooks_and_cancels_their_deliveries(app, client, runner):
    token = make_token(app, name="leaky")
    with Receiver() as receiver:
        hook = register(client, token, receiver.url).get_json()
        open_case(client, make_token(app, name="other"))
        assert runner.invoke(args=["tokens", "revoke", "leaky"]).exit_code == 0
        open_case(client, make_token(app, name="third"), "JIRA-2")
        assert deliver(app)["delivered"] == 0
    assert receiver.requests == []
    with app.app_context():
        row = get_db()["webhooks"].get(hook["id"])
        statuses = {r["status"] for r in get_db()["webhook_deliveries"].rows}
    assert row["active"] == 0 and row["disabled_at"] and statuses == {"cancelled"}


def test_a_webhook_whose_token_was_revoked_behind_its_back_gets_nothing(app, client):
    token = make_token(app, name="leaky")
    with Receiver() as receiver:
        register(client, token, receiver.url)
        with app.app_context():
            get_db().execute("update api_tokens set revoked_at = '2026-01-01' where name = 'leaky'")
        open_case(client, make_token(app, name="other"))
        assert deliver(app)["delivered"] == 0
    assert receiver.requests == []


def test_registering_a_webhook_needs_the_cases_read_scope(app, client):
    response = register(client, make_token(app, "webhooks"), "http://127.0.0.1:9/hook")
    assert_problem(response, 403)
    assert "cases:read" in response.get_json()["detail"]


def test_a_token_limited_to_its_own_cases_receives_only_those(app, client):
    with app.app_context():
        from storage.tokens import create_token

        own, _ = create_token(get_db(), "own", "cases:read cases:write webhooks", own_cases=True)
    with Receiver() as receiver:
        assert register(client, own, receiver.url).status_code == 201
        mine = open_case(client, own, "MINE")
        open_case(client, make_token(app, name="other"), "THEIRS")
        deliver(app)
    assert [p["case"]["id"] for p in receiver.accepted()] == [mine["id"]]


def test_webhooks_per_token_are_capped(app, client):
    app.config["WEBHOOK_MAX_PER_TOKEN"] = 2
    token = make_token(app)
    assert [register(client, token, f"http://127.0.0.1:9/{i}").status_code for i in range(3)] == [201, 201, 409]
    hook = client.get(HOOKS, headers=bearer(token)).get_json()["items"][0]
    client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(token))
    assert register(client, token, "http://127.0.0.1:9/again").status_code == 201


def test_fan_out_happens_after_the_state_change_commits(app, client):
    token = make_token(app)
    for i in range(3):
        register(client, token, f"http://127.0.0.1:9/{i}")
    case = open_case(client, token)
    with app.app_context():
        db = get_db()
        before = db["webhook_deliveries"].count
        with write_transaction(db):
            set_state(db, case["id"], "in_review", "reviewer@example.com")
            # Inside the transaction: one event row, no delivery per webhook yet.
            assert db["webhook_deliveries"].count == before
            assert db.execute("select count(*) from webhook_events where fanned_out = 0").fetchone()[0] == 1
        assert db["webhook_deliveries"].count == before + 3


def test_events_left_by_a_crash_before_fan_out_are_sent_by_the_worker(app, client):
    token = make_token(app)
    with Receiver() as receiver:
        register(client, token, receiver.url)
        case = open_case(client, token)
        with app.app_context():
            db = get_db()
            db.execute("delete from webhook_deliveries")
            db.execute("update webhook_events set fanned_out = 0")
        deliver(app)
    assert [p["case"]["id"] for p in receiver.accepted()] == [case["id"]]


class _Trickle(socketserver.BaseRequestHandler):
    """Answers one byte at a time, slowly: each read finishes well inside a per-read timeout."""

    def handle(self):
        self.request.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 40:
            try:
                self.request.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(0.2)


def test_a_trickling_receiver_cannot_hold_an_attempt_past_its_deadline():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        status, error = post(f"http://127.0.0.1:{server.server_address[1]}/hook", b"{}", {}, timeout=1.0,
                             allow_loopback=True)
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert status is None and "Timed out" in error
    assert elapsed < 4.0


@pytest.fixture
def dns(monkeypatch):
    """A resolver whose answers for hooks.example are given in turn, as a rebinding attacker's would be."""
    answers, calls = [], []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host != "hooks.example":
            return real(host, port, *args, **kwargs)
        calls.append(host)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers, calls


def test_delivery_connects_to_the_address_it_checked(dns):
    answers, calls = dns
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        answers += ["127.0.0.1", "10.255.255.1"]
        status, error = post(f"http://hooks.example:{port}/hook", b"{}", {}, timeout=2, allow_loopback=True)
    assert (status, error) == (200, None) and len(calls) == 1
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example:{port}"


def test_a_second_dns_answer_cannot_point_a_delivery_at_this_machine(dns):
    answers, _ = dns
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        answers += ["203.0.113.9", "127.0.0.1"]
        status, error = post(f"http://hooks.example:{port}/hook", b"{}", {}, timeout=0.5, allow_loopback=False)
    assert status is None and receiver.requests == []
    assert "203.0.113.9" not in error and "127.0.0.1" not in error


def test_deliveries_go_through_no_proxy(dns, monkeypatch):
    answers, _ = dns
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with Receiver() as receiver:
        answers.append("127.0.0.1")
        status, _ = post(f"http://hooks.example:{receiver.server.server_address[1]}/h", b"{}", {}, timeout=2,
                         allow_loopback=True)
    assert status == 200


def test_webhooks_off_this_machine_need_https_unless_allowed(app, client):
    token = make_token(app)
    response = register(client, token, "http://203.0.113.9/hook")
    assert response.status_code == 422 and "https://" in response.get_json()["errors"][0]["message"]
    assert register(client, token, "https://203.0.113.9/hook").status_code == 201
    assert register(client, token, "http://127.0.0.1:9/hook").status_code == 201  # never leaves the machine
    app.config["WEBHOOK_ALLOW_HTTP"] = True
    assert register(client, token, "http://203.0.113.9/other").status_code == 201
