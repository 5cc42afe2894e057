"""The per-user limit on web pages that run the classifier (a forward pass costs far more than a page)."""

from flask import current_app
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from storage import get_db, rate_limits


def classify_wait():
    """Count one classification for the signed-in user; 0 when allowed, else the seconds to wait."""
    return rate_limits.hit(get_db(), f"web:classify:{current_user.id}", current_app.config["WEB_CLASSIFY_RATE_LIMIT"])


def check_classify():
    """Count one classification for the signed-in user, or answer 429 with ``Retry-After`` when over the limit."""
    wait = classify_wait()
    if wait:
        raise TooManyRequests("You are running the classifier too often; wait a minute and try again.",
                              retry_after=wait)
