"""Sending webhook deliveries from the outbox: signing, posting, and the worker thread that does it.

Each POST carries the JSON body and these headers:

- ``X-Intake-Delivery``: the delivery id (the same on every retry, so receivers can drop repeats);
- ``X-Intake-Event``: ``case.state_changed``;
- ``X-Intake-Timestamp``: seconds since the epoch when this attempt was signed;
- ``X-Intake-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>." + body`` with the webhook's secret.
"""

import hashlib
import hmac
import ipaddress
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from storage import open_db
from storage import webhooks as outbox

log = logging.getLogger(__name__)
USER_AGENT = "usecase-intake-webhooks/1"


def sign(secret, timestamp, body):
    """The signature header value for ``body`` (bytes) sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret, timestamp, body, signature, tolerance=300, now=None):
    """What a receiver does: True when ``signature`` matches and ``timestamp`` is recent."""
    now = time.time() if now is None else now
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except (TypeError, ValueError):
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def _refused(address, allow_loopback):
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.is_loopback:
        return not allow_loopback
    # Link-local holds the cloud metadata service (169.254.169.254); the others are never a receiver.
    return ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved


def target_problem(url, allow_loopback=False, resolve=True):
    """Why the service must not send to ``url`` (a sentence), or None.

    Loopback (this machine), link-local, multicast and unspecified addresses are refused, so a webhook
    cannot reach the services beside this one; private networks stay allowed for on-premises ticketing.
    :param resolve: also check the addresses the host name resolves to (a name that does not resolve is
        left to the delivery, which will fail and retry).
    """
    host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return "The webhook URL has no host."
    if host == "localhost" or host.endswith(".localhost"):
        return f"Webhooks to {host} are not allowed: it is this machine."
    try:
        addresses = [host] if _is_ip(host) else (
            sorted({info[4][0] for info in socket.getaddrinfo(host, None)}) if resolve else [])
    except (socket.gaierror, UnicodeError):
        return None
    for address in addresses:
        if _refused(address, allow_loopback):
            return f"Webhooks to {host} are not allowed: it resolves to {address}, not a routable network address."
    return None


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A receiver's redirect could point anywhere, past the check on the registered URL.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url, body, headers, timeout, allow_loopback=False):
    """POST ``body``; returns ``(status_code, error)``, one of them None. Redirects are not followed."""
    problem = target_problem(url, allow_loopback)
    if problem:
        return None, problem
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        # Webhook URLs are refused unless http(s) when registered (storage.webhooks.create_webhook).
        with _opener.open(request, timeout=timeout) as response:  # nosec B310
            response.read(65536)
            return response.status, None
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            return exc.code, f"HTTP {exc.code}: redirects are not followed ({exc.headers.get('Location', '')[:200]})"
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:500]


def send(delivery, timeout=10.0, now=None, allow_loopback=False):
    """Sign and post one claimed delivery; returns ``(status_code, error, duration_ms)``."""
    body = delivery["payload"].encode()
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Intake-Delivery": delivery["delivery_id"],
        "X-Intake-Event": delivery["event"],
        "X-Intake-Timestamp": str(timestamp),
        "X-Intake-Signature": sign(delivery["secret"], timestamp, body),
    }
    started = time.perf_counter()
    status, error = post(delivery["url"], body, headers, timeout, allow_loopback)
    return status, error, round((time.perf_counter() - started) * 1000, 1)


def deliver_due(db, config, now=None, max_rounds=50):
    """Send every delivery due at ``now`` (default: the clock), oldest first, in order per case.

    :return: ``{"delivered": n, "failed_attempts": n, "given_up": n}``.
    """
    stats = {"delivered": 0, "failed_attempts": 0, "given_up": 0}
    timeout = float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10))
    for _ in range(max_rounds):
        clock = time.time() if now is None else now
        claimed = outbox.claim_due(db, clock, limit=20, lease_seconds=timeout * 2 + 30)
        if not claimed:
            break
        for delivery in claimed:
            status_code, error, duration = send(delivery, timeout, now,
                                                bool(config.get("WEBHOOK_ALLOW_LOOPBACK")))
            result = outbox.record_attempt(
                db, delivery, status_code, error, duration, now=now,
                base=float(config.get("WEBHOOK_BACKOFF_SECONDS", 10)),
                cap=float(config.get("WEBHOOK_BACKOFF_MAX_SECONDS", 3600)),
                give_up_seconds=float(config.get("WEBHOOK_GIVE_UP_HOURS", 24)) * 3600)
            if result == "delivered":
                stats["delivered"] += 1
            else:
                stats["failed_attempts"] += 1
                stats["given_up"] += result == "failed"
    return stats


class DeliveryWorker(threading.Thread):
    """A daemon thread that drains the outbox every ``WEBHOOK_POLL_SECONDS``; one per serving process."""

    def __init__(self, config):
        super().__init__(name="webhook-delivery", daemon=True)
        self.config = dict(config)
        self.stopping = threading.Event()
        self.wake = threading.Event()

    def run(self):
        poll = float(self.config.get("WEBHOOK_POLL_SECONDS", 1.0))
        # One connection for the thread's life. Besides saving a connect per pass, it means request
        # connections are never the database's last one, so closing them skips SQLite's WAL checkpoint.
        db = None
        while not self.stopping.is_set():
            try:
                db = db or open_db(self.config["DATABASE"])
                deliver_due(db, self.config)
            except Exception:  # the worker must outlive a locked or not yet migrated database
                log.exception("webhook delivery pass failed")
                if db is not None:
                    db.close()
                db = None
            self.wake.wait(poll)
            self.wake.clear()
        if db is not None:
            db.close()

    def stop(self, timeout=5.0):
        """Ask the thread to finish its pass and wait for it."""
        self.stopping.set()
        self.wake.set()
        self.join(timeout)


def worker_enabled(app):
    """``WEBHOOK_WORKER``: true or false; unset means on when serving, off under TESTING."""
    setting = app.config.get("WEBHOOK_WORKER")
    return (not app.testing) if setting is None else bool(setting)


_start_lock = threading.Lock()


def start_worker(app):
    """Start the app's delivery worker in this process once, if enabled; returns it or None."""
    if not worker_enabled(app):
        return None
    with _start_lock:
        worker = app.extensions.get("webhook_worker")
        if worker is None or not worker.is_alive():
            worker = DeliveryWorker(app.config)
            worker.start()
            app.extensions["webhook_worker"] = worker
    return worker


def stop_worker(app):
    """Stop the app's delivery worker, if one runs."""
    worker = app.extensions.pop("webhook_worker", None)
    if worker is not None:
        worker.stop()
