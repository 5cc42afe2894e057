"""Case records: created with their assessment, listed, commented on, and moved between states.

Every state change is written with its history row and its webhook event in the same transaction, so a
decision is never recorded without the notification that announces it; the event is fanned out to each
webhook's delivery row right after the commit (storage/webhooks.py).
"""

import base64
import binascii
import json
import sqlite3

from . import audit, json_column, notifications, webhooks, write_transaction
from .clock import now_iso
from .masking import mask
from .users import get_user_by_email

STATES = ("draft", "submitted", "in_review", "approved", "rejected", "changes_requested")
TRANSITIONS = {
    "draft": ("submitted",),
    "submitted": ("in_review",),
    "in_review": ("approved", "rejected", "changes_requested"),
    "changes_requested": ("submitted",),
}
EVENT = "case.state_changed"
_JSON_COLUMNS = ("classification", "answers", "facts", "assessment")
# Columns a state change may set that the audit row repeats (the rest is in the case itself).
AUDITED_COLUMNS = ("decision", "assignee_email")


class CaseError(ValueError):
    """A case operation that cannot be done as asked."""

    status = 400
    field = None


class CaseNotFound(CaseError):
    """No case has this id."""

    status = 404


class TransitionError(CaseError):
    """The case is not in a state from which the requested state can be reached."""

    status = 409


class VersionConflict(CaseError):
    """Someone else changed the case since the form was shown; nothing was saved."""

    status = 409


class IdempotencyConflict(CaseError):
    """The idempotency key was used before with a different request body."""

    status = 409


class BadCursor(CaseError):
    """The pagination cursor is not one this service handed out."""

    status = 422
    field = "cursor"


# What a webhook event adds to the case it carries, set by the API (see :func:`describe_cases_with`): storage
# keeps data, the API owns its URLs.
_event_extras = None


def describe_cases_with(extras):
    """Have each webhook event's case carry ``extras(case_id)`` too (the API's links), so receivers get the
    case as the API serves it."""
    global _event_extras
    _event_extras = extras


def _public(row, comments=None, history=None):
    case = {k: row.get(k) for k in ("id", "external_ref", "title", "description", "state", "submitter_email",
                                    "source", "created_at", "updated_at")}
    for column in _JSON_COLUMNS:
        case[column] = json_column(row.get(column))
    assessment = case["assessment"]
    case["risk_tier"] = assessment.get("tier") if isinstance(assessment, dict) else None
    if comments is not None:
        case["comments"] = comments
    if history is not None:
        case["history"] = history
    return case


def get_case(db, case_id):
    """The case with its comments and state history, or None."""
    rows = list(db["cases"].rows_where("id = ?", [case_id]))
    if not rows:
        return None
    comments = list(db.query("select id, case_id, author, body, created_at from case_comments "
                             "where case_id = ? order by id", [case_id]))
    history = list(db.query("select from_state, to_state, actor, note, at from case_history "
                            "where case_id = ? order by id", [case_id]))
    return _public(rows[0], comments, history)


def get_record(db, case_id):
    """Everything about a case for the web pages: the API view plus wizard, review and audit data, or None."""
    case = get_case(db, case_id)
    if case is None:
        return None
    row = db["cases"].get(case_id)
    case.update({
        "intake": json_column(row.get("intake"), {}), "step": row.get("step"), "version": row.get("version") or 0,
        "submitter_id": row.get("submitter_id"), "assignee_email": row.get("assignee_email"),
        "decision": json_column(row.get("decision")), "overrides": json_column(row.get("overrides"), {}),
        "submitted_at": row.get("submitted_at"), "audit": audit.entries(db, case_id),
    })
    return case


def list_for_submitter(db, user_id):
    """A submitter's cases, newest change first."""
    return list(db.query("select id, title, state, step, created_at, updated_at from cases "
                         "where submitter_id = ? order by updated_at desc, id desc", [user_id]))


def _record_change(db, case_id, from_state, to_state, actor, note, at):
    db["case_history"].insert({"case_id": case_id, "from_state": from_state, "to_state": to_state,
                               "actor": actor, "note": note, "at": at})
    webhooks.record_event(db, case_id, EVENT, {"from_state": from_state, "to_state": to_state, "actor": actor,
                                          "note": note, "at": at, "case": _event_case(db, case_id)})
    notifications.record_state_change(db, case_id, to_state, actor)


def _event_case(db, case_id):
    case = get_case(db, case_id)
    return {**case, **_event_extras(case_id)} if _event_extras else case


def find_idempotent(db, token_id, key, request_hash):
    """The case created earlier with this token and key, or None.

    :raises IdempotencyConflict: when the key was used with another request body.
    """
    rows = list(db["api_idempotency"].rows_where("token_id = ? and key = ?", [token_id, key]))
    if not rows:
        return None
    if rows[0]["request_hash"] != request_hash:
        raise IdempotencyConflict("This Idempotency-Key was already used with a different request body.")
    return get_case(db, rows[0]["case_id"])


def create_case(db, *, title, description, external_ref, submitter_email, classification, answers, facts,
                assessment, actor, token_id=None, source="api", idempotency=None, embedding=None):
    """Store a submitted case with its assessment; returns ``(case, created)``.

    :param idempotency: ``(key, request_hash)``: a retry with the same key and body returns the first case
        with ``created`` False.
    :param embedding: the ``embedding`` and ``embedding_model`` columns, for finding similar cases.
    :raises IdempotencyConflict: the key was used with another body.
    """
    user = get_user_by_email(db, submitter_email) if submitter_email else None
    description = mask(description)
    now = now_iso()
    try:
        with write_transaction(db):
            if idempotency:
                existing = find_idempotent(db, token_id, *idempotency)
                if existing is not None:
                    return existing, False
            table = db["cases"]
            table.insert({
                "title": title, "description": description, "state": "submitted", "external_ref": external_ref,
                "submitter_email": submitter_email, "submitter_id": user["id"] if user else None,
                "classification": json.dumps(classification), "answers": json.dumps(answers or {}),
                "facts": json.dumps(facts), "assessment": json.dumps(assessment), "source": source,
                "token_id": token_id, "created_at": now, "updated_at": now, **(embedding or {}),
            })
            case_id = table.last_pk
            if idempotency:
                db["api_idempotency"].insert({"token_id": token_id, "key": idempotency[0],
                                              "request_hash": idempotency[1], "case_id": case_id,
                                              "created_at": now})
            audit.record(db, actor, "state", case_id, {"state": "draft"}, {"state": "submitted"})
            _record_change(db, case_id, "draft", "submitted", actor, None, now)
    except sqlite3.IntegrityError:
        # Another request with the same key won the race; answer as a retry of it.
        existing = find_idempotent(db, token_id, *idempotency) if idempotency else None
        if existing is None:
            raise
        return existing, False
    return get_case(db, case_id), True


def set_state(db, case_id, new_state, actor, note=None, version=None, changes=None):
    """Move a case to ``new_state`` and queue a webhook delivery for it, in one transaction.

    :param version: the case version the caller saw; when given, a case changed since is refused.
    :param changes: other columns to set in the same update (e.g. the decision).
    :raises CaseNotFound: no such case.
    :raises TransitionError: ``new_state`` cannot be reached from the case's state.
    :raises VersionConflict: the case's version is no longer ``version``.
    """
    if new_state not in STATES:
        raise CaseError(f"Unknown state {new_state!r}: choose from {', '.join(STATES)}.")
    note = mask(note)
    with write_transaction(db):
        rows = list(db.query("select state, version from cases where id = ?", [case_id]))
        if not rows:
            raise CaseNotFound(f"No case {case_id}.")
        old = rows[0]["state"]
        check_version(rows[0], version)
        if new_state not in TRANSITIONS.get(old, ()):
            allowed = ", ".join(TRANSITIONS.get(old, ())) or "none (final)"
            raise TransitionError(f"A {old} case cannot become {new_state}; allowed: {allowed}.")
        now = now_iso()
        extra = dict(changes or {})
        if new_state == "submitted":
            extra["submitted_at"] = now
        sets = "".join(f", {column} = ?" for column in extra)
        # Column names come from our callers' code, never from input; every value is bound.
        db.execute(f"update cases set state = ?, updated_at = ?, version = coalesce(version, 0) + 1{sets} "
                   "where id = ?", [new_state, now, *extra.values(), case_id])  # nosec B608
        audited = {k: json_column(v) if k == "decision" else v for k, v in extra.items() if k in AUDITED_COLUMNS}
        audit.record(db, actor, "state", case_id, {"state": old}, {"state": new_state, "note": note, **audited})
        _record_change(db, case_id, old, new_state, actor, note, now)
    return get_case(db, case_id)


def check_version(row, version):
    """Refuse with :class:`VersionConflict` when the case moved on since the caller read ``version``."""
    if version is not None and (row.get("version") or 0) != int(version):
        raise VersionConflict("Someone else changed this case while you were looking at it; nothing was saved. "
                              "Read the case as it is now and try again.")


def token_of(db, case_id):
    """The id of the API token that created the case, or None."""
    rows = list(db.query("select token_id from cases where id = ?", [case_id]))
    return rows[0]["token_id"] if rows else None


def add_comment(db, case_id, body, author, token_id=None, user_id=None, actor=None):
    """Add a comment to a case and return it.

    :param actor: who the audit row names (default ``author``).
    :raises CaseNotFound: no such case.
    """
    now = now_iso()
    body = mask(body)
    with write_transaction(db):
        if not list(db.query("select 1 from cases where id = ?", [case_id])):
            raise CaseNotFound(f"No case {case_id}.")
        table = db["case_comments"]
        table.insert({"case_id": case_id, "author": author, "body": body, "token_id": token_id,
                      "user_id": user_id, "created_at": now})
        comment_id = table.last_pk
        notifications.record_event(db, case_id, "comment", {"author": author, "user_id": user_id,
                                                            "token_id": token_id, "comment_id": comment_id})
        db.execute("update cases set updated_at = ? where id = ?", [now, case_id])
        audit.record(db, actor or author, "comment", case_id, None,
                     {"comment_id": comment_id, "body": body, "author": author, "token_id": token_id})
    row = db["case_comments"].get(comment_id)
    return {k: row[k] for k in ("id", "case_id", "author", "body", "created_at")}


def encode_cursor(row):
    """An opaque cursor that resumes a listing after ``row``."""
    raw = json.dumps([row["updated_at"] or "", row["id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    """The ``(updated_at, id)`` a cursor points after.

    :raises BadCursor: the cursor was not made by :func:`encode_cursor`.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, case_id = json.loads(raw)
        if isinstance(updated_at, str) and isinstance(case_id, int) and not isinstance(case_id, bool):
            return updated_at, case_id
    except (ValueError, TypeError, binascii.Error):
        pass
    raise BadCursor("The cursor is not valid: pass the next_cursor of a previous page unchanged.")


def list_cases(db, state=None, external_ref=None, updated_since=None, cursor=None, limit=50, token_id=None,
               drafts=True):
    """Cases in order of last update, oldest first; returns ``(cases, next_cursor)``.

    :param updated_since: an ISO 8601 UTC timestamp; only cases updated at or after it.
    :param cursor: from a previous call, to get the next page.
    :param token_id: only the cases this API token created.
    :param drafts: include drafts (web users' unfinished answers).
    :raises BadCursor: on a cursor this service did not make.
    """
    where, args = [], []
    if not drafts:
        where.append("state != 'draft'")
    if token_id is not None:
        where.append("token_id = ?")
        args.append(token_id)
    if state:
        where.append("state = ?")
        args.append(state)
    if external_ref:
        where.append("external_ref = ?")
        args.append(external_ref)
    if updated_since:
        where.append("coalesce(updated_at, '') >= ?")
        args.append(updated_since)
    if cursor:
        where.append("(coalesce(updated_at, ''), id) > (?, ?)")
        args.extend(decode_cursor(cursor))
    sql = "select * from cases"
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by coalesce(updated_at, ''), id limit ?"
    rows = list(db.query(sql, [*args, limit + 1]))
    more = len(rows) > limit
    rows = rows[:limit]
    summaries = []
    for row in rows:
        case = _public(row)
        summaries.append({k: case[k] for k in ("id", "external_ref", "title", "state", "risk_tier",
                                               "created_at", "updated_at")})
    return summaries, encode_cursor(rows[-1]) if more else None
