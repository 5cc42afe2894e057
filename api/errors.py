"""API errors as ``application/problem+json`` (RFC 9457), with a field-level ``errors`` list."""

import time
from http import HTTPStatus

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

PROBLEM = "application/problem+json"


class ApiError(Exception):
    """An error the API answers with a problem document.

    :param status: the HTTP status; ``title`` defaults to its phrase.
    :param errors: field errors from :func:`field_error`, for 400 and 422.
    :param headers: extra response headers, e.g. ``WWW-Authenticate``.
    """

    def __init__(self, status, title=None, detail=None, errors=None, headers=None):
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def field_error(field, message):
    """One entry of a problem's ``errors``: the field as a dotted path and as a JSON pointer."""
    field = str(field)
    pointer = "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in field.split(".")) if field else "#"
    return {"field": field, "pointer": pointer, "message": message}


def validation_errors(exc):
    """Field errors from a pydantic ``ValidationError``."""
    return [field_error(".".join(str(p) for p in e["loc"]), e["msg"])
            for e in exc.errors(include_url=False, include_context=False, include_input=False)]


def problem_response(status, detail=None, errors=None, title=None, headers=None):
    """A problem+json response."""
    body = {"type": "about:blank", "title": title or HTTPStatus(status).phrase, "status": status,
            "instance": request.path}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = PROBLEM
    response.headers.update(headers or {})
    return response


def handle_api_error(error):
    """Render an :class:`ApiError`."""
    return problem_response(error.status, error.detail, error.errors, error.title, error.headers)


def problem_for_http_error(error):
    """Render a Werkzeug HTTP error raised inside the API (413, 429, ...) as a problem."""
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    if error.code == 429:
        limiter = current_app.extensions.get("api_limiter")
        limit = limiter.current_limit if limiter else None
        if limit is not None:
            headers["Retry-After"] = str(max(1, int(limit.reset_at - time.time())))
        else:
            headers["Retry-After"] = "60"
    return problem_response(error.code or 500, error.description, headers=headers)


def handle_unexpected(error):
    """Anything unforeseen: a logged 500 without a stack trace in the answer."""
    if isinstance(error, HTTPException):
        return problem_for_http_error(error)
    if isinstance(error, ApiError):
        return handle_api_error(error)
    current_app.logger.exception("Unhandled API error on %s %s", request.method, request.path)
    return problem_response(500, "The server could not answer this request; it has been logged.")
