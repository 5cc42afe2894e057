"""The e-mail outbox: events written with the change they announce, one e-mail row per recipient, settings.

An event row is written in the transaction that changes a case or adds a comment (storage/cases.py), so a
crash right after the commit loses nothing. Right after the commit (or, after a crash, on the sending
thread's next pass) notify/outbox.py turns each event into one row per recipient, keyed
``event:<id>:<e-mail>`` (a digest: ``digest:<day>:<e-mail>``), in the transaction that marks the event done:
a second fan-out or digest run inserts nothing. Rows are claimed with a lease, sent, and retried with
backoff like webhook deliveries.
"""

import json

from . import after_commit, audit, write_transaction
from .clock import now_iso, now_ts
from .webhooks import backoff_seconds

STATUSES = ("pending", "sent", "failed")
# What each event kind tells, and to whom (notify/outbox.py picks the people).
KINDS = ("submitted", "decision", "changes_requested", "comment", "digest")
# Kinds a user may turn off on the settings page, with the label it shows; decisions (approval, rejection, a
# request for changes) are always sent: the submitter must hear of them.
OPTIONAL = {"submitted": "A case is submitted for review", "comment": "Someone comments on a case of mine",
            "digest": "Daily digest of cases waiting longer than the review SLA"}
# Which state a case moves to makes which event.
STATE_EVENTS = {"submitted": "submitted", "approved": "decision", "rejected": "decision",
                "changes_requested": "changes_requested"}
REVIEWER_ROLES = ("reviewer", "admin")


def enabled():
    """True when e-mail is configured for the running app; without it no event is recorded."""
    from flask import current_app, has_app_context

    return has_app_context() and bool(current_app.config.get("SMTP_HOST"))


def record_event(db, case_id, kind, data, now=None):
    """Write a notification event; call inside the transaction that makes it. Returns its id, or None when
    e-mail is not configured."""
    if kind not in KINDS or not enabled():
        return None
    table = db["notification_events"]
    table.insert({"case_id": case_id, "kind": kind, "data": json.dumps(data, sort_keys=True),
                  "created_ts": now_ts() if now is None else now, "fanned_out": 0})
    after_commit(db, fan_out_now)
    return table.last_pk


def fan_out_now(db):
    """After the commit: pick the recipients while the case is as the event left it (the sending thread
    fans out what a crash left behind)."""
    from flask import current_app

    from notify.outbox import fan_out

    fan_out(db, current_app.config)


def record_state_change(db, case_id, to_state, actor):
    """The event a move to ``to_state`` makes, if any (see :data:`STATE_EVENTS`)."""
    kind = STATE_EVENTS.get(to_state)
    return record_event(db, case_id, kind, {"to_state": to_state, "actor": actor}) if kind else None


def pending_events(db, limit=200):
    """Events not yet fanned out, oldest first."""
    rows = db.query("select * from notification_events where fanned_out = 0 order by id limit ?", [limit])
    return [{**row, "data": json.loads(row["data"] or "{}")} for row in rows]


def mark_fanned_out(db, event_id):
    db.execute("update notification_events set fanned_out = 1 where id = ?", [event_id])


def enqueue(db, key, kind, case_id, recipient, subject, body, message_id, now=None):
    """Queue one e-mail unless one with ``key`` exists; returns True when queued."""
    now = now_ts() if now is None else now
    cursor = db.execute(
        "insert or ignore into notifications (key, kind, case_id, recipient, subject, body, message_id, status, "
        "attempts, created_ts, next_attempt_ts) values (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        [key, kind, case_id, recipient, subject, body, message_id, now, now])
    return cursor.rowcount == 1


def claim_due(db, now=None, limit=20, lease_seconds=60):
    """Lease up to ``limit`` due e-mails, oldest first; a sender that dies leaves them to the next lease."""
    now = now_ts() if now is None else now
    with write_transaction(db):
        rows = list(db.query("select * from notifications where status = 'pending' and next_attempt_ts <= :now "
                             "and (locked_until is null or locked_until < :now) order by id limit :limit",
                             {"now": now, "limit": limit}))
        for row in rows:
            db.execute("update notifications set locked_until = ? where id = ?", [now + lease_seconds, row["id"]])
    return rows


def record_attempt(db, row, error=None, permanent=False, now=None, base=30.0, cap=3600.0, give_up_seconds=172800.0):
    """Record one attempt at ``row`` (from :func:`claim_due`): no ``error`` means sent.

    A failure is retried after :func:`~storage.webhooks.backoff_seconds`, unless it is ``permanent`` (the
    server refused the address) or the e-mail is ``give_up_seconds`` old: then it is marked failed.
    :return: the row's new status.
    """
    now = now_ts() if now is None else now
    attempts = row["attempts"] + 1
    if error is None:
        status, next_ts = "sent", None
    elif permanent or now - row["created_ts"] >= give_up_seconds:
        status, next_ts = "failed", None
    else:
        status, next_ts = "pending", now + backoff_seconds(attempts, base, cap)
    with write_transaction(db):
        db.execute("update notifications set status = ?, attempts = ?, next_attempt_ts = coalesce(?, next_attempt_ts),"
                   " locked_until = null, sent_ts = ?, last_error = ? where id = ? and status = 'pending'",
                   [status, attempts, next_ts, now if error is None else None, error, row["id"]])
    return status


def list_notifications(db, status=None, limit=100):
    """Queued and sent e-mails, newest first."""
    where, args = ("status = ?", [status]) if status else (None, None)
    return list(db["notifications"].rows_where(where, args, order_by="id desc", limit=limit))


def get_settings(db, user_id):
    """``{kind: bool}`` for each kind in :data:`OPTIONAL`; on when the user never changed it."""
    rows = list(db["notification_settings"].rows_where("user_id = ?", [user_id]))
    return {kind: bool(rows[0][kind]) if rows else True for kind in OPTIONAL}


def save_settings(db, user_id, actor, choices):
    """Store which optional e-mails the user gets; kinds not in ``choices`` keep their setting."""
    with write_transaction(db):
        before = get_settings(db, user_id)
        after = {**before, **{k: bool(v) for k, v in choices.items() if k in OPTIONAL}}
        db["notification_settings"].upsert({"user_id": user_id, **{k: int(v) for k, v in after.items()},
                                            "updated_at": now_iso()}, pk="user_id")
        if after != before:
            audit.record(db, actor, "notification_settings", None, before, after)
    return after


def wants(db, user_id, kind):
    """True when the user gets e-mails of ``kind`` (always for kinds not in :data:`OPTIONAL`)."""
    return kind not in OPTIONAL or get_settings(db, user_id)[kind]


def active_user(db, user_id=None, email=None):
    """The active user with this id or e-mail, as ``{id, email, role}``, or None."""
    if user_id is not None:
        rows = list(db.query("select id, email, role from users where id = ? and active = 1", [user_id]))
    else:
        rows = list(db.query("select id, email, role from users where email = ? and active = 1",
                             [(email or "").strip().lower()]))
    return rows[0] if rows else None


def reviewers(db):
    """Every active user who may review (reviewers and admins), by e-mail."""
    marks = ", ".join("?" for _ in REVIEWER_ROLES)
    # Only fixed SQL and "?" placeholders are formatted in; every value is bound.
    return list(db.query(f"select id, email, role from users where active = 1 and role in ({marks}) "  # nosec B608
                         "order by email", list(REVIEWER_ROLES)))


def count_pending(db):
    """How many e-mails are still to be sent."""
    return db.execute("select count(*) from notifications where status = 'pending'").fetchone()[0]
