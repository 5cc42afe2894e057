"""Single sign-on through an OpenID Connect provider (Okta, Entra ID, Google Workspace, Keycloak): see docs/sso.md.

Authlib's Flask client does the protocol: discovery from the issuer, the authorization code flow with PKCE
(S256), ``state`` bound to the browser's session, and a ``nonce`` the ID token must carry. :class:`ProviderApp`
makes it also require the ID token's issuer, audience and expiry, which Authlib leaves optional. What the
verified token lets in is decided in :mod:`storage.identities`.
"""

import ipaddress
from collections import ChainMap
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError

from config import Config
from storage import audit, get_db, identities
from storage.identities import SignInRefused
from views.auth import _safe_next, start_session

bp = Blueprint("sso", __name__, url_prefix="/auth/sso")

# Seconds of clock difference with the provider tolerated on the ID token's times.
CLOCK_SKEW_SECONDS = 60
# How long a request to the provider (discovery, keys, token) may take.
PROVIDER_TIMEOUT_SECONDS = 10
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


class ProviderError(Exception):
    """The provider cannot be used as configured (unreachable, or its discovery document does not match)."""

    status = 502


@dataclass(frozen=True)
class Settings:
    """The single sign-on settings, checked once at start-up."""

    issuer: str
    provider_name: str
    email_verified_claim: str
    auto_create: bool
    role_claim: str
    role_map: dict


class ProviderApp(FlaskOAuth2App):
    """Authlib's Flask client, with an ID token and its nonce, issuer, audience, subject and expiry required.

    Authlib checks the signature against the provider's keys and the nonce, but it checks the audience only
    through ``azp`` and accepts a token without ``exp``; every ID token the service reads passes through here,
    and these checks replace whatever a caller passes as ``claims_options``.
    """

    def parse_id_token(self, token, nonce, claims_options=None, claims_cls=None, leeway=CLOCK_SKEW_SECONDS):
        if not token.get("id_token"):
            raise OAuthError(description="The provider's answer has no ID token.")
        if not nonce:
            raise OAuthError(description="No nonce was sent for this sign-in.")
        issuer = self.load_server_metadata().get("issuer")
        options = {"iss": {"essential": True, "value": issuer},
                   "aud": {"essential": True, "value": str(self.client_id)},
                   **{claim: {"essential": True} for claim in ("sub", "exp", "iat")}}
        return super().parse_id_token(token, nonce, claims_options=options, leeway=CLOCK_SKEW_SECONDS)


def flag(key, value):
    """A true/false setting from the environment ("true", "false", "1", "0", ...) or from Python.

    :raises ValueError: any other value, naming the setting.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"INTAKE_{key} must be true or false, not {value!r}.")


def secure_issuer(url):
    """True for an ``https://`` URL, or ``http://`` on this machine's loopback (tests, a local provider)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def read_settings(config):
    """The single sign-on settings from ``config``, or None when it is off.

    :raises ValueError: settings that cannot work together, each naming its ``INTAKE_*`` variable.
    """
    # Settings not given take config.py's defaults, so a partial mapping (a check before start-up) reads the same.
    config = ChainMap(config, vars(Config))
    keys = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
    given = [key for key in keys if str(config.get(key) or "").strip()]
    password_login = flag("PASSWORD_LOGIN", config["PASSWORD_LOGIN"])
    if not given:
        if not password_login:
            raise ValueError("INTAKE_PASSWORD_LOGIN=false needs single sign-on (INTAKE_OIDC_ISSUER, "
                             "INTAKE_OIDC_CLIENT_ID, INTAKE_OIDC_CLIENT_SECRET): only admins could sign in.")
        return None
    if len(given) < len(keys):
        missing = ", ".join(f"INTAKE_{key}" for key in keys if key not in given)
        raise ValueError(f"Single sign-on is half configured: set {missing} too (or none of the three).")
    issuer = str(config["OIDC_ISSUER"]).strip()
    if not secure_issuer(issuer):
        raise ValueError(f"INTAKE_OIDC_ISSUER must be an https:// URL (http:// only on loopback), not {issuer!r}.")
    role_claim = str(config.get("OIDC_ROLE_CLAIM") or "").strip()
    role_map = identities.parse_role_map(config.get("OIDC_ROLE_MAP"))
    if role_claim and not role_map:
        raise ValueError("INTAKE_OIDC_ROLE_CLAIM is set but INTAKE_OIDC_ROLE_MAP maps no group: everyone would "
                         "become a submitter. Map groups (intake-reviewers=reviewer,...) or unset the claim.")
    # An empty name or claim set in the environment means the default, not an empty button or claim.
    return Settings(issuer=issuer, provider_name=str(config["OIDC_PROVIDER_NAME"] or Config.OIDC_PROVIDER_NAME),
                    email_verified_claim=str(config["OIDC_EMAIL_VERIFIED_CLAIM"] or Config.OIDC_EMAIL_VERIFIED_CLAIM),
                    auto_create=flag("OIDC_AUTO_CREATE", config["OIDC_AUTO_CREATE"]),
                    role_claim=role_claim, role_map=role_map)


def init_app(app):
    """Check the settings, register the provider's client when single sign-on is on, and add the routes.

    :raises ValueError: as :func:`read_settings`.
    """
    settings = read_settings(app.config)
    app.config["PASSWORD_LOGIN"] = flag("PASSWORD_LOGIN", app.config["PASSWORD_LOGIN"])
    state = {"settings": settings, "client": None}
    if settings is not None:
        oauth = OAuth(app)
        state["client"] = oauth.register(
            "oidc",
            client_cls=ProviderApp,
            client_id=str(app.config["OIDC_CLIENT_ID"]).strip(),
            client_secret=str(app.config["OIDC_CLIENT_SECRET"]),
            server_metadata_url=settings.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": str(app.config.get("OIDC_SCOPES") or "openid email profile"),
                           "code_challenge_method": "S256", "default_timeout": PROVIDER_TIMEOUT_SECONDS},
        )
    app.extensions["sso"] = state
    app.register_blueprint(bp)


def provider():
    """``(settings, client)`` of the running app; 404 when single sign-on is off."""
    state = current_app.extensions.get("sso") or {}
    if state.get("settings") is None:
        abort(404)
    return state["settings"], state["client"]


@bp.app_context_processor
def sign_in_choices():
    state = current_app.extensions.get("sso") or {}
    settings = state.get("settings")
    return {"sso_provider": settings.provider_name if settings else None,
            "password_login": current_app.config["PASSWORD_LOGIN"]}


def _checked_metadata(settings, client):
    """The provider's discovery document, checked to be the configured issuer's own.

    :raises ProviderError: it cannot be fetched, names another issuer, or points at insecure endpoints.
    """
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"the discovery document could not be read ({type(exc).__name__})") from exc
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer.rstrip("/"):
        # A cached wrong document would be read again on every sign-in; the next attempt fetches afresh.
        client.server_metadata.pop("_loaded_at", None)
        raise ProviderError(f"the discovery document names the issuer {metadata.get('issuer')!r}, "
                            f"not {settings.issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not secure_issuer(str(metadata.get(key) or "")):
            raise ProviderError(f"the discovery document's {key} is missing or not https://")
    return metadata


def _unavailable(settings, exc):
    current_app.logger.warning("single sign-on with %s failed: %s", settings.issuer, exc)
    audit.record_now(get_db(), "sso", "sso_sign_in_refused",
                     after={"reason": "provider_unavailable", "detail": str(exc)[:300],
                            "address": request.remote_addr or "", "issuer": settings.issuer})
    message = (f"{settings.provider_name} cannot be reached or is not set up as this service expects. "
               "Try again later, or tell an admin.")
    return render_template("sso/refused.html", message=message), ProviderError.status


@bp.route("/login")
def login():
    """Send the browser to the provider to sign in, then back to ``callback``."""
    settings, client = provider()
    try:
        _checked_metadata(settings, client)
        session["sso_next"] = _safe_next(request.args.get("next"))
        return client.authorize_redirect(url_for(".callback", _external=True))
    except (ProviderError, requests.RequestException) as exc:
        return _unavailable(settings, exc)


def _verified_claims(settings, client):
    """The claims of the ID token the provider gave for this browser's sign-in, verified.

    :raises SignInRefused: the provider refused, the state is not this browser's, or the token fails a check.
    """
    error = request.args.get("error")
    if error:
        detail = request.args.get("error_description") or error
        raise SignInRefused("provider_error", f"{settings.provider_name} did not sign you in: {detail}")
    try:
        token = client.authorize_access_token(leeway=CLOCK_SKEW_SECONDS)
    except MismatchingStateError as exc:
        raise SignInRefused("bad_state", "This sign-in was not started in this browser, has expired, or was "
                            "already used. Start again from the sign-in page.", status=400) from exc
    except (OAuthError, JoseError) as exc:
        raise SignInRefused("token_invalid", f"The identity {settings.provider_name} sent could not be "
                            "verified, so you are not signed in.", detail=str(exc)) from exc
    claims = token.get("userinfo")
    if not claims:
        raise SignInRefused("token_invalid", f"{settings.provider_name} sent no ID token, so you are not "
                            "signed in.")
    return dict(claims)


@bp.route("/callback")
def callback():
    """Where the provider sends the browser back: verify the ID token, match the account, sign in."""
    settings, client = provider()
    db, address = get_db(), request.remote_addr or ""
    try:
        _checked_metadata(settings, client)
        claims = _verified_claims(settings, client)
        user = identities.sign_in(db, claims, issuer=settings.issuer,
                                  email_verified_claim=settings.email_verified_claim,
                                  auto_create=settings.auto_create, role_claim=settings.role_claim,
                                  role_map=settings.role_map, address=address)
    except SignInRefused as refused:
        after = {"reason": refused.reason, "address": address, "issuer": settings.issuer}
        if refused.detail:
            after["detail"] = refused.detail[:300]
        audit.record_now(db, refused.email or "sso", "sso_sign_in_refused", after=after)
        return render_template("sso/refused.html", message=refused.message), refused.status
    except (ProviderError, requests.RequestException) as exc:
        return _unavailable(settings, exc)
    target = session.get("sso_next")
    start_session(user)
    return redirect(_safe_next(target))
