"""A real SMTP server for the notification tests: aiosmtpd on a loopback port, recording what it accepts.

It can be stopped and started again on the same port (an outage), and told to refuse some recipients.
"""

import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from bench.live_server import free_port


class Recorder:
    """aiosmtpd handler: keeps each accepted message; refuses the recipients in ``refuse`` with 550."""

    def __init__(self):
        self.messages = []
        self.refuse = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.lock:
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd's ``Controller`` on 127.0.0.1, on a port chosen once so a restart comes back on it."""

    def __init__(self, login=None):
        self.port = free_port()
        self.handler = Recorder()
        self.controller = None
        self.login = login  # (user, password) the server demands before MAIL FROM
        self.logins = []

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        given = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(given)
        return AuthResult(success=given == self.login)

    def start(self):
        extra = {}
        if self.login:
            # Plain-text AUTH on loopback: the tests check the sign-in, not TLS.
            extra = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **extra)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, address):
        """The messages delivered to ``address``."""
        return [m["message"] for m in self.messages if address in m["to"]]

    def recipients(self):
        """Every recipient of every message, in order (repeats kept, so a double send shows)."""
        return sorted(r for m in self.messages for r in m["to"])

    def wait_for(self, count, timeout=30.0):
        """Wait until at least ``count`` messages arrived; returns them."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages

    def settings(self):
        """The app settings that send to this server."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_SECURITY": "none",
                "SMTP_FROM": "intake@example.com", "SMTP_TIMEOUT_SECONDS": 5.0}
