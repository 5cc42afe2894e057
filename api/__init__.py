"""The ticketing JSON API under /api/v1: its routes (routes.py), request and response shapes, problem+json
errors, token auth, the OpenAPI document, webhook delivery and the ``tokens`` and ``webhooks`` commands."""

from storage.cases import describe_cases_with

from .auth import init_limiter
from .delivery import start_worker
from .routes import bp, case_links

__all__ = ["bp", "init_app"]


def init_app(app, csrf):
    """Register the blueprint without CSRF (tokens, not cookies), its rate limits and the delivery worker."""
    csrf.exempt(bp)
    describe_cases_with(lambda case_id: {"links": case_links(case_id)})
    init_limiter(app, bp)
    app.register_blueprint(bp)

    @app.before_request
    def _start_delivery_worker():
        # gunicorn starts the worker before the first request (gunicorn.conf.py); this covers `flask run`.
        if "webhook_worker" not in app.extensions:
            start_worker(app)
