"""The ticketing JSON API under /api/v1: its routes (routes.py), request and response shapes, problem+json
errors, token auth, the OpenAPI document, webhook delivery and the ``tokens`` and ``webhooks`` commands."""

from storage.cases import describe_cases_with

from .auth import init_limiter
from .cli import tokens_cli, webhooks_cli
from .delivery import start_worker
from .routes import bp, case_links

__all__ = ["bp", "init_app"]


def init_app(app, csrf):
    """Register the blueprint without CSRF (tokens, not cookies), its rate limits, the delivery worker and the
    ``tokens`` and ``webhooks`` commands."""
    csrf.exempt(bp)
    describe_cases_with(lambda case_id: {"links": case_links(case_id)})
    init_limiter(app, bp)
    app.register_blueprint(bp)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(webhooks_cli)

    @app.before_request
    def _start_delivery_worker():
        # gunicorn starts the worker before the first request (gunicorn.conf.py); this covers `flask run`.
        if "webhook_worker" not in app.extensions:
            start_worker(app)
