"""Single sign-on against a real OpenID Connect provider process (``oidc-provider-mock`` on a loopback port).

The app runs in-process (Flask's test client); everything between it and the provider is real HTTP: discovery,
the provider's authorize form, the code exchange and its signing keys. Tokens the provider cannot be made to
issue (a valid signature with a wrong audience but the right ``azp``, an expired one) are signed with a key of
our own and fed to the same verification the callback uses.
"""

import base64
import hashlib
import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from app import create_app
from config import Config
from storage import audit, get_db, migrate
from storage.identities import parse_role_map, role_for_groups
from storage.users import create_user, get_user_by_email, set_active
from tests.conftest import PASSWORD
from tests.oidc_support import CLIENT_ID, sso_settings
from views.sso import read_settings


@pytest.fixture
def make_app(tmp_path, tiny_data, fake_classifier, oidc_provider):
    """An app with single sign-on through the provider process; ``overrides`` change any setting."""

    def make(**overrides):
        app = create_app({
            "TESTING": True, "DATABASE": str(tmp_path / "sso.db"), "WTF_CSRF_ENABLED": False,
            "TRAINING_DATA": str(tiny_data), "MODEL_DIR": str(tmp_path / "models"),
            "CLASSIFIER": fake_classifier, **sso_settings(oidc_provider.issuer), **overrides,
        })
        with app.app_context():
            db = get_db()
            migrate(db)
            for role in ("submitter", "reviewer", "admin"):
                create_user(db, f"{role}@example.com", PASSWORD, role)
        return app

    return make


def start(client, next_path=None):
    """Press "Sign in with ...": the redirect to the provider's authorize page."""
    response = client.get("/auth/sso/login", query_string={"next": next_path} if next_path else None)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def sso_sign_in(client, provider, sub, next_path=None):
    """Sign ``sub`` in through the provider's authorize form; returns the app's answer at the callback."""
    return client.get(provider.authorize(start(client, next_path), sub))


def audit_rows(app, action):
    with app.app_context():
        rows = list(get_db().query("select * from audit where action = ? order by id", [action]))
    return [{**row, "after": json.loads(row["after"] or "null")} for row in rows]


def role_of(app, email):
    with app.app_context():
        return get_user_by_email(get_db(), email)["role"]


def test_without_settings_the_sign_in_page_has_no_provider_button_and_passwords_work(client, auth):
    page = client.get("/auth/login").text
    assert "Sign in with" not in page and 'name="password"' in page
    assert client.get("/auth/sso/login").status_code == 404
    assert client.get("/auth/sso/callback?code=x&state=y").status_code == 404
    assert auth.login().status_code == 302


def test_the_sign_in_page_offers_the_provider_when_configured(make_app):
    page = make_app().test_client().get("/auth/login?next=/review/").text
    assert '<a class="button" href="/auth/sso/login?next=/review/">Sign in with Mock IdP</a>' in page
    assert 'name="password"' in page and "Break-glass" not in page


def test_the_authorization_request_carries_pkce_s256_state_and_nonce(make_app, oidc_provider):
    client = make_app().test_client()
    location = start(client)
    assert location.startswith(oidc_provider.issuer + "/oauth2/authorize?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["scope"] == "openid email profile"
    assert query["redirect_uri"] == "http://localhost/auth/sso/callback"
    with client.session_transaction() as session:
        saved = session[f"_state_oidc_{query['state']}"]["data"]
    assert query["nonce"] == saved["nonce"]
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(saved["code_verifier"].encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_first_sign_in_creates_a_submitter_and_the_groups_claim_sets_the_role_at_every_sign_in(
        make_app, oidc_provider):
    app = make_app(OIDC_AUTO_CREATE=True)
    oidc_provider.set_user("dana-1", email="Dana@Example.com", email_verified=True, name="Dana",
                           groups=["intake-reviewers", "unrelated"])
    client = app.test_client()
    response = sso_sign_in(client, oidc_provider, "dana-1", next_path="/review/")
    assert response.status_code == 302 and response.headers["Location"] == "/review/"
    assert client.get("/review/").status_code == 200
    assert role_of(app, "dana@example.com") == "reviewer"
    [created] = audit_rows(app, "sso_create_user")
    assert created["after"]["role"] == "submitter" and created["after"]["name"] == "Dana"

    # Moved to the admins' group at the provider: admin at the next sign-in.
    oidc_provider.set_user("dana-1", email="dana@example.com", email_verified=True, groups=["intake-admins"])
    sso_sign_in(app.test_client(), oidc_provider, "dana-1")
    assert role_of(app, "dana@example.com") == "admin"

    # Removed from every mapped group: back to submitter, and the session signed in as a reviewer ends.
    oidc_provider.set_user("dana-1", email="dana@example.com", email_verified=True, groups=["unrelated"])
    later = app.test_client()
    assert sso_sign_in(later, oidc_provider, "dana-1").status_code == 302
    assert role_of(app, "dana@example.com") == "submitter"
    assert later.get("/review/").status_code == 403
    assert client.get("/review/").status_code == 302  # the first session ended with its role

    changes = [(row["before"], row["after"]) for row in audit_rows(app, "sso_change_role")]
    assert [(json.loads(before)["role"], after["role"]) for before, after in changes] == [
        ("submitter", "reviewer"), ("reviewer", "admin"), ("admin", "submitter")]
    assert changes[-1][1]["groups"] == ["unrelated"]
    sign_ins = audit_rows(app, "sso_sign_in")
    assert [row["after"]["role"] for row in sign_ins] == ["reviewer", "admin", "submitter"]
    assert {row["actor"] for row in sign_ins} == {"dana@example.com"}
    assert sign_ins[0]["after"]["subject"] == "dana-1" and sign_ins[0]["after"]["issuer"] == oidc_provider.issuer
    with app.app_context():
        assert audit.verify(get_db()) == []


def test_an_existing_account_is_matched_by_e_mail_and_keeps_its_role_without_a_role_claim(
        make_app, oidc_provider):
    app = make_app(OIDC_ROLE_CLAIM="")
    oidc_provider.set_user("rev-7", email="REVIEWER@example.com", email_verified=True, groups=["intake-admins"])
    client = app.test_client()
    assert sso_sign_in(client, oidc_provider, "rev-7").headers["Location"] == "/"
    assert client.get("/review/").status_code == 200
    assert role_of(app, "reviewer@example.com") == "reviewer"
    assert audit_rows(app, "sso_change_role") == []


@pytest.mark.parametrize("claims, reason", [
    ({"email": "submitter@example.com", "email_verified": False}, "email_unverified"),
    ({"email": "submitter@example.com"}, "email_unverified"),
    ({"email": "submitter@example.com", "email_verified": "no"}, "email_unverified"),
    ({"name": "No Mail", "email_verified": True}, "no_email"),
])
def test_an_unverified_or_missing_e_mail_is_refused_with_a_clear_page(make_app, oidc_provider, claims, reason):
    app = make_app(OIDC_AUTO_CREATE=True)
    oidc_provider.set_user(f"u-{reason}", **claims)
    client = app.test_client()
    response = sso_sign_in(client, oidc_provider, f"u-{reason}")
    assert response.status_code == 403
    assert "Sign-in refused" in response.text
    assert ("has not verified the e-mail address submitter@example.com" in response.text
            if reason == "email_unverified" else "sent no e-mail address" in response.text)
    assert client.get("/intake/").status_code == 302  # not signed in
    [refusal] = audit_rows(app, "sso_sign_in_refused")
    assert refusal["after"]["reason"] == reason
    assert audit_rows(app, "sso_sign_in") == []


def test_the_verified_e_mail_claim_can_be_renamed_for_entra_id(make_app, oidc_provider):
    app = make_app(OIDC_EMAIL_VERIFIED_CLAIM="xms_edov")
    oidc_provider.set_user("entra-1", email="submitter@example.com", xms_edov=True)
    assert sso_sign_in(app.test_client(), oidc_provider, "entra-1").status_code == 302


def test_an_unknown_e_mail_is_refused_when_auto_create_is_off(make_app, oidc_provider):
    app = make_app()
    oidc_provider.set_user("new-1", email="newcomer@example.com", email_verified=True)
    response = sso_sign_in(app.test_client(), oidc_provider, "new-1")
    assert response.status_code == 403
    assert "There is no account for newcomer@example.com here" in response.text
    with app.app_context():
        assert get_user_by_email(get_db(), "newcomer@example.com") is None
    [refusal] = audit_rows(app, "sso_sign_in_refused")
    assert refusal["actor"] == "newcomer@example.com" and refusal["after"]["reason"] == "no_account"


def test_a_deactivated_account_is_refused(make_app, oidc_provider):
    app = make_app()
    with app.app_context():
        db = get_db()
        admin = get_user_by_email(db, "admin@example.com")
        set_active(db, admin, get_user_by_email(db, "submitter@example.com")["id"], False)
    oidc_provider.set_user("sub-9", email="submitter@example.com", email_verified=True)
    response = sso_sign_in(app.test_client(), oidc_provider, "sub-9")
    assert response.status_code == 403 and "is deactivated" in response.text
    assert audit_rows(app, "sso_sign_in_refused")[0]["after"]["reason"] == "inactive"


def test_a_callback_whose_state_is_not_this_browsers_is_refused_and_a_used_one_cannot_be_replayed(
        make_app, oidc_provider):
    app = make_app()
    oidc_provider.set_user("sub-2", email="submitter@example.com", email_verified=True)
    forged = app.test_client().get("/auth/sso/callback?code=abc&state=forged")
    assert forged.status_code == 400 and "Start again" in forged.text

    client = app.test_client()
    callback = oidc_provider.authorize(start(client), "sub-2")
    other_browser = app.test_client()
    assert other_browser.get(callback).status_code == 400  # the state lives in the first browser's session
    assert client.get(callback).status_code == 302
    client.post("/auth/logout")
    assert client.get(callback).status_code == 400  # used once
    reasons = [row["after"]["reason"] for row in audit_rows(app, "sso_sign_in_refused")]
    assert reasons == ["bad_state", "bad_state", "bad_state"]


def test_the_provider_saying_no_is_a_refusal(make_app, oidc_provider):
    app = make_app()
    client = app.test_client()
    denied = httpx.post(start(client), data={"action": "deny"}, timeout=10)
    response = client.get(denied.headers["Location"])
    assert response.status_code == 403 and "Mock IdP did not sign you in" in response.text
    assert audit_rows(app, "sso_sign_in_refused")[0]["after"]["reason"] == "provider_error"


def _tamper(id_token, **changes):
    """The ID token with its payload changed and its signature kept."""
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_id_token_from_the_provider_is_refused(make_app, oidc_provider, monkeypatch):
    app = make_app()
    client_app = app.extensions["sso"]["client"]
    fetch = client_app.fetch_access_token

    def tampering(**kwargs):
        token = fetch(**kwargs)
        # The provider signed submitter@example.com; the browser's copy now claims to be the admin.
        token["id_token"] = _tamper(token["id_token"], email="admin@example.com")
        return token

    monkeypatch.setattr(client_app, "fetch_access_token", tampering)
    oidc_provider.set_user("sub-3", email="submitter@example.com", email_verified=True)
    client = app.test_client()
    response = sso_sign_in(client, oidc_provider, "sub-3")
    assert response.status_code == 403 and "could not be verified" in response.text
    assert client.get("/intake/").status_code == 302
    [refusal] = audit_rows(app, "sso_sign_in_refused")
    assert refusal["after"]["reason"] == "token_invalid" and "signature" in refusal["after"]["detail"]

    monkeypatch.setattr(client_app, "fetch_access_token", fetch)  # the same sign-in, untouched, succeeds
    assert sso_sign_in(app.test_client(), oidc_provider, "sub-3").status_code == 302


def test_an_id_token_the_provider_issued_to_another_client_is_refused(make_app, oidc_provider, monkeypatch):
    app = make_app()
    oidc_provider.set_user("sub-4", email="submitter@example.com", email_verified=True)
    client = app.test_client()
    location = start(client)
    nonce = parse_qs(urlsplit(location).query)["nonce"][0]
    # A genuine token, right nonce and signature, but issued to another application (aud "other-app").
    foreign = oidc_provider.token_for("other-app", "sub-4", nonce)
    client_app = app.extensions["sso"]["client"]
    monkeypatch.setattr(client_app, "fetch_access_token", lambda **kwargs: dict(foreign))
    response = client.get(oidc_provider.authorize(location, "sub-4"))
    assert response.status_code == 403
    assert audit_rows(app, "sso_sign_in_refused")[0]["after"]["reason"] == "token_invalid"


class OwnKeyProvider:
    """ID tokens signed by a key of ours, which the app's client is made to trust instead of the provider's."""

    def __init__(self, app, issuer):
        self.app, self.issuer = app, issuer
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.client = app.extensions["sso"]["client"]
        self.client.load_server_metadata()  # the provider's real discovery document
        self.client.server_metadata["jwks"] = KeySet([self.key]).as_dict(private=False)

    def claims(self, **changes):
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "own-1", "iat": now, "exp": now + 300,
                  "nonce": "n-1", "email": "submitter@example.com", "email_verified": True}
        claims.update(changes)
        return {key: value for key, value in claims.items() if value is not None}

    def token(self, key=None, **changes):
        return {"access_token": "at", "token_type": "Bearer",
                "id_token": jwt.encode({"alg": "RS256", "kid": "test-key"}, self.claims(**changes), key or self.key)}

    def verify(self, expected_nonce="n-1", key=None, **changes):
        """Verify a token as the callback does: the client's ``parse_id_token`` with the session's nonce."""
        with self.app.test_request_context():
            return self.client.parse_id_token(self.token(key, **changes), expected_nonce)


@pytest.mark.parametrize("changes, nonce", [
    ({"aud": ["other-app"], "azp": CLIENT_ID}, "n-1"),  # Authlib alone accepts this one
    ({"aud": "other-app"}, "n-1"),
    ({"aud": None}, "n-1"),
    ({"iss": "https://elsewhere.example"}, "n-1"),
    ({"iss": None}, "n-1"),
    ({"exp": int(time.time()) - 600}, "n-1"),
    ({"exp": None}, "n-1"),
    ({"sub": None}, "n-1"),
    ({}, "another-nonce"),
    ({"nonce": None}, "n-1"),
])
def test_id_token_checks_refuse_a_wrong_audience_issuer_expiry_or_nonce(make_app, oidc_provider, changes, nonce):
    own = OwnKeyProvider(make_app(), oidc_provider.issuer)
    assert own.verify()["email"] == "submitter@example.com"  # the same token, unchanged, passes
    with pytest.raises((JoseError, OAuthError)):
        own.verify(expected_nonce=nonce, **changes)


def test_authlib_alone_would_accept_a_token_for_another_audience_that_names_us_as_azp(make_app, oidc_provider):
    """Why ``ProviderApp`` requires the audience itself: Authlib checks it only through ``azp``."""
    own = OwnKeyProvider(make_app(), oidc_provider.issuer)
    token = own.token(aud=["other-app"], azp=CLIENT_ID)
    with own.app.test_request_context():
        assert FlaskOAuth2App.parse_id_token(own.client, token, "n-1")["aud"] == ["other-app"]


def test_an_id_token_signed_by_a_key_the_provider_does_not_publish_is_refused(make_app, oidc_provider):
    own = OwnKeyProvider(make_app(), oidc_provider.issuer)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    with pytest.raises(JoseError):
        own.verify(key=stranger)
    with pytest.raises(OAuthError):
        own.client.parse_id_token({"access_token": "at"}, "n-1")  # no ID token at all


def test_the_tokens_real_keys_come_from_the_provider(make_app, oidc_provider):
    app = make_app()
    client_app = app.extensions["sso"]["client"]
    jwks = client_app.fetch_jwk_set(force=True)
    assert jwks == httpx.get(oidc_provider.issuer + "/jwks", timeout=10).json()


def test_with_password_sign_in_off_only_admins_may_use_a_password(make_app):
    app = make_app(PASSWORD_LOGIN="false")
    page = app.test_client().get("/auth/login").text
    assert "Sign in with Mock IdP" in page and "Break-glass sign-in for admins" in page

    refused = app.test_client().post("/auth/login", data={"email": "reviewer@example.com", "password": PASSWORD})
    wrong = app.test_client().post("/auth/login", data={"email": "reviewer@example.com", "password": "x" * 12})
    assert refused.status_code == wrong.status_code == 200
    assert "password sign-in is off for this account" in refused.text
    assert refused.text.count("password sign-in is off") == wrong.text.count("password sign-in is off") == 1
    [row] = audit_rows(app, "sign_in_refused")
    assert row["actor"] == "reviewer@example.com" and row["after"]["reason"] == "password_login_off"

    admin = app.test_client()
    assert admin.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD}).status_code == 302
    assert admin.get("/admin/").status_code == 200


def test_a_provider_that_cannot_be_reached_gives_a_clear_page(make_app):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = make_app(OIDC_ISSUER=closed)
    response = app.test_client().get("/auth/sso/login")
    assert response.status_code == 502 and "cannot be reached" in response.text
    assert audit_rows(app, "sso_sign_in_refused")[0]["after"]["reason"] == "provider_unavailable"


def test_a_discovery_document_naming_another_issuer_is_not_used(make_app, oidc_provider):
    app = make_app(OIDC_ISSUER=oidc_provider.issuer + "/")  # a trailing slash alone is the same issuer
    client_app = app.extensions["sso"]["client"]
    assert start(app.test_client()).startswith(oidc_provider.issuer)
    client_app.server_metadata["issuer"] = "https://impostor.example"
    response = app.test_client().get("/auth/sso/login")
    assert response.status_code == 502
    assert "impostor" in audit_rows(app, "sso_sign_in_refused")[0]["after"]["detail"]


ISSUER = "https://login.example.com"
BASE = {"OIDC_ISSUER": ISSUER, "OIDC_CLIENT_ID": "c", "OIDC_CLIENT_SECRET": "s"}


@pytest.mark.parametrize("config, message", [
    ({"OIDC_ISSUER": ISSUER}, "set INTAKE_OIDC_CLIENT_ID, INTAKE_OIDC_CLIENT_SECRET too"),
    ({**BASE, "OIDC_ISSUER": "http://login.example.com"}, "must be an https:// URL"),
    ({**BASE, "OIDC_ISSUER": "login.example.com"}, "must be an https:// URL"),
    ({**BASE, "OIDC_ROLE_CLAIM": "groups"}, "maps no group"),
    ({**BASE, "OIDC_ROLE_MAP": "intake-admins"}, "is not group=role"),
    ({**BASE, "OIDC_ROLE_MAP": "intake-admins=owner"}, "maps to 'owner'"),
    ({**BASE, "OIDC_ROLE_MAP": "=admin"}, "a group name is empty"),
    ({**BASE, "OIDC_AUTO_CREATE": "False-ish"}, "INTAKE_OIDC_AUTO_CREATE must be true or false"),
    ({"PASSWORD_LOGIN": False}, "INTAKE_PASSWORD_LOGIN=false needs single sign-on"),
])
def test_settings_that_cannot_work_are_refused_at_start_up(config, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("+", r"\+")):
        read_settings(config)


@pytest.mark.parametrize("config, expected", [
    ({}, None),
    ({**BASE, "OIDC_ISSUER": "http://127.0.0.1:9400"}, "http://127.0.0.1:9400"),
    ({**BASE, "OIDC_ISSUER": "http://localhost:9400"}, "http://localhost:9400"),
    (BASE, ISSUER),
])
def test_loopback_http_issuers_are_accepted_for_local_providers(config, expected):
    settings = read_settings(config)
    assert (settings.issuer if settings else None) == expected


@pytest.mark.parametrize("value, auto_create", [("true", True), ("False", False), ("0", False), (True, True)])
def test_flags_read_from_the_environment(value, auto_create):
    assert read_settings({**BASE, "OIDC_AUTO_CREATE": value}).auto_create is auto_create


def test_a_bad_setting_stops_the_app_from_starting(tmp_path, fake_classifier):
    with pytest.raises(ValueError, match="half configured"):
        create_app({"CLASSIFIER": fake_classifier, "DATABASE": str(tmp_path / "x.db"), "OIDC_CLIENT_ID": "c"})


@pytest.mark.parametrize("groups, role", [
    ([], "submitter"),
    (["unrelated"], "submitter"),
    (["intake-reviewers"], "reviewer"),
    (["intake-admins", "intake-reviewers"], "admin"),
    (["intake-reviewers", "intake-admins"], "admin"),
    (["Intake-Admins"], "submitter"),  # group names match exactly
])
def test_the_highest_mapped_group_gives_the_role(groups, role):
    mapping = parse_role_map("intake-reviewers=reviewer, intake-admins=admin")
    assert role_for_groups(groups, mapping) == role


def test_every_provider_example_in_the_docs_is_accepted():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "sso.md").read_text()
    blocks = [block for block in re.findall(r"```\n(.*?)```", docs, re.S)
              if all(re.fullmatch(r"INTAKE_\w+=.*", line) for line in block.strip().splitlines())]
    assert len(blocks) == 4  # Okta, Entra ID, Google Workspace, Keycloak
    for block in blocks:
        config = dict(line.removeprefix("INTAKE_").split("=", 1) for line in block.strip().splitlines())
        assert set(config) <= {key for key in dir(Config) if key.isupper()}, block
        settings = read_settings(config)
        assert settings.issuer.startswith("https://") and settings.provider_name != "single sign-on"
