"""Timestamps as every table stores them."""

import datetime


def now_iso():
    """The current UTC time as ISO 8601 to the second, e.g. ``2026-11-22T02:30:00+00:00``."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
