"""Failed sign-in counters per e-mail and per client address, shared by every worker through the database.

After ``max_failures`` failures for one key within ``window_seconds`` of the first, the key is locked for
``lockout_seconds``: sign-ins for it are refused without checking the password. Keys are stored as SHA-256
digests, so the table keeps no typed e-mail addresses. Rows are pruned once their window and lockout are over.
"""

import dataclasses
import hashlib
import math

from . import clock, write_transaction

# What a failure counter is kept per (the column is still named scope); API token scopes are storage.tokens.SCOPES.
KEY_KINDS = ("email", "address")


@dataclasses.dataclass(frozen=True)
class Limits:
    """How many failures lock a key, within what window, and for how long (seconds)."""

    max_failures: int = 5
    max_failures_per_address: int = 20
    window_seconds: float = 900
    lockout_seconds: float = 900

    @classmethod
    def from_config(cls, config):
        """The limits set by the ``LOGIN_*`` settings in ``config``."""
        return cls(
            max_failures=int(config["LOGIN_MAX_FAILURES"]),
            max_failures_per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
            window_seconds=float(config["LOGIN_WINDOW_SECONDS"]),
            lockout_seconds=float(config["LOGIN_LOCKOUT_SECONDS"]),
        )

    def threshold(self, scope):
        """The failures that lock a key of ``scope``; 0 or less never locks."""
        return self.max_failures if scope == "email" else self.max_failures_per_address


def _digest(scope, value):
    # E-mails compare case-insensitively, as at sign-in; addresses are taken as given.
    value = (value or "").strip().lower() if scope == "email" else (value or "")
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def _keys(email, address):
    return {"email": _digest("email", email), "address": _digest("address", address)}


def locked_for(db, email, address, now=None):
    """Seconds until ``email`` and ``address`` may try again (rounded up); 0 when neither is locked."""
    now = clock.now_ts() if now is None else now
    keys = _keys(email, address)
    rows = list(db.query(
        "select max(locked_until) as until from login_attempts "
        "where (scope = 'email' and key = ?) or (scope = 'address' and key = ?)",
        [keys["email"], keys["address"]],
    ))
    return max(0, math.ceil((rows[0]["until"] or 0) - now))


def record_failure(db, email, address, limits, now=None):
    """Count one failed sign-in against ``email`` and ``address`` and prune expired counters.

    :return: seconds until either may try again; 0 when this failure did not lock them.
    """
    now = clock.now_ts() if now is None else now
    with write_transaction(db):
        for scope, key in _keys(email, address).items():
            _count(db, scope, key, limits, now)
        db.execute(
            "delete from login_attempts where window_start <= ? and locked_until <= ?",
            [now - limits.window_seconds, now],
        )
    return locked_for(db, email, address, now)


def reserve(db, email, address, limits, now=None):
    """Before checking a password: refuse a locked ``email`` or ``address``, else count the attempt as failed.

    Checking the lock and counting happen in one write transaction, before the slow password check: checked
    first and counted after it, concurrent attempts all passed the check before any was counted. A sign-in
    that then succeeds takes its count back with :func:`forgive`.
    :return: seconds until either may try again; 0 when this attempt may check its password.
    """
    now = clock.now_ts() if now is None else now
    with write_transaction(db):
        wait = locked_for(db, email, address, now)
        if wait:
            return wait
        for scope, key in _keys(email, address).items():
            _count(db, scope, key, limits, now)
        db.execute(
            "delete from login_attempts where window_start <= ? and locked_until <= ?",
            [now - limits.window_seconds, now],
        )
    return 0


def forgive(db, email, address, limits):
    """After a successful sign-in: forget the e-mail's failures and take back the attempt counted against
    the address by :func:`reserve` (and the lock it may have set)."""
    keys = _keys(email, address)
    with write_transaction(db):
        db.execute("delete from login_attempts where scope = 'email' and key = ?", [keys["email"]])
        db.execute("update login_attempts set failures = max(0, failures - 1), "
                   "locked_until = case when failures - 1 < ? then 0 else locked_until end "
                   "where scope = 'address' and key = ?", [limits.threshold("address"), keys["address"]])


def _count(db, scope, key, limits, now):
    threshold = limits.threshold(scope)
    if threshold <= 0:
        return
    rows = list(db.query("select * from login_attempts where scope = ? and key = ?", [scope, key]))
    row = rows[0] if rows else None
    if row and row["locked_until"] > now:
        # Already locked (another worker got here first): the lockout is not extended.
        return
    if row is None or row["window_start"] <= now - limits.window_seconds or row["locked_until"]:
        # A new window, or the first failure after a lockout ended: start counting again.
        failures, start = 1, now
    else:
        failures, start = row["failures"] + 1, row["window_start"]
    locked_until = now + limits.lockout_seconds if failures >= threshold else 0
    db.execute(
        "insert into login_attempts (scope, key, failures, window_start, locked_until) values (?, ?, ?, ?, ?) "
        "on conflict (scope, key) do update set failures = excluded.failures, "
        "window_start = excluded.window_start, locked_until = excluded.locked_until",
        [scope, key, failures, start, locked_until],
    )


def clear(db, email):
    """Forget the failures counted against ``email`` (after it signed in)."""
    db.execute("delete from login_attempts where scope = 'email' and key = ?", [_digest("email", email)])


def count_rows(db):
    """How many counters are stored (expired ones are pruned on the next failure)."""
    return db["login_attempts"].count
