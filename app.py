"""Application factory for the usecase-intake service."""

import os
import secrets

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

import api
import classifier.service
import cli
import config
import notify
import rules
import storage
from config import ROOT
from storage import masking, webhook_secrets
from views import admin, auth, errors, explore, home, intake, review, security, settings, sso

csrf = CSRFProtect()
login_manager = LoginManager()


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in routes: a number beyond SQLite's integers matches no route (404) instead of overflowing."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(test_config=None):
    """Create and configure the Flask app.

    :param test_config: a mapping that overrides every other setting (used by the tests).
    """
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    app.url_map.converters["int"] = RowIdConverter
    app.config.update(config.load(test_config))
    # Private when created: it holds the database, the secret key and the models.
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    if not app.config.get("WEBHOOK_SECRETS_KEY"):
        app.config["WEBHOOK_SECRETS_KEY"] = webhook_secrets.instance_key(app.instance_path)

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.user_loader(auth.load_user)
    # Each package wires itself in, its commands included.
    storage.init_app(app)
    rules.init_app(app)
    classifier.service.init_app(app)
    for blueprint in (auth.bp, home.bp, explore.bp, intake.bp, review.bp, admin.bp, settings.bp):
        app.register_blueprint(blueprint)
    sso.init_app(app)
    api.init_app(app, csrf)
    errors.init_app(app)
    security.init_app(app)
    notify.init_app(app)
    cli.init_app(app)
    masking.install()
    app.logger.addFilter(masking.MaskingFilter())
    return app


def _instance_secret(app):
    """Read the secret key from the instance folder, creating it on first run."""
    return config.instance_secret(app.instance_path, "secret_key", lambda: secrets.token_hex(32))
