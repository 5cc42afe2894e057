"""The headers that sign a webhook delivery.

Standard Webhooks (https://www.standardwebhooks.com), signed with the ``standardwebhooks`` library so any of
its implementations verifies them, and the deprecated ``X-Intake-*`` scheme, sent beside them for one more
release. Which key a webhook's secret stands for is storage/webhook_secrets.py's rule.
"""

import datetime
import hashlib
import hmac
import time

from standardwebhooks import Webhook

from storage.webhook_secrets import signing_key

# Every header a delivery carries: (name, deprecated, what it holds). The OpenAPI document lists them from here.
HEADERS = (
    ("webhook-id", False, "the delivery id, the same on every retry (Standard Webhooks)"),
    ("webhook-timestamp", False, "Unix seconds when this attempt was signed (Standard Webhooks)"),
    ("webhook-signature", False, 'v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>"> with the '
                                 "webhook's signing key (Standard Webhooks)"),
    ("X-Intake-Delivery", True, "deprecated: equal to webhook-id"),
    ("X-Intake-Event", True, "deprecated: case.state_changed, also the body's event"),
    ("X-Intake-Timestamp", True, "deprecated: equal to webhook-timestamp"),
    ("X-Intake-Signature", True, 'deprecated: sha256=<hex HMAC-SHA256 of "<timestamp>." + body keyed with the '
                                 "secret as registered>"),
)


def delivery_headers(secret, delivery_id, event, timestamp, body):
    """Every header of :data:`HEADERS` for ``body`` (bytes) sent at ``timestamp`` (Unix seconds)."""
    moment = datetime.datetime.fromtimestamp(int(timestamp), datetime.UTC)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": Webhook(signing_key(secret)).sign(delivery_id, moment, body.decode()),
        "X-Intake-Delivery": delivery_id,
        "X-Intake-Event": event,
        "X-Intake-Timestamp": str(int(timestamp)),
        "X-Intake-Signature": sign(secret, timestamp, body),
    }


def sign(secret, timestamp, body):
    """The deprecated ``X-Intake-Signature`` value for ``body`` (bytes) sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret, timestamp, body, signature, tolerance=300, now=None):
    """What a receiver of the deprecated ``X-Intake-Signature`` does: True when ``signature`` matches and
    ``timestamp`` is recent."""
    now = time.time() if now is None else now
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except (TypeError, ValueError):
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature or "")
