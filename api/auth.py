"""Bearer-token authentication, scopes and per-token rate limits for the API."""

import hashlib

from flask import current_app, g, request
from flask_limiter import Limiter

from storage import get_db
from storage.rate_limits import hit
from storage.tokens import find_token, touch

from .errors import ApiError

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="intake"'}


def scope(name):
    """Mark a view as needing the token scope ``name`` (None: any valid token; "public": no token)."""

    def decorator(view):
        view.api_scope = name
        return view

    return decorator


def _bearer():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def require_token(required):
    """Check the bearer token against ``required`` and keep its record on ``g.api_token``.

    :raises ApiError: 401 without a valid token, 403 when the token lacks the scope.
    """
    token = _bearer()
    if not token:
        raise ApiError(401, detail="Send an API token: Authorization: Bearer <token>.", headers=CHALLENGE)
    db = get_db()
    record = find_token(db, token)
    if record is None:
        # Failures are counted per address: a flood of made-up tokens would otherwise never be limited.
        wait = hit(db, f"api:unauthenticated:{request.remote_addr or 'unknown'}", current_app.config["API_RATE_LIMIT"])
        if wait:
            raise ApiError(429, detail="Too many requests with an unknown token; wait and try again.",
                           headers={"Retry-After": str(wait)})
        raise ApiError(401, detail="The API token is unknown or revoked.", headers=CHALLENGE)
    if required and required not in record["scopes"]:
        raise ApiError(403, detail=f"This token lacks the {required!r} scope.")
    touch(db, record)
    g.api_token = record
    return record


def rate_limit_key():
    """Limits count per token (by a hash, never the token), or per address for calls without one."""
    token = _bearer()
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


def _exempt():
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "api_scope", None) == "public"


def init_limiter(app, bp):
    """A Flask-Limiter for this app alone when ``API_RATE_LIMIT_STORAGE`` names one of its storages (e.g.
    ``redis://``); with ``database`` (the default) the limit is counted in the database by ``check_request``."""
    if app.config["API_RATE_LIMIT_STORAGE"] == "database":
        return None
    limiter = Limiter(key_func=rate_limit_key, storage_uri=app.config["API_RATE_LIMIT_STORAGE"],
                      headers_enabled=False)
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], exempt_when=_exempt)(bp)
    limiter.init_app(app)
    app.extensions["api_limiter"] = limiter
    return limiter
