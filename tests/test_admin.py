"""Admin pages: accounts (create, role, deactivate, password) and policy packs (list, check, reload, upload)."""

import functools
import hashlib
import html
import io
import json
import re
import shutil

import pytest
from werkzeug.security import generate_password_hash

import rules
import storage.users
from storage import get_db
from storage.users import UserConflict, authenticate, change_role, create_user, get_user_by_email, set_active
from tests.conftest import PASSWORD, sign_in

ADV = "anthropic-consumer-terms-2025-09-28"
NEW_PACK = "anthropic-consumer-terms-2030-01-01"
NEW_PASSWORD = "another long secret"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    # Every test signs in several users and scrypt's cost would dominate the run; the hashes stay Werkzeug's.
    monkeypatch.setattr(storage.users, "generate_password_hash",
                        functools.partial(generate_password_hash, method="pbkdf2:sha256:1000"))


@pytest.fixture
def admin(client, auth):
    auth.login("admin@example.com")
    return client


def _user(app, email):
    with app.app_context():
        return get_user_by_email(get_db(), email)


# Signing in and out is audited too; these tests look at the account changes.
SESSION_ACTIONS = ("sign_in", "sign_out", "sign_in_failed", "sign_in_locked")


def _audit(app, action=None):
    with app.app_context():
        rows = list(get_db().query("select * from audit order by id"))
    return [r for r in rows if (action is None and r["action"] not in SESSION_ACTIONS) or r["action"] == action]


def _stored_hash(app, email):
    with app.app_context():
        return get_db().execute("select password_hash from users where email = ?", [email]).fetchone()[0]


def _text(response):
    return response.data.decode()


ROUTES = [("get", "/admin/"), ("get", "/admin/users"), ("post", "/admin/users"), ("get", "/admin/users/1"),
          ("post", "/admin/users/1/role"), ("post", "/admin/users/1/deactivate"),
          ("post", "/admin/users/1/reactivate"), ("post", "/admin/users/1/password"), ("get", "/admin/policies"),
          ("get", "/admin/policies/check"), ("post", "/admin/policies/reload"), ("post", "/admin/policies/upload"),
          ("get", f"/admin/policies/{ADV}")]


def test_every_admin_route_redirects_anonymous_and_refuses_other_roles(app, users):
    anonymous = app.test_client()
    submitter = app.test_client()
    sign_in(submitter, "submitter@example.com")
    reviewer = app.test_client()
    sign_in(reviewer, "reviewer@example.com")
    admin = app.test_client()
    sign_in(admin, "admin@example.com")
    for method, url in ROUTES:
        response = getattr(anonymous, method)(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], url
        for client in (submitter, reviewer):
            assert getattr(client, method)(url, data={"role": "admin"}).status_code == 403, url
        if method == "get":
            assert admin.get(url).status_code == 200, url
    with app.app_context():
        assert [u["role"] for u in storage.users.list_users(get_db())] == ["admin", "reviewer", "submitter"]
    assert _audit(app) == []


def test_admin_link_shows_in_the_navigation_for_admins_only(app, users):
    for role, shown in (("submitter", False), ("reviewer", False), ("admin", True)):
        client = app.test_client()
        sign_in(client, f"{role}@example.com")
        assert ('href="/admin/">Admin</a>' in _text(client.get("/"))) is shown


def test_user_list_shows_every_account_with_its_details_escaped(app, admin):
    with app.app_context():
        create_user(get_db(), "x@example.com", PASSWORD, "reviewer", name="<script>alert(1)</script>")
    page = _text(admin.get("/admin/users"))
    for email in ("submitter@example.com", "reviewer@example.com", "admin@example.com", "x@example.com"):
        assert email in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert _user(app, "x@example.com")["created_at"][:10] in page


def test_create_user_then_the_user_signs_in_and_the_audit_row_has_no_secret(app, admin):
    response = admin.post("/admin/users", data={"email": " New@Example.com ", "name": "New Person",
                                                "role": "reviewer", "password": NEW_PASSWORD})
    user = _user(app, "new@example.com")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{user['id']}"
    assert (user["name"], user["role"], user["active"]) == ("New Person", "reviewer", 1)
    client = app.test_client()
    signed_in = sign_in(client, "new@example.com", NEW_PASSWORD)
    assert signed_in.status_code == 302 and client.get("/review/").status_code == 200
    [row] = _audit(app, "create_user")
    assert row["actor"] == "admin@example.com" and row["case_id"] is None
    assert json.loads(row["after"]) == {"id": user["id"], "email": "new@example.com", "name": "New Person",
                                        "role": "reviewer", "active": True}
    assert NEW_PASSWORD not in json.dumps(row) and _stored_hash(app, "new@example.com") not in json.dumps(row)


# One app serves every case: each would otherwise pay for a fresh app and database.
BAD_USERS = [
    ({"email": "nobody"}, "email", "is not an e-mail address"),
    ({"email": "admin@example.com"}, "email", "already exists"),
    ({"email": ""}, "email", "Enter an e-mail address."),
    ({"password": "short"}, "password", "at least 10 characters"),
    ({"password": ""}, "password", "Enter a password."),
    ({"role": "owner"}, "role", "Not a valid choice"),
]


def test_create_user_refuses_bad_input_next_to_the_field(app, admin):
    for data, field, message in BAD_USERS:
        form = {"email": "ok@example.com", "name": "", "role": "submitter", "password": NEW_PASSWORD, **data}
        response = admin.post("/admin/users", data=form)
        assert response.status_code == 400, data
        assert re.search(rf'id="{field}-error-1" role="alert">[^<]*{re.escape(message)}', _text(response)), data
    with app.app_context():
        assert get_db()["users"].count == 3
    assert _audit(app) == []


def test_change_role_ends_the_sessions_takes_effect_and_is_audited(app, admin):
    reviewer = app.test_client()
    sign_in(reviewer, "reviewer@example.com")
    assert reviewer.get("/review/").status_code == 200
    user = _user(app, "reviewer@example.com")
    response = admin.post(f"/admin/users/{user['id']}/role", data={"role": "submitter"})
    assert response.status_code == 302
    assert "reviewer@example.com is now submitter." in _text(admin.get(response.headers["Location"]))
    # The role change ends the user's sessions; signed in again, they have the new role.
    assert reviewer.get("/review/").headers["Location"].startswith("/auth/login")
    reviewer = app.test_client()
    sign_in(reviewer, "reviewer@example.com")
    assert reviewer.get("/review/").status_code == 403
    [row] = _audit(app, "change_role")
    assert (json.loads(row["before"])["role"], json.loads(row["after"])["role"]) == ("reviewer", "submitter")
    assert admin.post(f"/admin/users/{user['id']}/role", data={"role": "owner"}).status_code == 400
    assert admin.post("/admin/users/999/role", data={"role": "admin"}).status_code == 404
    assert len(_audit(app)) == 1


def test_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated(app, admin):
    submitter = app.test_client()
    sign_in(submitter, "submitter@example.com")
    assert submitter.get("/intake/").status_code == 200
    user = _user(app, "submitter@example.com")
    assert admin.post(f"/admin/users/{user['id']}/deactivate").status_code == 302
    response = submitter.get("/intake/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    again = sign_in(app.test_client(), "submitter@example.com")
    assert again.status_code == 200 and "E-mail or password is not right." in _text(again)
    assert "deactivated" in _text(admin.get("/admin/users"))
    assert admin.post(f"/admin/users/{user['id']}/reactivate").status_code == 302
    again = sign_in(app.test_client(), "submitter@example.com")
    assert again.status_code == 302
    assert [r["action"] for r in _audit(app)] == ["deactivate_user", "reactivate_user"]
    assert [json.loads(r["after"])["active"] for r in _audit(app)] == [False, True]


def test_set_password_replaces_the_old_one_without_writing_it_anywhere(app, admin):
    user = _user(app, "reviewer@example.com")
    url = f"/admin/users/{user['id']}/password"
    for data, message in (({"password": NEW_PASSWORD, "confirm": "different"}, "The two passwords differ."),
                          ({"password": "short", "confirm": "short"}, "at least 10 characters")):
        response = admin.post(url, data=data)
        assert response.status_code == 400 and message in _text(response)
    assert admin.post(url, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    with app.app_context():
        assert authenticate(get_db(), "reviewer@example.com", PASSWORD) is None
        assert authenticate(get_db(), "reviewer@example.com", NEW_PASSWORD)["id"] == user["id"]
    [row] = _audit(app)
    assert row["action"] == "set_password" and json.loads(row["after"]) == {"id": user["id"],
                                                                             "email": "reviewer@example.com"}
    assert NEW_PASSWORD not in json.dumps(row) and _stored_hash(app, "reviewer@example.com") not in json.dumps(row)


def test_an_admin_cannot_demote_or_deactivate_themselves(app, admin):
    me = _user(app, "admin@example.com")
    page = _text(admin.get(f"/admin/users/{me['id']}"))
    assert "You cannot change your own role" in page and f'action="/admin/users/{me["id"]}/deactivate"' not in page
    for action, data, message in (("role", {"role": "reviewer"}, "You cannot demote yourself"),
                                  ("deactivate", {}, "You cannot deactivate yourself")):
        response = admin.post(f"/admin/users/{me['id']}/{action}", data=data)
        assert response.status_code == 409 and message in _text(response)
    assert _user(app, "admin@example.com") == me and _audit(app) == []


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app, admin):
    with app.app_context():
        db = get_db()
        other = create_user(db, "other@example.com", PASSWORD, "admin")
        me = get_user_by_email(db, "admin@example.com")
        # Two admins acting on each other at once: the second finds no admin would remain.
        change_role(db, me, other["id"], "reviewer")
        with pytest.raises(UserConflict, match="last active admin"):
            change_role(db, other, me["id"], "reviewer")
        with pytest.raises(UserConflict, match="last active admin"):
            set_active(db, other, me["id"], False)
        # A deactivated admin does not count as one that remains.
        change_role(db, me, other["id"], "admin")
        set_active(db, me, other["id"], False)
        with pytest.raises(UserConflict, match="last active admin"):
            change_role(db, other, me["id"], "submitter")
        assert get_user_by_email(db, "admin@example.com")["role"] == "admin"
    assert [r["action"] for r in _audit(app)] == ["change_role", "change_role", "deactivate_user"]


def test_unknown_user_or_pack_is_404(admin):
    for url in ("/admin/users/999", "/admin/policies/nope", "/admin/policies/..%2Fsecret_key"):
        assert admin.get(url).status_code == 404, url
    assert admin.post("/admin/users/999/deactivate").status_code == 404


def test_admin_forms_refuse_a_post_without_csrf_token(tmp_path, tiny_data, fake_classifier):
    from app import create_app
    from storage import migrate

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": True, "DATABASE": str(tmp_path / "c.db"),
                      "CLASSIFIER": fake_classifier, "TRAINING_DATA": str(tiny_data), "MODEL_DIR": str(tmp_path / "m")})
    with app.app_context():
        migrate(get_db())
        create_user(get_db(), "admin@example.com", PASSWORD, "admin")
        target = create_user(get_db(), "someone@example.com", PASSWORD, "submitter")
    client = app.test_client()
    page = _text(client.get("/auth/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token})
    assert client.get("/admin/users").status_code == 200
    for url in (f"/admin/users/{target['id']}/deactivate", "/admin/policies/reload"):
        response = client.post(url)
        assert response.status_code == 400 and "The form expired" in _text(response)
    assert _user(app, "someone@example.com")["active"] == 1 and _audit(app) == []
    page = _text(client.get(f"/admin/users/{target['id']}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/users/{target['id']}/deactivate", data={"csrf_token": token}).status_code == 302
    assert _user(app, "someone@example.com")["active"] == 0


# Policy packs


@pytest.fixture
def policies(app, tmp_path):
    """The app reading a writable copy of the shipped packs."""
    folder = tmp_path / "policies"
    shutil.copytree(rules.DEFAULT_DIR, folder)
    app.config["POLICIES_DIR"] = str(folder)
    rules.init_app(app)
    return folder


def _new_pack(title="Consumer terms, later", source="https://example.com/terms"):
    text = (rules.DEFAULT_DIR / f"{ADV}.toml").read_text()
    edits = ((f'id = "{ADV}"', f'id = "{NEW_PACK}"'), ("effective_from = 2025-09-28", "effective_from = 2030-01-01"),
             ('title = "Anthropic Consumer Terms and Privacy Policy update (2025-09-28)"', f"title = {title!r}"),
             ('source = "002_b8a275186e5729a7.txt"', f"source = {source!r}"))
    for old, new in edits:
        assert text.count(old) == 1
        text = text.replace(old, new)
    return text


def _row(page, pack_id):
    match = re.search(rf'<tr><td><a href="/admin/policies/{pack_id}">.*?</tr>', page, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(0)).split()


def test_policies_page_lists_every_loaded_pack(admin, policies):
    page = _text(admin.get("/admin/policies"))
    packs = rules.load_packs(policies)
    assert len(packs) == 4
    for pack in packs:
        until = packs.last_day(pack)
        assert _row(page, pack.id) == [pack.id, pack.vendor, pack.kind, str(pack.effective_from),
                                       *([str(until)] if until else []), str(len(pack.rules)),
                                       str(len(pack.clauses)), pack.path.name]
    assert "could not be loaded" not in page


def test_pack_page_shows_each_rule_what_it_emits_and_its_clauses(admin):
    for pack in rules.load_packs():
        page = html.unescape(_text(admin.get(f"/admin/policies/{pack.id}")))
        assert pack.title in page and pack.source in page and f"Rules ({len(pack.rules)})" in page
        for rule in pack.rules:
            row = re.search(rf'<tr id="rule-{rule.id}">.*?</tr>', page, re.S).group(0)
            emits = rule.verdict.replace("_", " ") if rule.verdict else f"advisory {rule.advisory}"
            assert emits in row and all(f"safeguard {s}" in row for s in rule.safeguards)
            assert all(c.id in row for c in rule.clauses), (pack.id, rule.id)
        for clause in pack.clauses.values():
            row = re.search(rf'<tr id="clause-{clause.id}">.*?</tr>', page, re.S).group(0)
            assert clause.section in row and clause.quote in row, (pack.id, clause.id)


def test_check_shows_what_flask_policies_check_says(admin, policies, runner):
    cli = runner.invoke(args=["policies", "check"])
    assert cli.exit_code == 0
    page = html.unescape(_text(admin.get("/admin/policies/check")))
    assert cli.output.strip() in page
    path = policies / "openai-2023-02-15.toml"
    path.write_text(path.read_text().replace('title = "OpenAI usage policies (2023-02-15)"', "title = 7"))
    cli = runner.invoke(args=["policies", "check"])
    assert cli.exit_code == 1 and "openai-2023-02-15.toml: key 'title'" in cli.output
    page = html.unescape(_text(admin.get("/admin/policies/check")))
    assert cli.output.removeprefix("Error: ").strip() in page
    assert "changed but could not be loaded" in page


def test_reload_loads_a_new_pack_file_and_is_audited(app, admin, policies):
    (policies / f"{NEW_PACK}.toml").write_text(_new_pack())
    response = admin.post("/admin/policies/reload")
    assert response.status_code == 302
    page = _text(admin.get("/admin/policies"))
    assert "Reloaded 5 packs." in page and f"/admin/policies/{NEW_PACK}" in page
    [row] = _audit(app, "reload_policies")
    before, after = json.loads(row["before"]), json.loads(row["after"])
    assert NEW_PACK not in before["packs"] and NEW_PACK in after["packs"] and after["error"] is None


def test_a_failed_reload_keeps_the_packs_in_use_and_shows_why(app, admin, policies):
    with app.app_context():
        in_use = rules.get_packs()
    (policies / f"{NEW_PACK}.toml").write_text(_new_pack().replace("[[rules]]", "[[rules]]\nbogus = 1", 1))
    response = admin.post("/admin/policies/reload")
    page = _text(response)
    assert response.status_code == 409 and "Not reloaded" in page and f"{NEW_PACK}.toml: rule" in page
    assert "unknown keys" in page and "changed but could not be loaded" in page
    assert app.extensions["policies"] is in_use
    [row] = _audit(app, "reload_policies")
    assert f"{NEW_PACK}.toml" in json.loads(row["after"])["error"]
    assert json.loads(row["after"])["packs"] == json.loads(row["before"])["packs"] == [p.id for p in in_use]


def _upload(client, data, name=f"{NEW_PACK}.toml"):
    return client.post("/admin/policies/upload", data={"pack": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_upload_validates_writes_reloads_and_audits(app, admin, policies):
    data = _new_pack(title="<script>alert(1)</script> terms").encode()
    response = _upload(admin, data)
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/policies/{NEW_PACK}"
    assert (policies / f"{NEW_PACK}.toml").read_bytes() == data
    assert sorted(p.name for p in policies.iterdir() if not p.name.endswith(".toml")) == []
    assert NEW_PACK in app.extensions["policies"]
    page = _text(admin.get(response.headers["Location"]))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; terms" in page
    assert '<a href="https://example.com/terms" rel="noopener noreferrer">' in page
    [row] = _audit(app, "upload_policy")
    digest = hashlib.sha256(data).hexdigest()
    assert json.loads(row["after"]) == {"pack": NEW_PACK, "bytes": len(data), "sha256": digest}


def test_a_pack_source_that_is_not_a_web_address_is_not_a_link(admin, policies):
    assert _upload(admin, _new_pack(source="javascript:alert(1)").encode()).status_code == 302
    page = _text(admin.get(f"/admin/policies/{NEW_PACK}"))
    assert "javascript:alert(1)" in page and 'href="javascript' not in page


BAD_UPLOADS = [
    (f"{ADV}.toml", None, f"A pack with the id {ADV} already exists"),
    (f"{NEW_PACK}.toml", "bogus", "TOML syntax error"),
    (f"{NEW_PACK}.toml", "no-rules", "key 'rules': expected one or more [[rules]] tables"),
    ("../../evil.toml", None, "'anthropic-consumer-terms-2030-01-01' must match the file name 'evil'"),
    ("Upper.toml", None, "Name the file after its pack id"),
    ("pack.txt", None, "Name the file after its pack id"),
    (f"{NEW_PACK}.toml", "huge", "at most 256 KB"),
    # Dotted keys nest without recursion in tomllib, but validating them recursed into a RecursionError (500).
    (f"{NEW_PACK}.toml", "deep", "nested more than 32 levels deep"),
]


def test_upload_refuses_bad_files_and_writes_nothing(app, admin, policies):
    files = sorted(policies.iterdir())
    for name, data, message in BAD_UPLOADS:
        deep = "when." + "not." * 5000
        deep = f'{deep}fact = "minors"\n{deep}equals = true'
        body = {None: _new_pack(), "bogus": "id = ", "huge": _new_pack() + "#" * 300_000,
                "no-rules": _new_pack().split("[[rules]]")[0],
                "deep": _new_pack().replace('when = { fact = "access_path", equals = "consumer_plan" }', deep, 1)}[data]
        response = _upload(admin, body.encode(), name)
        assert response.status_code == 400, name
        error = re.search(r'id="pack-error-1" role="alert">([^<]*)<', _text(response)).group(1)
        assert message in html.unescape(error), (name, data)
    response = admin.post("/admin/policies/upload", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a pack file." in _text(response)
    assert sorted(policies.iterdir()) == files and _audit(app) == []


def test_an_uploaded_pack_the_reload_refuses_is_taken_back(app, admin, policies, monkeypatch):
    def refuse(app):
        raise rules.PackError("openai-2023-02-15.toml: key 'title': edited meanwhile")

    monkeypatch.setattr(rules, "load_into", refuse)
    response = _upload(admin, _new_pack().encode())
    assert response.status_code == 409 and "edited meanwhile" in _text(response)
    assert not (policies / f"{NEW_PACK}.toml").exists() and _audit(app) == []
