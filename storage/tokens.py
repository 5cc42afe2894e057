"""API tokens: a name, scopes and a SHA-256 of the token; the token itself is shown once."""

import datetime
import hashlib
import secrets

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
    return out


def create_token(db, name, scopes):
    """Create a token; returns ``(token, record)``. Only the record is stored, with a hash of the token.

    :raises TokenError: on an empty name or unknown scopes.
    """
    name = (name or "").strip()
    if not name:
        raise TokenError("A token needs a name.")
    scopes = parse_scopes(scopes)
    token = PREFIX + secrets.token_urlsafe(32)
    table = db["api_tokens"]
    table.insert({"name": name, "prefix": token[:12], "token_hash": hash_token(token),
                  "scopes": " ".join(scopes), "created_at": now_iso()})
    return token, _public(table.get(table.last_pk))


def find_token(db, token):
    """The active (not revoked) token record for ``token``, or None."""
    if not token:
        return None
    rows = list(db["api_tokens"].rows_where("token_hash = ? and revoked_at is null", [hash_token(token)]))
    return _public(rows[0]) if rows else None


def touch(db, record):
    """Note that ``record`` was used, at most once a minute."""
    last = record.get("last_used_at")
    now = datetime.datetime.now(datetime.UTC)
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


def revoke_token(db, id_or_name):
    """Revoke the token with this id, or every active token with this name; returns how many.

    :raises TokenError: when no active token matches.
    """
    where, args = "name = ?", [str(id_or_name)]
    if str(id_or_name).isdigit():
        where, args = "(id = ? or name = ?)", [int(id_or_name), str(id_or_name)]
    # ``where`` is one of the two fixed clauses above; the id or name is bound.
    cursor = db.execute(f"update api_tokens set revoked_at = ? where {where} and revoked_at is null",  # nosec B608
                        [now_iso(), *args])
    if not cursor.rowcount:
        raise TokenError(f"No active token {id_or_name!r}.")
    return cursor.rowcount


def count_use(db, token_id, endpoint):
    """Add one to the token's counter for ``endpoint`` today: all that POST /classify stores."""
    day = datetime.datetime.now(datetime.UTC).date().isoformat()
    # A counter is not worth an fsync per request: in WAL mode NORMAL still never corrupts the database,
    # it only may lose the last few increments on power loss. The setting lasts for this connection.
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "insert into api_usage (token_id, day, endpoint, count) values (?, ?, ?, 1) "
        "on conflict (token_id, day, endpoint) do update set count = count + 1",
        [token_id, day, endpoint],
    )
