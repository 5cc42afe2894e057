"""Who may call what: every route and method of the app against every role, token scope and missing credential.

A route added without a row in ``PAGES`` or ``API`` fails ``test_every_route_has_an_expectation``. Each row names
who gets through (and where to); everyone else gets the sign-in redirect, 403 or 404 the row says.
"""

import io
from dataclasses import dataclass, field

import pytest

from app import create_app
from storage import get_db, migrate
from storage import webhooks as hooks
from storage.reviews import assign
from storage.tokens import SCOPES, create_token
from storage.users import create_user
from tests.api_support import bearer, new_case
from tests.conftest import PASSWORD
from tests.fakes import FakeEmbedder
from tests.intake_support import DESCRIPTION, PRODUCT

ROLES = ("anonymous", "owner", "other", "reviewer", "admin")
EMAILS = {"owner": "submitter@example.com", "other": "other@example.com", "reviewer": "reviewer@example.com",
          "admin": "admin@example.com"}
OK, LOGIN = "ok", "login"
EVERYONE = {"anonymous": LOGIN, "owner": OK, "other": OK, "reviewer": OK, "admin": OK}
REVIEWERS = {"anonymous": LOGIN, "owner": 403, "other": 403, "reviewer": OK, "admin": OK}
CASE_READERS = {"anonymous": LOGIN, "owner": OK, "other": 404, "reviewer": OK, "admin": OK}
OWNER_ONLY = {"anonymous": LOGIN, "owner": OK, "other": 404, "reviewer": 404, "admin": 404}
ADMINS = {"anonymous": LOGIN, "owner": 403, "other": 403, "reviewer": 403, "admin": OK}
PUBLIC = {role: OK for role in ROLES}
# Single sign-on is off in this app, so its routes answer 404 to anyone; tests/test_sso.py covers them when on.
SSO_OFF = {role: 404 for role in ROLES}


@dataclass
class Call:
    """A request that succeeds for an allowed role: ``{case}``, ``{user}`` and ``{hook}`` are filled per call."""

    path: str
    data: dict = field(default_factory=dict)
    ok: int = 200
    to: str = None  # where a successful redirect goes
    state: str = "submitted"  # of the fresh case behind {case}
    fresh_client: bool = False  # signing in or out changes the session: use a client of its own


TICKS = {"version": "{version}"}
PAGES = {
    ("/", "GET"): (EVERYONE, Call("/")),
    ("/auth/login", "GET"): (PUBLIC, Call("/auth/login")),
    ("/auth/login", "POST"): (PUBLIC, Call("/auth/login", {"email": EMAILS["owner"], "password": PASSWORD}, 302, "/",
                                          fresh_client=True)),
    ("/auth/sso/login", "GET"): (SSO_OFF, Call("/auth/sso/login")),
    ("/auth/sso/callback", "GET"): (SSO_OFF, Call("/auth/sso/callback?code=c&state=s")),
    ("/auth/logout", "POST"): ({**EVERYONE, "anonymous": LOGIN},
                               Call("/auth/logout", ok=302, to="/auth/login", fresh_client=True)),
    ("/try/", "GET"): (EVERYONE, Call("/try/")),
    ("/try/", "POST"): (EVERYONE, Call("/try/", {"description": DESCRIPTION})),
    ("/intake/", "GET"): (EVERYONE, Call("/intake/")),
    ("/intake/new", "GET"): (EVERYONE, Call("/intake/new")),
    ("/intake/new", "POST"): (EVERYONE, Call("/intake/new", PRODUCT, 302, "/intake/")),
    ("/intake/preview", "POST"): (EVERYONE, Call("/intake/preview", {"description": DESCRIPTION})),
    ("/intake/<int:case_id>/<name>", "GET"): (OWNER_ONLY, Call("/intake/{case}/description", state="draft")),
    ("/intake/<int:case_id>/<name>", "POST"): (OWNER_ONLY, Call("/intake/{case}/description", {
        "description": DESCRIPTION, "next": "1"}, 302, "/intake/{case}/users", state="draft")),
    ("/review/", "GET"): (REVIEWERS, Call("/review/")),
    ("/review/dashboard", "GET"): (REVIEWERS, Call("/review/dashboard")),
    ("/review/dashboard.csv", "GET"): (REVIEWERS, Call("/review/dashboard.csv")),
    ("/review/cases/<int:case_id>", "GET"): (CASE_READERS, Call("/review/cases/{case}")),
    ("/review/cases/<int:case_id>/evidence", "GET"): (CASE_READERS, Call("/review/cases/{case}/evidence")),
    ("/review/cases/<int:case_id>/evidence.json", "GET"): (CASE_READERS, Call("/review/cases/{case}/evidence.json")),
    ("/review/cases/<int:case_id>/comment", "POST"): (CASE_READERS, Call("/review/cases/{case}/comment", {
        "body": "A question."}, 302, "/review/cases/{case}")),
    ("/review/cases/<int:case_id>/assign", "POST"): (REVIEWERS, Call("/review/cases/{case}/assign", TICKS, 302,
                                                                     "/review/cases/{case}")),
    ("/review/cases/<int:case_id>/approve", "POST"): (REVIEWERS, Call("/review/cases/{case}/approve", TICKS, 302,
                                                                      "/review/cases/{case}", "in_review")),
    ("/review/cases/<int:case_id>/reject", "POST"): (REVIEWERS, Call("/review/cases/{case}/reject", {
        **TICKS, "reason": "No."}, 302, "/review/cases/{case}", "in_review")),
    ("/review/cases/<int:case_id>/request-changes", "POST"): (REVIEWERS, Call(
        "/review/cases/{case}/request-changes", {**TICKS, "message": "Why?"}, 302, "/review/cases/{case}",
        "in_review")),
    ("/review/cases/<int:case_id>/override", "POST"): (REVIEWERS, Call("/review/cases/{case}/override", {
        **TICKS, "fact": "chatbot", "value": "no", "reason": "Internal."}, 302, "/review/cases/{case}",
        "in_review")),
    # Admin pages: the target user {user} is a fresh submitter account.
    ("/admin/", "GET"): (ADMINS, Call("/admin/")),
    ("/admin/users", "GET"): (ADMINS, Call("/admin/users")),
    ("/admin/users", "POST"): (ADMINS, Call("/admin/users", {"email": "new-{user}@example.com", "name": "New",
                                                              "role": "submitter", "password": PASSWORD}, 302,
                                             "/admin/users/")),
    ("/admin/users/<int:user_id>", "GET"): (ADMINS, Call("/admin/users/{user}")),
    ("/admin/users/<int:user_id>/role", "POST"): (ADMINS, Call("/admin/users/{user}/role", {"role": "reviewer"},
                                                               302, "/admin/users/{user}")),
    ("/admin/users/<int:user_id>/deactivate", "POST"): (ADMINS, Call("/admin/users/{user}/deactivate", ok=302,
                                                                     to="/admin/users/{user}")),
    ("/admin/users/<int:user_id>/reactivate", "POST"): (ADMINS, Call("/admin/users/{user}/reactivate", ok=302,
                                                                     to="/admin/users/{user}")),
    ("/admin/users/<int:user_id>/password", "POST"): (ADMINS, Call("/admin/users/{user}/password", {
        "password": PASSWORD + "!", "confirm": PASSWORD + "!"}, 302, "/admin/users/{user}")),
    ("/admin/policies", "GET"): (ADMINS, Call("/admin/policies")),
    ("/admin/policies/check", "GET"): (ADMINS, Call("/admin/policies/check")),
    ("/admin/policies/reload", "POST"): (ADMINS, Call("/admin/policies/reload", ok=302, to="/admin/policies")),
    # A pack the loader refuses: the admin reaches the upload, which answers 400 and writes nothing.
    ("/admin/policies/upload", "POST"): (ADMINS, Call("/admin/policies/upload", {"pack": "bad"}, 400)),
    ("/admin/policies/<pack_id>", "GET"): (ADMINS, Call("/admin/policies/anthropic-2024-06-06")),
    ("/settings/notifications", "GET"): (EVERYONE, Call("/settings/notifications")),
    ("/settings/notifications", "POST"): (EVERYONE, Call("/settings/notifications", {"comment": "y"}, 302,
                                                         "/settings/notifications")),
}

# API routes: the scope a token needs (None: any valid token; "public": no token at all; a tuple: all of these)
# and a call that succeeds.
API = {
    ("/api/v1/classify", "POST"): ("classify", Call("/api/v1/classify", {"description": DESCRIPTION})),
    ("/api/v1/cases", "POST"): ("cases:write", Call("/api/v1/cases", new_case(), 201)),
    ("/api/v1/cases", "GET"): ("cases:read", Call("/api/v1/cases")),
    ("/api/v1/cases/<int:case_id>", "GET"): ("cases:read", Call("/api/v1/cases/{case}")),
    ("/api/v1/cases/<int:case_id>/comments", "POST"): ("cases:write", Call("/api/v1/cases/{case}/comments", {
        "body": "Any news?"}, 201)),
    ("/api/v1/policies", "GET"): (None, Call("/api/v1/policies")),
    ("/api/v1/health", "GET"): ("public", Call("/api/v1/health")),
    ("/api/v1/openapi.json", "GET"): ("public", Call("/api/v1/openapi.json")),
    # Deliveries carry whole cases: registering a webhook needs cases:read too.
    ("/api/v1/webhooks", "POST"): (("webhooks", "cases:read"), Call("/api/v1/webhooks",
                                                                    {"url": "https://203.0.113.9:9/h"}, 201)),
    ("/api/v1/webhooks", "GET"): ("webhooks", Call("/api/v1/webhooks")),
    ("/api/v1/webhooks/<int:webhook_id>", "DELETE"): ("webhooks", Call("/api/v1/webhooks/{hook}", ok=204)),
    ("/api/v1/webhooks/<int:webhook_id>/deliveries", "GET"): ("webhooks", Call("/api/v1/webhooks/{hook}/deliveries")),
}
WEBHOOK_READER = "webhooks cases:read"
CREDENTIALS = ("no token", "bad token", "signed-in admin, no token", *SCOPES, WEBHOOK_READER)


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_data, fake_classifier):
    """One app for the module, with a signed-in client per role (signing in hashes: done once)."""
    folder = tmp_path_factory.mktemp("matrix")
    app = create_app({"TESTING": True, "DATABASE": str(folder / "t.db"), "WTF_CSRF_ENABLED": False,
                      "TRAINING_DATA": str(tiny_data), "MODEL_DIR": str(folder / "models"),
                      "EMBEDDER": FakeEmbedder(), "CLASSIFIER": fake_classifier,
                      "API_RATE_LIMIT": "100000 per minute"})
    with app.app_context():
        db = get_db()
        migrate(db)
        users = {role: create_user(db, email, PASSWORD, "submitter" if role in ("owner", "other") else role)
                 for role, email in EMAILS.items()}
        tokens = {scope: create_token(db, scope, scope) for scope in (*SCOPES, WEBHOOK_READER)}
    clients = {"anonymous": app.test_client()}
    for role, email in EMAILS.items():
        clients[role] = app.test_client()
        assert clients[role].post("/auth/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return {"app": app, "users": users, "clients": clients, "tokens": tokens, "writer": tokens["cases:write"][0]}


def fresh_case(world, state):
    """A new case of the owner's in ``state`` (draft, submitted or in_review); returns ``(id, version)``."""
    app, owner = world["app"], world["users"]["owner"]
    if state == "draft":
        client = world["clients"]["owner"]
        location = client.post("/intake/new", data=PRODUCT).headers["Location"]
        return int(location.split("/")[2]), 0
    response = app.test_client().post("/api/v1/cases", json=new_case(submitter_email=owner["email"]),
                                      headers=bearer(world["writer"]))
    case_id = response.get_json()["id"]
    with app.app_context():
        db = get_db()
        if state == "in_review":
            assign(db, case_id, EMAILS["reviewer"], 0)
        return case_id, db["cases"].get(case_id)["version"] or 0


def fill(text, values):
    return text.format(**values) if isinstance(text, str) else text


def prepare(world, call, token_id=None):
    """The path, form data and expected redirect of ``call`` for a fresh case, user and webhook."""
    case_id, version = fresh_case(world, call.state) if "{case}" in call.path else (None, None)
    user_id = hook_id = None
    with world["app"].app_context():
        db = get_db()
        if "{user}" in call.path or "{user}" in str(call.data):
            user_id = create_user(db, f"target-{db['users'].count}@example.com", PASSWORD, "submitter")["id"]
        if "{hook}" in call.path:
            hook_id = hooks.create_webhook(db, "http://127.0.0.1:9/h", None, token_id,
                                           key=world["app"].config["WEBHOOK_SECRETS_KEY"])["id"]
    values = {"case": case_id, "version": version, "user": user_id, "hook": hook_id}
    data = {k: fill(v, values) for k, v in call.data.items()}
    if "pack" in data:
        data["pack"] = (io.BytesIO(b"not toml ["), "openai-2099-01-01.toml")
    return fill(call.path, values), data, fill(call.to, values)


def rule_methods(app):
    return {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_an_expectation(world):
    routes = rule_methods(world["app"])
    assert sorted(routes - set(PAGES) - set(API)) == [], "add these routes to PAGES or API"
    assert sorted((set(PAGES) | set(API)) - routes) == [], "these rows name routes that no longer exist"


@pytest.mark.parametrize("route", sorted(PAGES), ids=" ".join)
def test_page_answers_each_role_as_designed(world, route):
    expected, call = PAGES[route]
    for role in ROLES:
        path, data, to = prepare(world, call)
        client = world["clients"][role]
        if call.fresh_client:
            client = world["app"].test_client()
            if role != "anonymous":
                client.post("/auth/login", data={"email": EMAILS[role], "password": PASSWORD})
        response = client.open(path, method=route[1], data=data)
        if route == ("/auth/logout", "POST") and role != "anonymous":
            # Signing out ends every session of the user, the module's signed-in client's too.
            world["clients"][role].post("/auth/login", data={"email": EMAILS[role], "password": PASSWORD})
        outcome = expected[role]
        where = f"{role} {route[1]} {path}"
        if outcome == OK:
            assert response.status_code == call.ok, (where, response.data.decode()[:500])
            if to is not None:
                assert response.headers["Location"].startswith(to), where
        elif outcome == LOGIN:
            assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next="), where
        else:
            assert response.status_code == outcome, where


@pytest.mark.parametrize("route", sorted(API), ids=" ".join)
def test_api_answers_each_credential_as_designed(world, route):
    needed, call = API[route]
    for credential in CREDENTIALS:
        token, record = world["tokens"].get(credential, (None, {"id": None}))
        path, data, _ = prepare(world, call, record["id"])
        client = world["app"].test_client()
        headers = {}
        if credential == "signed-in admin, no token":
            client = world["clients"]["admin"]
        elif credential == "bad token":
            headers = bearer("itk_" + "x" * 43)
        elif token:
            headers = bearer(token)
        response = client.open(path, method=route[1], json=data or None, headers=headers)
        where = f"{credential} {route[1]} {path}"
        granted = set(credential.split())
        if needed == "public" or (token and (needed is None or set(needed if isinstance(needed, tuple)
                                                                   else [needed]) <= granted)):
            assert response.status_code == call.ok, (where, response.get_json())
        elif token:
            assert response.status_code == 403, where
        else:
            assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer"), where


# Separation of duties: one person cannot both submit and review a case, nor decide another reviewer's case.


def _signed_in(app, email):
    client = app.test_client()
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _version(app, case_id):
    with app.app_context():
        return get_db()["cases"].get(case_id)["version"]


def _api_case(app, submitter_email):
    with app.app_context():
        token, _ = create_token(get_db(), "writer", "cases:write")
    response = app.test_client().post("/api/v1/cases", json=new_case(submitter_email=submitter_email),
                                      headers=bearer(token))
    return response.get_json()["id"]


def test_a_reviewer_cannot_review_a_case_they_submitted_in_the_wizard(app, users):
    from tests.intake_support import submit

    reviewer = _signed_in(app, "reviewer@example.com")
    case_id = submit(reviewer)
    response = reviewer.post(f"/review/cases/{case_id}/assign", data={"version": _version(app, case_id)})
    assert response.status_code == 403 and "someone else must review it" in response.data.decode()
    with app.app_context():
        assign(get_db(), case_id, "admin@example.com", _version(app, case_id))
    for action, data in (("approve", {}), ("reject", {"reason": "No."}), ("request-changes", {"message": "Why?"}),
                         ("override", {"fact": "chatbot", "value": "no", "reason": "Internal."})):
        response = reviewer.post(f"/review/cases/{case_id}/{action}", data={"version": _version(app, case_id), **data})
        assert response.status_code == 403, action
    with app.app_context():
        assert get_db()["cases"].get(case_id)["state"] == "in_review"


def test_a_reviewer_named_as_submitter_by_the_api_cannot_review_it(app, users):
    case_id = _api_case(app, "Reviewer@Example.com")
    reviewer = _signed_in(app, "reviewer@example.com")
    response = reviewer.post(f"/review/cases/{case_id}/assign", data={"version": _version(app, case_id)})
    assert response.status_code == 403


def test_self_review_can_be_allowed_and_the_decision_says_so(app, users):
    from tests.intake_support import submit

    app.config["ALLOW_SELF_REVIEW"] = True
    reviewer = _signed_in(app, "reviewer@example.com")
    case_id = submit(reviewer)
    for action in ("assign", "approve"):
        response = reviewer.post(f"/review/cases/{case_id}/{action}", data={"version": _version(app, case_id)})
        assert response.status_code == 302, action
    with app.app_context():
        from storage import audit

        row = get_db()["cases"].get(case_id)
        last = [e for e in audit.entries(get_db(), case_id) if e["action"] == "state"][-1]
    assert row["state"] == "approved"
    assert '"self_review": true' in row["decision"] and '"by": "reviewer@example.com"' in row["decision"]
    assert last["actor"] == "reviewer@example.com" and last["after"]["decision"]["self_review"] is True


def test_only_the_assigned_reviewer_or_an_admin_decides(app, users):
    with app.app_context():
        create_user(get_db(), "second@example.com", PASSWORD, "reviewer")
    case_id = _api_case(app, "pm@example.com")
    with app.app_context():
        assign(get_db(), case_id, "reviewer@example.com", 0)
    second = _signed_in(app, "second@example.com")
    for action in ("approve", "assign"):
        response = second.post(f"/review/cases/{case_id}/{action}", data={"version": _version(app, case_id)})
        assert response.status_code == 403 and "assigned to reviewer@example.com" in response.data.decode()
    admin = _signed_in(app, "admin@example.com")
    assert admin.post(f"/review/cases/{case_id}/approve",
                      data={"version": _version(app, case_id)}).status_code == 302
    with app.app_context():
        decision = get_db()["cases"].get(case_id)["decision"]
    assert '"by": "admin@example.com"' in decision and '"assignee": "reviewer@example.com"' in decision


# API tokens: drafts are never served, a token can be limited to its own cases, and a comment's author and
# audit actor come from the token.


def test_the_api_never_serves_web_drafts(app, users, client):
    from tests.intake_support import start

    owner = _signed_in(app, "submitter@example.com")
    draft_id = start(owner)
    with app.app_context():
        token, _ = create_token(get_db(), "reader", "cases:read cases:write")
    headers = bearer(token)
    assert client.get(f"/api/v1/cases/{draft_id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/cases/{draft_id}/comments", json={"body": "x"}, headers=headers).status_code == 404
    assert client.get("/api/v1/cases", query_string={"state": "draft"}, headers=headers).status_code == 422
    assert draft_id not in [c["id"] for c in client.get("/api/v1/cases", headers=headers).get_json()["items"]]


def test_a_token_limited_to_its_own_cases_sees_and_comments_only_on_those(app, client):
    with app.app_context():
        own, _ = create_token(get_db(), "own", "cases:read cases:write", own_cases=True)
        everyone, _ = create_token(get_db(), "all", "cases:read cases:write")
    mine = client.post("/api/v1/cases", json=new_case("MINE"), headers=bearer(own)).get_json()["id"]
    theirs = client.post("/api/v1/cases", json=new_case("THEIRS"), headers=bearer(everyone)).get_json()["id"]
    listed = client.get("/api/v1/cases", headers=bearer(own)).get_json()["items"]
    assert [c["id"] for c in listed] == [mine]
    assert client.get(f"/api/v1/cases/{theirs}", headers=bearer(own)).status_code == 404
    assert client.post(f"/api/v1/cases/{theirs}/comments", json={"body": "x"}, headers=bearer(own)).status_code == 404
    assert client.get(f"/api/v1/cases/{mine}", headers=bearer(own)).status_code == 200
    assert client.post(f"/api/v1/cases/{mine}/comments", json={"body": "x"}, headers=bearer(own)).status_code == 201
    # An unlimited token still reads every case.
    assert {c["id"] for c in client.get("/api/v1/cases", headers=bearer(everyone)).get_json()["items"]} == \
        {mine, theirs}


def test_an_api_comment_cannot_pass_for_a_reviewer_in_the_page_or_the_audit(app, users, client):
    with app.app_context():
        token, _ = create_token(get_db(), "jira", "cases:read cases:write")
    case_id = client.post("/api/v1/cases", json=new_case(), headers=bearer(token)).get_json()["id"]
    response = client.post(f"/api/v1/cases/{case_id}/comments",
                           json={"body": "Re-send your deck", "author": "reviewer@example.com"}, headers=bearer(token))
    assert response.get_json()["author"] == "token:jira (for [email redacted])"
    with app.app_context():
        from storage import audit

        [row] = [e for e in audit.entries(get_db(), case_id) if e["action"] == "comment"]
    assert row["actor"] == "token:jira" and row["after"]["token_id"]


@pytest.mark.parametrize("page", ["", "/evidence", "/evidence.json"])
def test_a_draft_is_its_owners_alone_on_the_review_pages(world, page):
    case_id, _ = fresh_case(world, "draft")
    for role, status in (("owner", 200), ("other", 404), ("reviewer", 404), ("admin", 404)):
        assert world["clients"][role].get(f"/review/cases/{case_id}{page}").status_code == status, role


def test_a_draft_key_used_by_another_user_starts_a_new_draft_instead_of_failing(app, users):
    from tests.intake_support import PRODUCT

    key = "k" * 22
    owner, other = _signed_in(app, "submitter@example.com"), _signed_in(app, "reviewer@example.com")
    first = owner.post("/intake/new", data={**PRODUCT, "draft_key": key})
    second = other.post("/intake/new", data={**PRODUCT, "draft_key": key})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] != second.headers["Location"]
    # The owner's double click still lands on the same draft.
    assert owner.post("/intake/new", data={**PRODUCT, "draft_key": key}).headers["Location"] == \
        first.headers["Location"]
