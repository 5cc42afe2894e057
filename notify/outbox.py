"""From events to e-mails: who hears of each event, the daily digest, and sending what is due.

Every step is safe to repeat and to run in several processes at once: the fan-out of an event and its
marking happen in one transaction, each e-mail row has a unique key, and rows are sent under a lease.
"""

import contextlib
import datetime
import logging
import time

from storage import notifications as outbox
from storage import reviews, write_transaction

from . import messages, smtp
from .sla import AWAITING_REVIEW, over

log = logging.getLogger(__name__)
# E-mails claimed at a time by one sender.
BATCH = 20


def _case(db, case_id):
    rows = list(db.query("select id, title, external_ref, submitter_id, submitter_email, assignee_email "
                         "from cases where id = ?", [case_id]))
    return rows[0] if rows else None


def recipients(db, event, case):
    """The users ``event`` concerns, each at most once, without whoever caused it and without anyone who
    turned this kind of e-mail off.

    A submission goes to the case's reviewer, or to every reviewer and admin while nobody holds it; a
    decision or a request for changes to the submitter; a comment to the other side from its author.
    """
    kind, data = event["kind"], event["data"]
    submitter = _submitter(db, case)
    holder = outbox.active_user(db, email=case["assignee_email"]) if case["assignee_email"] else None
    review_side = [holder] if holder else outbox.reviewers(db)
    if submitter:
        review_side = [p for p in review_side if p["id"] != submitter["id"]]
    if kind == "submitted":
        people = review_side
    elif kind == "comment":
        people = review_side if from_submitter(data, case, submitter) else [submitter]
    else:
        people = [submitter]
    actor = (data.get("actor") or data.get("author") or "").strip().lower()
    chosen, seen = [], set()
    for person in people:
        if person is None or person["email"] in seen or person["email"] == actor:
            continue
        if data.get("user_id") is not None and person["id"] == data["user_id"]:
            continue
        seen.add(person["email"])
        if outbox.wants(db, person["id"], kind):
            chosen.append(person)
    return chosen


def _submitter(db, case):
    """The submitter's active account: the one the case names, else the one with the submitter's e-mail."""
    if case["submitter_id"]:
        return outbox.active_user(db, user_id=case["submitter_id"])
    return outbox.active_user(db, email=case["submitter_email"])


def from_submitter(data, case, submitter):
    """True when a comment was written by the case's submitter (by account, or by the e-mail an API client
    named as the submitter)."""
    if submitter and data.get("user_id") is not None:
        return data["user_id"] == submitter["id"]
    author = (data.get("author") or "").strip().lower()
    return bool(author) and author == (case["submitter_email"] or "").strip().lower()


def fan_out(db, config, limit=200):
    """Turn pending events into one queued e-mail per recipient; returns how many events were done."""
    done = 0
    with write_transaction(db):
        for event in outbox.pending_events(db, limit):
            case = _case(db, event["case_id"])
            if case is not None:
                subject, body = messages.compose(
                    event["kind"], case, config, to_state=event["data"].get("to_state"),
                    from_submitter=from_submitter(event["data"], case, _submitter(db, case)))
                for person in recipients(db, event, case):
                    key = f"event:{event['id']}:{person['email']}"
                    outbox.enqueue(db, key, event["kind"], case["id"], person["email"], subject, body,
                                   smtp.message_id(config, key), now=event["created_ts"])
            outbox.mark_fanned_out(db, event["id"])
            done += 1
    return done


def over_sla(db, config, now=None):
    """Cases waiting for a reviewer longer than ``REVIEW_SLA_DAYS``, oldest first."""
    now = now or datetime.datetime.now(datetime.UTC)
    sla = config["REVIEW_SLA_DAYS"]
    return [c for c in reviews.queue(db, states=AWAITING_REVIEW, now=now) if over(c["waiting"], sla)]


def enqueue_digest(db, config, now=None):
    """Queue today's digest (UTC) for each reviewer and admin who wants it, if any case is over the SLA.

    Each recipient gets at most one digest a day however often this runs, from any process.
    :return: ``(queued, cases)``: how many digests were queued now, and the cases they list.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    day = now.date().isoformat()
    with write_transaction(db):
        cases = over_sla(db, config, now)
        if not cases:
            return 0, cases
        subject, body = messages.compose_digest(cases, config, day)
        queued = 0
        for person in outbox.reviewers(db):
            if outbox.wants(db, person["id"], "digest"):
                key = f"digest:{day}:{person['email']}"
                queued += outbox.enqueue(db, key, "digest", None, person["email"], subject, body,
                                         smtp.message_id(config, key), now=now.timestamp())
    return queued, cases


def send_due(db, config, now=None, max_rounds=50):
    """Send every e-mail due at ``now`` (default: the clock) over one SMTP connection per batch.

    :return: ``{"sent": n, "failed_attempts": n, "given_up": n}``.
    """
    stats = {"sent": 0, "failed_attempts": 0, "given_up": 0}
    timeout = float(config["SMTP_TIMEOUT_SECONDS"])
    for _ in range(max_rounds):
        clock = time.time() if now is None else now
        # The lease outlasts the batch (each conversation ends by its timeout), so no other sender takes a
        # row this one is still sending.
        claimed = outbox.claim_due(db, clock, limit=BATCH, lease_seconds=BATCH * (timeout + 1) + 30)
        if not claimed:
            break
        conn, down = None, None
        try:
            for row in claimed:
                # Once the server cannot be reached, the rest of the batch waits for the next attempt
                # instead of each waiting out its own connection timeout.
                error, permanent = down, False
                try:
                    if down is None:
                        conn = conn or smtp.connect(config)
                        conn.send_message(smtp.build(row, config))
                except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
                    error, permanent, lost = smtp.failure(exc)
                    log.warning("e-mail %s failed: %s", row["id"], error)
                    if conn is None:
                        down = error
                    elif lost:
                        with contextlib.suppress(OSError):
                            conn.close()
                        conn = None
                status = outbox.record_attempt(
                    db, row, error, permanent, now=now,
                    base=float(config["NOTIFY_BACKOFF_SECONDS"]),
                    cap=float(config["NOTIFY_BACKOFF_MAX_SECONDS"]),
                    give_up_seconds=float(config["NOTIFY_GIVE_UP_HOURS"]) * 3600)
                if status == "sent":
                    stats["sent"] += 1
                else:
                    stats["failed_attempts"] += 1
                    stats["given_up"] += status == "failed"
        finally:
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.quit()
    return stats


def run_once(db, config, now=None):
    """One pass of the sender: fan out events, then send what is due; returns :func:`send_due`'s counts."""
    while fan_out(db, config):
        pass
    return send_due(db, config, now)
