"""A webhook receiver that checks each delivery as a real one would: with the ``standardwebhooks`` library."""

import http.server
import threading

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


class VerifyingReceiver:
    """An HTTP server on a free loopback port that verifies every POST with ``Webhook(secret).verify``.

    It answers 204 to a delivery whose Standard Webhooks signature holds and 401 to any other, as a receiver
    following docs/integrations.md does. ``accepted`` holds each verified delivery (``payload``, ``headers``,
    raw ``body``, ``path``); ``refused`` the library's reason for each other one.

    :param secret: the signing secret; may be given later with :meth:`trust`, once registration tells it.
    """

    def __init__(self, secret=None, path="/hooks/intake"):
        self.webhook = Webhook(secret) if secret else None
        self.accepted, self.refused = [], []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers)
                try:
                    if receiver.webhook is None:
                        raise WebhookVerificationError("no secret to verify with yet")
                    payload = receiver.webhook.verify(body, headers)
                except WebhookVerificationError as exc:
                    status, kind, record = 401, "refused", str(exc)
                else:
                    status, kind = 204, "accepted"
                    record = {"payload": payload, "headers": headers, "body": body, "path": self.path}
                with receiver.arrived:
                    getattr(receiver, kind).append(record)
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.base + path
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def trust(self, secret):
        """Verify from now on with ``secret`` (a ``whsec_`` string or key bytes)."""
        self.webhook = Webhook(secret)

    def wait_until(self, predicate, timeout=30.0):
        """Wait until ``predicate(accepted)`` holds; returns the accepted deliveries.

        Fails the test at once when a delivery was refused, and after ``timeout`` seconds otherwise.
        """
        with self.arrived:
            self.arrived.wait_for(lambda: self.refused or predicate(self.accepted), timeout)
            assert not self.refused, f"deliveries refused: {self.refused}"
            assert predicate(self.accepted), f"still waiting after {timeout} s; accepted: {len(self.accepted)}"
            return list(self.accepted)

    def wait_for(self, count, timeout=30.0):
        """Wait until ``count`` deliveries were accepted; returns their payloads."""
        return [d["payload"] for d in self.wait_until(lambda accepted: len(accepted) >= count, timeout)]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
