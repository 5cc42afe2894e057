"""Policy packs, the condition language and the engine that turns a case's facts into verdicts.

The app calls :func:`init_app` at start-up (a bad pack stops the start with a :class:`PackError`; it also adds
the ``policies`` command)
and :func:`get_packs` per request; everything else is plain functions over plain dicts.
"""

import functools

from flask import current_app, has_app_context

from .engine import TIERS, assess, assessment_day, trace
from .facts import (
    FACT_NAMES,
    FACTS,
    QUESTIONS,
    VENDORS,
    Fact,
    FactError,
    build_facts,
    coerce_facts,
)
from .packs import (
    DEFAULT_DIR,
    VERDICTS,
    Pack,
    PackError,
    Packs,
    UploadError,
    check_packs,
    load_packs,
    save_pack,
    signature,
)
from .screen import advice_possible, possible_uses

__all__ = [
    "DEFAULT_DIR",
    "FACTS",
    "FACT_NAMES",
    "QUESTIONS",
    "TIERS",
    "VENDORS",
    "VERDICTS",
    "Fact",
    "advice_possible",
    "FactError",
    "Pack",
    "PackError",
    "Packs",
    "UploadError",
    "assess",
    "assessment_day",
    "build_facts",
    "check_packs",
    "coerce_facts",
    "current_packs",
    "default_packs",
    "get_packs",
    "init_app",
    "load_into",
    "load_packs",
    "possible_uses",
    "save_pack",
    "trace",
]


@functools.cache
def default_packs():
    """The packs in the repo's data/policies, loaded once per process."""
    return load_packs(DEFAULT_DIR)


def init_app(app):
    """Load the packs (:func:`load_into`) and add the ``policies`` command.

    :raises PackError: a pack is malformed, so the app must not start.
    """
    from .cli import policies  # rules.cli reads get_packs from this module

    load_into(app)
    app.cli.add_command(policies)


def load_into(app):
    """Load the packs in ``POLICIES_DIR`` into ``app.extensions["policies"]``.

    :raises PackError: a pack is malformed; the packs loaded before, if any, stay.
    """
    app.config.setdefault("POLICIES_DIR", str(DEFAULT_DIR))
    app.extensions["policies"] = load_packs(app.config["POLICIES_DIR"])


def get_packs():
    """The app's packs, reloaded when a pack file changes; a bad reload keeps the previous packs.

    Must be called inside an app context.
    """
    app = current_app._get_current_object()
    packs = app.extensions.get("policies")
    if packs is None:
        load_into(app)
        return app.extensions["policies"]
    try:
        now = signature(packs.directory)
    except OSError:
        return packs
    if now in (packs.signature, app.extensions.get("policies_rejected")):
        return packs
    try:
        fresh = load_packs(packs.directory)
    except PackError as exc:
        # Remembered so one bad edit is logged once, not on every request.
        app.extensions["policies_rejected"] = now
        app.logger.error("policy packs not reloaded, keeping the previous ones: %s", exc)
        return packs
    app.extensions["policies"] = fresh
    return fresh


def current_packs():
    """The app's packs inside an app context that loaded them, else :func:`default_packs`."""
    if has_app_context() and "policies" in current_app.extensions:
        return get_packs()
    return default_packs()
