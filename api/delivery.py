"""Sending webhook deliveries from the outbox: posting them signed (api/signing.py), and the worker thread
that does it."""

import contextlib
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
import urllib.parse

import outbox_worker
from outbox_worker import OutboxWorker
from storage import webhooks as outbox
from storage.webhook_secrets import seal_stored

from .signing import delivery_headers

log = logging.getLogger(__name__)
USER_AGENT = "usecase-intake-webhooks/1"
# Deliveries claimed at a time by one sender.
BATCH = 20


def _refused(address, allow_loopback):
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.is_loopback:
        return not allow_loopback
    # Link-local holds the cloud metadata service (169.254.169.254); the others are never a receiver.
    return ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved


class TargetRefused(Exception):
    """The service must not send to this URL; the message says why, without the addresses it resolved to."""


def _host(url):
    return (urllib.parse.urlsplit(url).hostname or "").rstrip(".").lower()


def parse_allowlist(setting):
    """``(host names, networks)`` from ``WEBHOOK_ALLOWED_HOSTS``: a comma-separated string or a list of host
    names (``tickets.example.com``; a leading dot, ``.example.com``, takes its subdomains) and CIDR networks.

    :raises ValueError: on an entry that is neither.
    """
    items = setting.replace(",", " ").split() if isinstance(setting, str) else list(setting or ())
    hosts, networks = set(), []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            if not item.strip(".") or "/" in item:
                raise ValueError(f"{item!r} in WEBHOOK_ALLOWED_HOSTS is neither a host name nor a network") from None
            hosts.add(item.lower())
    return hosts, networks


def _listed(host, addresses, allowed):
    try:
        hosts, networks = parse_allowlist(allowed)
    except ValueError as exc:
        # A misconfigured allowlist refuses every target rather than failing the request.
        raise TargetRefused(f"The webhook allowlist is misconfigured: {exc}") from None
    if host in hosts or any(h.startswith(".") and host.endswith(h) for h in hosts):
        return True
    return bool(networks) and all(any(ipaddress.ip_address(a.split("%")[0]) in n for n in networks)
                                  for a in addresses)


def resolve_target(url, allow_loopback=False, allowed=None):
    """The addresses to connect to for ``url``, each checked: ``[(family, sockaddr), ...]``.

    The delivery connects to these very addresses, so a name that resolves to a public address here and to
    this machine a moment later (DNS rebinding) cannot slip past the check.
    :raises TargetRefused: no host, a host on this machine or another refused address, or a name that
        does not resolve.
    """
    parts = urllib.parse.urlsplit(url)
    host = _host(url)
    if not host:
        raise TargetRefused("The webhook URL has no host.")
    if host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused(f"Webhooks to {host} are not allowed: it is this machine.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise TargetRefused(f"Webhooks to {host} are not allowed: the name does not resolve.") from None
    targets = []
    for family, _, _, _, sockaddr in infos:
        if _refused(sockaddr[0], allow_loopback):
            raise TargetRefused(f"Webhooks to {host} are not allowed: it is not a routable network address.")
        if (family, sockaddr) not in targets:
            targets.append((family, sockaddr))
    if allowed and not _listed(host, [sockaddr[0] for _, sockaddr in targets], allowed):
        raise TargetRefused(f"Webhooks to {host} are not allowed: it is not in the webhook allowlist "
                            "(INTAKE_WEBHOOK_ALLOWED_HOSTS).")
    return targets


def is_loopback(url):
    """True when every address ``url``'s host resolves to is on this machine (nothing crosses a network)."""
    try:
        targets = resolve_target(url, allow_loopback=True)
    except TargetRefused:
        return False
    return all(ipaddress.ip_address(sockaddr[0].split("%")[0]).is_loopback for _, sockaddr in targets)


def target_problem(url, allow_loopback=False, allowed=None):
    """Why the service must not send to ``url`` (a sentence), or None.

    Loopback (this machine), link-local, multicast and unspecified addresses are refused, so a webhook
    cannot reach the services beside this one, and so is a name that does not resolve; private networks stay
    allowed for on-premises ticketing.
    """
    try:
        resolve_target(url, allow_loopback, allowed)
    except TargetRefused as exc:
        return str(exc)
    return None


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to an address checked beforehand; the Host header still names the URL's host."""

    def __init__(self, host, port, target, timeout):
        super().__init__(host, port, timeout=timeout)
        self.target = target

    def connect(self):
        family, sockaddr = self.target
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(sockaddr)


class _PinnedHTTPS(_PinnedHTTP):
    """The same over TLS: the certificate is checked against the URL's host name (SNI too)."""

    default_port = 443

    def connect(self):
        super().connect()
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


def _deadline(conn, seconds):
    """A timer that cuts the connection after ``seconds`` in all: a per-read timeout alone lets a receiver
    that sends a byte now and then hold the delivery thread indefinitely."""

    def cut():
        if conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    return timer


def post(url, body, headers, timeout, allow_loopback=False, allowed=None):
    """POST ``body`` within ``timeout`` seconds in all; returns ``(status_code, error)``, one of them None.

    No proxy and no redirect is followed; the errors recorded are generic (no addresses or socket details).
    """
    try:
        targets = resolve_target(url, allow_loopback, allowed)
    except TargetRefused as exc:
        return None, str(exc)
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    port = parts.port or kind.default_port
    started = time.monotonic()
    conn = kind(_host(url), port, targets[0], timeout)
    timer = _deadline(conn, timeout)
    timer.start()
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        status = response.status
    except ssl.SSLError:
        return None, "TLS error: the receiver's certificate or handshake was refused."
    except (OSError, http.client.HTTPException):
        if time.monotonic() - started >= timeout:
            return None, f"Timed out: the receiver took more than {timeout:g} s."
        return None, "Connection failed: the receiver could not be reached or closed the connection."
    finally:
        timer.cancel()
        conn.close()
    if 300 <= status < 400:
        return status, f"HTTP {status}: redirects are not followed."
    if not 200 <= status < 300:
        return status, f"HTTP {status} {http.client.responses.get(status, '')}".strip()
    return status, None


def send(delivery, timeout, now=None, allow_loopback=False, allowed=None):
    """Sign and post one claimed delivery; returns ``(status_code, error, duration_ms)``."""
    body = delivery["payload"].encode()
    timestamp = int(time.time() if now is None else now)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **delivery_headers(delivery["secret"], delivery["delivery_id"], delivery["event"], timestamp, body)}
    started = time.perf_counter()
    status, error = post(delivery["url"], body, headers, timeout, allow_loopback, allowed)
    return status, error, round((time.perf_counter() - started) * 1000, 1)


def deliver_due(db, config, now=None, max_rounds=50):
    """Send every delivery due at ``now`` (default: the clock), oldest first, in order per case.

    :return: ``{"delivered": n, "failed_attempts": n, "given_up": n}``.
    """
    stats = {"delivered": 0, "failed_attempts": 0, "given_up": 0}
    timeout = float(config["WEBHOOK_TIMEOUT_SECONDS"])
    key = config["WEBHOOK_SECRETS_KEY"]
    # Secrets an earlier release stored in plaintext.
    seal_stored(db, key)
    # Events a crash left between their commit and their fan-out.
    while outbox.fan_out(db):
        pass
    for _ in range(max_rounds):
        clock = time.time() if now is None else now
        # The lease outlasts the whole batch (each attempt ends by its deadline), so another worker never
        # claims a row this one is still sending.
        claimed = outbox.claim_due(db, clock, limit=BATCH, lease_seconds=BATCH * (timeout + 1) + 30, key=key)
        if not claimed:
            break
        for delivery in claimed:
            if delivery["secret"] is None:
                # Nothing is sent unsigned: the attempt fails with the reason, and is retried as any other.
                status_code, error, duration = None, delivery["secret_error"], None
            else:
                status_code, error, duration = send(delivery, timeout, now,
                                                    bool(config.get("WEBHOOK_ALLOW_LOOPBACK")),
                                                    config.get("WEBHOOK_ALLOWED_HOSTS"))
            result = outbox.record_attempt(
                db, delivery, status_code, error, duration, now=now,
                base=float(config["WEBHOOK_BACKOFF_SECONDS"]), cap=float(config["WEBHOOK_BACKOFF_MAX_SECONDS"]),
                give_up_seconds=float(config["WEBHOOK_GIVE_UP_HOURS"]) * 3600)
            if result == "delivered":
                stats["delivered"] += 1
            else:
                stats["failed_attempts"] += 1
                stats["given_up"] += result == "failed"
    return stats


class DeliveryWorker(OutboxWorker):
    """A daemon thread that drains the outbox every ``WEBHOOK_POLL_SECONDS``; one per serving process."""

    name_prefix = "webhook-delivery"
    poll_setting = "WEBHOOK_POLL_SECONDS"

    def drain(self, db):
        deliver_due(db, self.config)


def worker_enabled(app):
    """``WEBHOOK_WORKER``: true or false; unset means on when serving, off under TESTING."""
    setting = app.config.get("WEBHOOK_WORKER")
    return (not app.testing) if setting is None else bool(setting)


def start_worker(app):
    """Start the app's delivery worker in this process once, if enabled; returns it or None."""
    return outbox_worker.start(app, "webhook_worker", DeliveryWorker) if worker_enabled(app) else None


def stop_worker(app):
    """Stop the app's delivery worker, if one runs."""
    outbox_worker.stop(app, "webhook_worker")
