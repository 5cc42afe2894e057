"""The append-only audit trail: who did what to which case, each row chained to the one before.

A row's ``hash`` is the SHA-256 of the previous row's hash and the row's own fields, so editing or
deleting any row but the newest breaks the chain at that point, and :func:`verify` finds it. A head row,
kept by a trigger on every insert, records the newest row, so cutting rows off the end shows too. Triggers
refuse UPDATE and DELETE through SQL; the chain is what catches edits made to the file by other means.
Someone able to rewrite the file could rebuild the whole tail and its head: `flask audit verify` prints the
head's hash so it can be kept elsewhere (a ticket, a log) and compared later.
"""

import hashlib
import json

from . import write_transaction
from .clock import now_iso

GENESIS = "0" * 64
_FIELDS = ("at", "actor", "action", "case_id", "before", "after")


def _dump(value):
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def row_hash(prev_hash, row):
    """The hash a row must carry, given the previous row's hash."""
    material = json.dumps([prev_hash, *(row.get(k) for k in _FIELDS)], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def record(db, actor, action, case_id=None, before=None, after=None):
    """Append one audit row; call inside the write transaction of the change it records."""
    last = list(db.query("select hash from audit order by id desc limit 1"))
    prev = last[0]["hash"] if last else GENESIS
    row = {"at": now_iso(), "actor": actor, "action": action, "case_id": case_id,
           "before": _dump(before), "after": _dump(after)}
    db["audit"].insert({**row, "prev_hash": prev, "hash": row_hash(prev, row)})


def entries(db, case_id):
    """The audit rows of one case, oldest first, with ``before``/``after`` decoded."""
    rows = list(db.query("select * from audit where case_id = ? order by id", [case_id]))
    for row in rows:
        for key in ("before", "after"):
            row[key] = json.loads(row[key]) if row[key] else None
    return rows


def head(db):
    """The newest row the trail should end with: ``{"last_id", "hash"}``, or None before the first row."""
    rows = list(db.query("select last_id, hash from audit_head where id = 1"))
    return rows[0] if rows else None


def record_now(db, actor, action, case_id=None, before=None, after=None):
    """Append one audit row in a write transaction of its own (for actions outside any other transaction)."""
    with write_transaction(db):
        record(db, actor, action, case_id, before, after)


def verify(db):
    """Check the whole chain and its head; returns a list of problems (empty when intact)."""
    problems, prev, expected_id = [], GENESIS, None
    last = None
    for row in db.query("select * from audit order by id"):
        last = row
        if expected_id is not None and row["id"] != expected_id:
            problems.append(f"rows {expected_id}..{row['id'] - 1} are missing (deleted)")
        if row["prev_hash"] != prev:
            problems.append(f"row {row['id']}: does not follow the row before it (a row was deleted or edited)")
        if row_hash(row["prev_hash"], row) != row["hash"]:
            problems.append(f"row {row['id']}: its content does not match its hash (edited)")
        prev, expected_id = row["hash"], row["id"] + 1
    problems.extend(_check_head(head(db), last))
    return problems


def _check_head(recorded, last):
    if recorded is None:
        return [] if last is None else ["the head row is missing (deleted)"]
    if last is None:
        return [f"the trail is empty but its head records row {recorded['last_id']} (deleted)"]
    if last["id"] < recorded["last_id"]:
        return [f"the newest rows are missing: the trail ends at row {last['id']}, "
                f"its head records row {recorded['last_id']} (deleted)"]
    if last["id"] != recorded["last_id"] or last["hash"] != recorded["hash"]:
        return [f"the head records row {recorded['last_id']} but the trail ends at row {last['id']} (edited)"]
    return []


def check_anchor(db, expected):
    """Problems when the trail does not reach the head hash ``expected``, recorded outside the database.

    The trail may have grown since: the anchor must then be one of its rows, with the chain intact after it.
    Someone who rewrote the file could rebuild a consistent chain, but not one through a hash kept elsewhere.
    """
    expected = (expected or "").strip().lower()
    rows = list(db.query("select id from audit where hash = ?", [expected]))
    if not rows:
        return [f"no audit row has the expected head hash {expected}: the trail was rewritten or is from "
                "another database"]
    return []
