"""Where webhooks may point: not at this machine or link-local addresses (cloud metadata), and no redirects."""

import http.server
import threading

import pytest

from api.delivery import post, target_problem
from tests.api_support import Receiver, assert_problem, bearer, make_token


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook", "http://169.254.169.254/latest",
    "http://0.0.0.0/x", "http://[fe80::1]/x", "http://224.0.0.1/x", "http://LOCALHOST./x",
])
def test_loopback_link_local_and_odd_addresses_are_refused(url):
    problem = target_problem(url, allow_loopback=False)
    assert problem and "not allowed" in problem


@pytest.mark.parametrize("url", ["http://10.1.2.3/hook", "https://192.168.0.10/jira", "http://203.0.113.7/x"])
def test_private_network_hosts_are_allowed_for_on_premises_ticketing(url):
    assert target_problem(url, allow_loopback=False) is None


def test_loopback_is_allowed_when_configured():
    assert target_problem("http://127.0.0.1:9/hook", allow_loopback=True) is None
    assert target_problem("http://169.254.169.254/x", allow_loopback=True)


def test_a_name_that_does_not_resolve_is_refused():
    problem = target_problem("http://no-such-host.invalid/hook", allow_loopback=False)
    assert problem and "does not resolve" in problem
    status, error = post("http://no-such-host.invalid/hook", b"{}", {}, timeout=2)
    assert status is None and "does not resolve" in error


def test_registering_a_loopback_url_is_a_422_naming_the_url(app, client):
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    token = make_token(app)
    response = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=bearer(token))
    assert_problem(response, 422)
    assert response.get_json()["errors"][0]["field"] == "url"
    assert "not allowed" in response.get_json()["errors"][0]["message"]


def test_delivery_refuses_a_loopback_target_registered_earlier():
    with Receiver() as receiver:
        status, error = post(receiver.url, b"{}", {}, timeout=5, allow_loopback=False)
        assert status is None and "not allowed" in error and receiver.requests == []


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(307)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_delivery_does_not_follow_redirects():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, error = post(f"http://127.0.0.1:{server.server_port}/hook", b"{}", {}, timeout=5,
                             allow_loopback=True)
    finally:
        server.shutdown()
        server.server_close()
    assert status == 307 and "redirect" in error.lower()


@pytest.mark.parametrize(("url", "ok"), [
    ("https://10.20.1.2/hook", True), ("https://10.30.1.2/hook", False), ("https://192.168.0.10/jira", False),
    ("https://203.0.113.7/x", True),
])
def test_an_allowlist_narrows_where_webhooks_may_point(url, ok):
    problem = target_problem(url, allowed="10.20.0.0/16, 203.0.113.7/32")
    assert (problem is None) is ok
    if not ok:
        assert "allowlist" in problem


def test_the_allowlist_takes_host_names_and_holds_at_delivery(monkeypatch):
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.8", port))])
    assert target_problem("https://jira.corp.example/h", allowed=".corp.example") is None
    assert target_problem("https://evil.example/h", allowed=".corp.example")
    status, error = post("https://evil.example/h", b"{}", {}, timeout=1, allowed="jira.corp.example")
    assert status is None and "allowlist" in error


def test_registering_outside_the_allowlist_is_a_422(app, client):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = "10.20.0.0/16"
    token = make_token(app)
    response = client.post("/api/v1/webhooks", json={"url": "https://203.0.113.9/hook"}, headers=bearer(token))
    assert response.status_code == 422 and "allowlist" in response.get_json()["errors"][0]["message"]
    response = client.post("/api/v1/webhooks", json={"url": "https://10.20.0.9/hook"}, headers=bearer(token))
    assert response.status_code == 201


def test_a_misconfigured_allowlist_refuses_rather_than_fails():
    assert "misconfigured" in target_problem("https://203.0.113.7/x", allowed="10.0.0.0/33")
