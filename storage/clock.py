"""The clock every storage module reads: timestamps as the tables store them, and seconds for the counters.

One source (:func:`now`), so a test that sets it moves every stored time together.
"""

import datetime


def now():
    """The current UTC time."""
    return datetime.datetime.now(datetime.UTC)


def now_iso():
    """The current UTC time as ISO 8601 to the second, e.g. ``2026-11-22T02:30:00+00:00``."""
    return now().isoformat(timespec="seconds")


def now_ts():
    """The current time as seconds since the epoch (the sign-in counters, rate limits and webhook outbox)."""
    return now().timestamp()


def iso(ts):
    """Seconds since the epoch as :func:`now_iso` writes them; None stays None."""
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(timespec="seconds")
