"""Request limits shared by every worker process: fixed-window counters kept in the database.

An in-memory limiter counts per gunicorn worker, so N workers allow N times the limit; a row per key here is
seen by all of them. Limits are written as Flask-Limiter writes them ("300 per minute", "30/minute").
"""

import math

from limits import parse

from . import clock, write_transaction

# Counters whose window ended this long ago are deleted when a new window starts.
KEEP_SECONDS = 86400


class LimitError(ValueError):
    """A limit setting that cannot be read."""


def parse_limit(text):
    """``(amount, seconds)`` of a limit such as ``"300 per minute"``.

    :raises LimitError: when the text is not a limit.
    """
    try:
        item = parse(str(text))
    except ValueError as exc:
        raise LimitError(f"{text!r} is not a rate limit such as '300 per minute': {exc}") from None
    return item.amount, item.get_expiry()


def hit(db, key, limit, now=None):
    """Count one request under ``key`` against ``limit``; returns 0 when allowed, else the seconds to wait.

    :param limit: a limit string (see :func:`parse_limit`); an empty one allows everything.
    """
    if not limit:
        return 0
    amount, seconds = parse_limit(limit)
    now = clock.now_ts() if now is None else now
    window = math.floor(now / seconds) * seconds
    with write_transaction(db):
        db.execute(
            "insert into rate_counters (key, window_start, count) values (?, ?, 1) on conflict (key) do update set "
            "count = case when window_start = excluded.window_start then count + 1 else 1 end, "
            "window_start = excluded.window_start", [key, window])
        count = db.execute("select count from rate_counters where key = ?", [key]).fetchone()[0]
        if count == 1:
            db.execute("delete from rate_counters where window_start < ?", [now - KEEP_SECONDS])
    if count > amount:
        return max(1, math.ceil(window + seconds - now))
    return 0
