"""API tokens: a name, scopes and a SHA-256 of the token; the token itself is shown once."""

import datetime
import hashlib
import secrets

from . import audit, clock, write_transaction
from .clock import now_iso

SCOPES = ("classify", "cases:read", "cases:write", "webhooks")
PREFIX = "itk_"
# last_used_at is refreshed at most this often, so a busy token does not write on every request.
TOUCH_SECONDS = 60


class TokenError(ValueError):
    """A token could not be created or revoked as asked."""

    status = 400


def hash_token(token):
    """The stored form of ``token``: tokens are long and random, so a plain SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(scopes):
    """Scopes from a comma- or space-separated string or a list, in canonical order.

    :raises TokenError: when a scope is unknown or none is given.
    """
    items = scopes.replace(",", " ").split() if isinstance(scopes, str) else list(scopes or ())
    unknown = [s for s in items if s not in SCOPES]
    if unknown:
        raise TokenError(f"Unknown scope {unknown[0]!r}: choose from {', '.join(SCOPES)}.")
    if not items:
        raise TokenError(f"Give at least one scope: {', '.join(SCOPES)}.")
    return [s for s in SCOPES if s in items]


def _public(row):
    out = {k: v for k, v in row.items() if k != "token_hash"}
    out["scopes"] = row["scopes"].split()
    out["own_cases"] = bool(row.get("own_cases"))
    return out


def create_token(db, name, scopes, own_cases=False, actor="cli"):
    """Create a token; returns ``(token, record)``. Only the record is stored, with a hash of the token.

    :param own_cases: limit the token to the cases it created: reads, comments and webhook deliveries.
    :param actor: who the audit row names.
    :raises TokenError: on an empty name or unknown scopes.
    """
    name = (name or "").strip()
    if not name:
        raise TokenError("A token needs a name.")
    scopes = parse_scopes(scopes)
    token = PREFIX + secrets.token_urlsafe(32)
    with write_transaction(db):
        table = db["api_tokens"]
        table.insert({"name": name, "prefix": token[:12], "token_hash": hash_token(token),
                      "scopes": " ".join(scopes), "created_at": now_iso(), "own_cases": int(bool(own_cases))})
        record = _public(table.get(table.last_pk))
        audit.record(db, actor, "create_token", after={k: record[k] for k in ("id", "name", "scopes", "own_cases")})
    return token, record


def find_token(db, token):
    """The active (not revoked) token record for ``token``, or None."""
    if not token:
        return None
    rows = list(db["api_tokens"].rows_where("token_hash = ? and revoked_at is null", [hash_token(token)]))
    return _public(rows[0]) if rows else None


def touch(db, record):
    """Note that ``record`` was used, at most once a minute."""
    last = record.get("last_used_at")
    now = clock.now()
    if last and (now - datetime.datetime.fromisoformat(last)).total_seconds() < TOUCH_SECONDS:
        return
    db.execute("update api_tokens set last_used_at = ? where id = ?", [now.isoformat(timespec="seconds"),
                                                                        record["id"]])


def list_tokens(db):
    """Every token record, oldest first, with its request counts."""
    usage = {row["token_id"]: row["n"] for row in db.query(
        "select token_id, sum(count) as n from api_usage group by token_id")}
    return [dict(_public(row), requests=usage.get(row["id"], 0))
            for row in db["api_tokens"].rows_where(order_by="id")]


def revoke_token(db, id_or_name, actor="cli"):
    """Revoke the token with this id, or every active token with this name, and stop their webhooks.

    :return: how many tokens were revoked.

    :raises TokenError: when no active token matches.
    """
    where, args = "name = ?", [str(id_or_name)]
    if str(id_or_name).isdigit():
        where, args = "(id = ? or name = ?)", [int(id_or_name), str(id_or_name)]
    now = now_iso()
    with write_transaction(db):
        # ``where`` is one of the two fixed clauses above; the id or name is bound.
        ids = [row["id"] for row in db.query(f"select id from api_tokens where {where} "  # nosec B608
                                             "and revoked_at is null", args)]
        if not ids:
            raise TokenError(f"No active token {id_or_name!r}.")
        marks = ", ".join("?" for _ in ids)
        # Only "?" placeholders are formatted in. A revoked token's webhooks stop with it, in the same
        # transaction: otherwise a leaked token would keep receiving every case, and nobody could delete
        # its webhooks through the API any more.
        db.execute(f"update api_tokens set revoked_at = ? where id in ({marks})", [now, *ids])  # nosec B608
        db.execute(f"update webhook_deliveries set status = 'cancelled', locked_until = null where status = "  # nosec B608
                   f"'pending' and webhook_id in (select id from webhooks where token_id in ({marks}))", ids)
        db.execute(f"update webhooks set active = 0, disabled_at = ? where active = 1 and token_id in ({marks})",  # nosec B608
                   [now, *ids])
        audit.record(db, actor, "revoke_token", after={"ids": ids})
    return len(ids)


def count_use(db, token_id, endpoint):
    """Add one to the token's counter for ``endpoint`` today: all that POST /classify stores."""
    day = clock.now().date().isoformat()
    # A counter is not worth an fsync per request: in WAL mode NORMAL still never corrupts the database,
    # it only may lose the last few increments on power loss. The setting lasts for this connection.
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "insert into api_usage (token_id, day, endpoint, count) values (?, ?, ?, 1) "
        "on conflict (token_id, day, endpoint) do update set count = count + 1",
        [token_id, day, endpoint],
    )


def used_today(db, token_id, endpoints):
    """How many requests the token made today (UTC) to ``endpoints``, as counted by :func:`count_use`."""
    day = clock.now().date().isoformat()
    marks = ", ".join("?" for _ in endpoints)
    # Only "?" placeholders are formatted in; every value is bound.
    return db.execute(f"select coalesce(sum(count), 0) from api_usage where token_id = ? and day = ? "  # nosec B608
                      f"and endpoint in ({marks})", [token_id, day, *endpoints]).fetchone()[0]
