"""App-wide error pages: JSON under /api/, HTML elsewhere."""

from flask import current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from api.errors import problem_for_http_error


def _wants_json():
    return request.path.startswith("/api/")


def page_or_problem(error):
    """Render an HTTP error as problem+json for the API (the API's own renderer) and as a page for people."""
    if _wants_json():
        return problem_for_http_error(error)
    template = f"errors/{error.code}.html" if error.code in (403, 404, 500) else "errors/generic.html"
    # Headers the error carries (Retry-After on a 429, Allow on a 405) go with the page too.
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return render_template(template, error=error), error.code, headers


def handle_csrf_error(error):
    """A stale or missing form token: say so plainly instead of a bare 400."""
    error.description = "The form expired or was sent from elsewhere. Reload the page and try again."
    return page_or_problem(error)


def handle_unexpected(error):
    """Anything unforeseen becomes a plain 500, never a stack trace."""
    if isinstance(error, HTTPException):
        return page_or_problem(error)
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return page_or_problem(InternalServerError())


def init_app(app):
    """Register the handlers on ``app``."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, page_or_problem)
    app.register_error_handler(Exception, handle_unexpected)
