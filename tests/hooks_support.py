"""A webhook receiver that checks each delivery as a real one would: with the ``standardwebhooks`` library."""

import http.server
import threading

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


class VerifyingReceiver:
    """An HTTP server on a free loopback port that verifies every POST with ``Webhook(secret).verify``.

    It answers 204 to a delivery whose Standard Webhooks signature holds and 401 to any other, as a receiver
    following the recipes does; ``accepted`` holds the verified payloads with their headers, ``refused`` the
    reasons for the others.
    """

    def __init__(self, secret):
        self.webhook = Webhook(secret)
        self.accepted, self.refused = [], []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers)
                try:
                    payload = receiver.webhook.verify(body, headers)
                except WebhookVerificationError as exc:
                    status, record = 401, ("refused", str(exc))
                else:
                    status, record = 204, ("accepted", {"payload": payload, "headers": headers})
                with receiver.arrived:
                    getattr(receiver, record[0]).append(record[1])
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/intake"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count, timeout=30.0):
        """Wait until ``count`` deliveries were accepted; returns their payloads (fails the test on timeout)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.accepted) >= count or self.refused, timeout)
            assert not self.refused, f"deliveries refused: {self.refused}"
            assert len(self.accepted) >= count, f"{len(self.accepted)} of {count} deliveries arrived"
            return [a["payload"] for a in self.accepted]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
