"""Webhook registrations and the persistent outbox of their deliveries.

A delivery row is written in the transaction that changes a case's state (see storage/cases.py), so it
survives a crash or restart. A sender claims due rows with a lease, posts them (api/delivery.py) and
records each attempt here: success ends the row; a failure schedules the next attempt with exponential
backoff until the row is older than the give-up age. Rows of one webhook and case go out in order: a row
waits while an earlier one of the same case is still pending.
"""

import json
import uuid

from . import after_commit, audit, write_transaction
from .clock import iso, now_iso, now_ts
from .webhook_secrets import SecretFormatError, SecretUnreadable, check_secret, new_secret, seal, unseal, whsec

STATUSES = ("pending", "delivered", "failed", "cancelled")


class WebhookError(ValueError):
    """A webhook could not be registered or changed as asked."""

    status = 400

    def __init__(self, message, field="url"):
        super().__init__(message)
        self.field = field


class WebhookNotFound(WebhookError):
    """No webhook with this id belongs to the caller."""

    status = 404


def _public(row, secret=None):
    hook = {"id": row["id"], "url": row["url"], "active": bool(row["active"]), "created_at": row["created_at"]}
    if secret is not None:
        hook["secret"] = secret
        hook["signing_secret"] = whsec(secret)
    return hook


class TooManyWebhooks(WebhookError):
    """The token already has as many active webhooks as it may."""

    status = 409


def create_webhook(db, url, secret=None, token_id=None, max_per_token=None, *, key):
    """Register ``url``; returns the webhook with its secret (generated when not given) and the secret's
    ``whsec_`` form (``signing_secret``), both shown this once.

    :param max_per_token: how many active webhooks one token may have (None: no cap).
    :param key: the Fernet key the secret is sealed with in the database (``WEBHOOK_SECRETS_KEY``).
    :raises WebhookError: when the URL is not http(s) or the secret is shorter than 16 characters or a
        malformed ``whsec_`` secret.
    :raises TooManyWebhooks: the token is at its cap.
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise WebhookError("The webhook URL must start with http:// or https://.")
    if secret is not None and len(secret) < 16:
        raise WebhookError("The secret must have at least 16 characters.", field="secret")
    if secret is not None:
        try:
            check_secret(secret)
        except SecretFormatError as exc:
            raise WebhookError(str(exc), field="secret") from None
    with write_transaction(db):
        if token_id is not None and max_per_token is not None:
            count = db.execute("select count(*) from webhooks where token_id = ? and active = 1",
                               [token_id]).fetchone()[0]
            if count >= max_per_token:
                raise TooManyWebhooks(f"This token already has {count} active webhooks, the most allowed; "
                                      "delete one first.")
        table = db["webhooks"]
        secret = secret or new_secret()
        table.insert({"url": url, "secret": seal(key, secret), "token_id": token_id, "active": 1,
                      "created_at": now_iso()})
        row = table.get(table.last_pk)
        audit.record(db, _actor(db, token_id), "create_webhook",
                     after={"webhook_id": row["id"], "url": url, "token_id": token_id})
    return _public(row, secret)


def _actor(db, token_id):
    """The audit actor for a token's change: its name and id (names are not unique)."""
    if token_id is None:
        return "cli"
    rows = list(db.query("select name from api_tokens where id = ?", [token_id]))
    return f"token:{rows[0]['name'] if rows else '?'}#{token_id}"


def list_webhooks(db, token_id=None):
    """Webhooks (of one token when given), oldest first, without their secrets."""
    where, args = ("token_id = ?", [token_id]) if token_id is not None else (None, None)
    return [_public(row) for row in db["webhooks"].rows_where(where, args, order_by="id")]


def get_webhook(db, webhook_id, token_id=None):
    """The webhook (owned by ``token_id`` when given).

    :raises WebhookNotFound: no such webhook, or another token's.
    """
    rows = list(db["webhooks"].rows_where("id = ?", [webhook_id]))
    if not rows or (token_id is not None and rows[0]["token_id"] != token_id):
        raise WebhookNotFound(f"No webhook {webhook_id}.")
    return _public(rows[0])


def disable_webhook(db, webhook_id, token_id=None):
    """Stop a webhook: no new deliveries, and its pending ones are cancelled.

    :raises WebhookNotFound: no such webhook, or another token's.
    """
    hook = get_webhook(db, webhook_id, token_id)
    with write_transaction(db):
        db.execute("update webhooks set active = 0, disabled_at = ? where id = ?", [now_iso(), webhook_id])
        db.execute("update webhook_deliveries set status = 'cancelled', locked_until = null "
                   "where webhook_id = ? and status = 'pending'", [webhook_id])
        audit.record(db, _actor(db, token_id), "disable_webhook", before={"webhook_id": webhook_id,
                                                                          "url": hook["url"]})


def record_event(db, case_id, event, data, now=None):
    """Write the event to the outbox; call inside the transaction that changes the case.

    Only one row is written here, however many webhooks there are: :func:`fan_out` turns it into one
    delivery per webhook after the commit, so the state change holds the write lock for one insert.
    :return: the event's id.
    """
    now = now_ts() if now is None else now
    table = db["webhook_events"]
    table.insert({"case_id": case_id, "event": event, "payload": json.dumps(data, sort_keys=True),
                  "created_ts": now, "fanned_out": 0})
    after_commit(db, fan_out)
    return table.last_pk


# A webhook receives a case only if it belongs to no token (registered by the operator), or its token is
# live, may read cases, and may read this one (a token limited to its own cases gets only those).
ELIGIBLE = """
    select w.id from webhooks w left join api_tokens t on t.id = w.token_id
    where w.active = 1 and (w.token_id is null or (
        t.revoked_at is null and (' ' || t.scopes || ' ') like '% cases:read %'
        and (t.own_cases = 0 or t.id = (select token_id from cases where id = :case_id))))
    order by w.id
"""


def fan_out(db, limit=200):
    """Turn events not yet fanned out into one pending delivery per eligible webhook; returns the events done.

    Run after each state change's commit, and by the delivery worker for events a crash left behind.
    """
    done = 0
    with write_transaction(db):
        events = list(db.query("select id, case_id, event, created_ts from webhook_events where fanned_out = 0 "
                               "order by id limit ?", [limit]))
        for event in events:
            for hook in list(db.query(ELIGIBLE, {"case_id": event["case_id"]})):
                db["webhook_deliveries"].insert({
                    "delivery_id": str(uuid.uuid4()), "webhook_id": hook["id"], "case_id": event["case_id"],
                    "event": event["event"], "event_id": event["id"], "payload": "", "status": "pending",
                    "attempts": 0, "created_ts": event["created_ts"], "next_attempt_ts": event["created_ts"],
                })
            db.execute("update webhook_events set fanned_out = 1 where id = ?", [event["id"]])
            done += 1
    return done


def _body(row):
    """The JSON body of a delivery: its event's data with the delivery id, the same on every retry."""
    if not row.get("event_payload"):
        return row["payload"]  # written before events were stored once
    body = {"delivery_id": row["delivery_id"], "event": row["event"], **json.loads(row["event_payload"])}
    return json.dumps(body, sort_keys=True)


def claim_due(db, now=None, limit=20, lease_seconds=60, *, key):
    """Lease up to ``limit`` due deliveries, each the oldest pending one of its webhook and case.

    A leased row is invisible to other senders until the lease ends, so two workers never send it
    at once; a sender that dies leaves it to be retried when the lease runs out. Each row's ``secret`` is
    unsealed with ``key``; it is None, with the reason in ``secret_error``, when that key cannot open it.
    """
    now = now_ts() if now is None else now
    with write_transaction(db):
        rows = list(db.query(
            """
            select d.*, w.url, w.secret, e.payload as event_payload
            from webhook_deliveries d join webhooks w on w.id = d.webhook_id
            left join webhook_events e on e.id = d.event_id
            left join api_tokens t on t.id = w.token_id
            where d.status = 'pending' and d.next_attempt_ts <= :now and w.active = 1
              and (w.token_id is null or t.revoked_at is null)
              and (d.locked_until is null or d.locked_until < :now)
              and not exists (select 1 from webhook_deliveries e where e.webhook_id = d.webhook_id
                              and e.case_id is d.case_id and e.status = 'pending' and e.id < d.id)
            order by d.id limit :limit
            """,
            {"now": now, "limit": limit},
        ))
        for row in rows:
            db.execute("update webhook_deliveries set locked_until = ? where id = ?", [now + lease_seconds, row["id"]])
            row["payload"] = _body(row)
            try:
                row["secret"] = unseal(key, row["secret"])
            except SecretUnreadable as exc:
                row["secret"], row["secret_error"] = None, str(exc)
    return rows


def backoff_seconds(attempts, base, cap):
    """The wait after the ``attempts``-th failed attempt: base, 2×base, 4×base, ... at most ``cap``."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def record_attempt(db, delivery, status_code=None, error=None, duration_ms=None, now=None, *, base, cap,
                   give_up_seconds):
    """Record one attempt at ``delivery`` (a row from :func:`claim_due`); a 2xx status ends it.

    On failure the next attempt is scheduled with :func:`backoff_seconds`, unless the delivery is already
    ``give_up_seconds`` old: then it is marked failed.
    :param base, cap, give_up_seconds: from the ``WEBHOOK_BACKOFF_*`` and ``WEBHOOK_GIVE_UP_HOURS`` settings.
    :return: the delivery's new status.
    """
    now = now_ts() if now is None else now
    attempts = delivery["attempts"] + 1
    ok = status_code is not None and 200 <= status_code < 300
    if ok:
        status, next_ts = "delivered", None
    elif now - delivery["created_ts"] >= give_up_seconds:
        status, next_ts = "failed", None
    else:
        status, next_ts = "pending", now + backoff_seconds(attempts, base, cap)
    # Immediate, not db.atomic(): the insert reads the schema first, and a deferred transaction that has
    # read is refused the write lock at once ("database is locked") while a request is writing.
    with write_transaction(db):
        db["webhook_attempts"].insert({"delivery_id": delivery["id"], "attempt": attempts, "at": iso(now),
                                       "status_code": status_code, "error": error, "duration_ms": duration_ms})
        # Only a row still pending changes: a webhook disabled meanwhile keeps its cancellation.
        db.execute(
            "update webhook_deliveries set status = ?, attempts = ?, next_attempt_ts = coalesce(?, next_attempt_ts),"
            " locked_until = null, delivered_ts = ?, last_status_code = ?, last_error = ?"
            " where id = ? and status = 'pending'",
            [status, attempts, next_ts, now if ok else None, status_code, error, delivery["id"]],
        )
    return status


def list_deliveries(db, webhook_id, status=None, limit=50):
    """A webhook's deliveries, newest first, each with its attempts."""
    where, args = "webhook_id = ?", [webhook_id]
    if status:
        where += " and status = ?"
        args.append(status)
    rows = list(db["webhook_deliveries"].rows_where(where, args, order_by="id desc", limit=limit))
    attempts = {}
    if rows:
        marks = ",".join("?" * len(rows))
        # Only fixed SQL and "?" placeholders are formatted in; every value is bound.
        for a in db.query(f"select * from webhook_attempts where delivery_id in ({marks}) order by id",  # nosec B608
                          [r["id"] for r in rows]):
            attempts.setdefault(a["delivery_id"], []).append(
                {k: a[k] for k in ("attempt", "at", "status_code", "error", "duration_ms")})
    return [{
        "delivery_id": r["delivery_id"], "case_id": r["case_id"], "event": r["event"], "status": r["status"],
        "attempts": r["attempts"], "created_at": iso(r["created_ts"]),
        "next_attempt_at": iso(r["next_attempt_ts"]) if r["status"] == "pending" else None,
        "delivered_at": iso(r["delivered_ts"]), "last_status_code": r["last_status_code"],
        "last_error": r["last_error"], "attempt_log": attempts.get(r["id"], []),
    } for r in rows]


def count_pending(db):
    """How many deliveries are still to be sent."""
    return db.execute("select count(*) from webhook_deliveries where status = 'pending'").fetchone()[0]
