"""Helpers for the API tests: tokens, problem answers, and a webhook receiver on 127.0.0.1 that can fail on demand."""

import http.server
import json
import threading

from config import Config
from storage import get_db, webhooks
from storage.tokens import create_token

ALL_SCOPES = "classify cases:read cases:write webhooks"
LEGAL_CHATBOT = "A chatbot for customers that gives legal advice about a contract before court."
PROBLEM = "application/problem+json"


def assert_problem(response, status):
    """Assert ``response`` is a problem+json answer with ``status``, and no stack trace; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def make_token(app, scopes=ALL_SCOPES, name="jira"):
    """A fresh API token with ``scopes``."""
    with app.app_context():
        token, _ = create_token(get_db(), name, scopes)
    return token


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def new_case(external_ref="JIRA-1", **extra):
    body = {"external_ref": external_ref, "title": "Contract helper", "description": LEGAL_CHATBOT,
            "submitter_email": "pm@example.com"}
    body.update(extra)
    return body


class Receiver:
    """An HTTP server on a free loopback port; answers the statuses in ``script`` in turn, then 200."""

    def __init__(self, script=()):
        self.script = list(script)
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self):
        """Bodies of the requests answered 2xx, parsed."""
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests if 200 <= r["status"] < 300]


def backoff_seconds(attempts):
    """The wait after a failed webhook attempt, with the default backoff settings the test app runs with."""
    return webhooks.backoff_seconds(attempts, Config.WEBHOOK_BACKOFF_SECONDS, Config.WEBHOOK_BACKOFF_MAX_SECONDS)
