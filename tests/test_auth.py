import pytest

from storage import get_db
from storage.users import UserError, authenticate, create_user, get_user_by_email
from tests.conftest import PASSWORD


@pytest.mark.parametrize("path", ["/", "/try/"])
def test_pages_need_a_user(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_login_page_is_public(client):
    assert client.get("/auth/login").status_code == 200


def test_login_and_logout(client, auth):
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert b"submitter@example.com" in client.get("/").data
    response = auth.logout()
    assert response.headers["Location"] == "/auth/login"
    assert client.get("/").status_code == 302


def test_login_follows_only_local_next(client, auth):
    response = client.post("/auth/login?next=/try/", data={"email": "submitter@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/try/"
    credentials = {"email": "submitter@example.com", "password": PASSWORD}
    response = client.post("/auth/login?next=//evil.example/x", data=credentials)
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("submitter@example.com", "wrong password!", b"E-mail or password is not right."),
        ("nobody@example.com", PASSWORD, b"E-mail or password is not right."),
        ("", PASSWORD, b"This field is required."),
        ("not-an-email", PASSWORD, b"Invalid email address."),
    ],
)
def test_bad_login_shows_error_next_to_field(client, auth, email, password, message):
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 200
    assert message in response.data
    assert client.get("/").status_code == 302


def test_passwords_are_hashed(app, users):
    with app.app_context():
        row = next(get_db()["users"].rows_where("email = ?", ["admin@example.com"]))
        assert PASSWORD not in row["password_hash"] and row["password_hash"].startswith(("scrypt:", "pbkdf2:"))
        assert authenticate(get_db(), "ADMIN@example.com", PASSWORD)["role"] == "admin"


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("x@example.com", "short", "submitter", "at least 10"),
        ("nope", PASSWORD, "submitter", "not an e-mail"),
        ("x@example.com", PASSWORD, "overlord", "Unknown role"),
        ("admin@example.com", PASSWORD, "admin", "already exists"),
    ],
)
def test_create_user_validates(app, users, email, password, role, message):
    with app.app_context(), pytest.raises(UserError, match=message):
        create_user(get_db(), email, password, role)


def test_users_cli_create_and_set_password(app, runner):
    result = runner.invoke(args=["users", "create", "--email", "New@Example.com", "--role", "reviewer",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created reviewer new@example.com" in result.output
    result = runner.invoke(args=["users", "create", "--email", "new@example.com", "--role", "reviewer",
                                 "--password", PASSWORD])
    assert result.exit_code != 0 and "already exists" in result.output
    args = ["users", "set-password", "--email", "new@example.com", "--password", "another long one"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0
    with app.app_context():
        assert authenticate(get_db(), "new@example.com", "another long one")


def test_seed_demo_creates_one_user_per_role_once(app, runner):
    result = runner.invoke(args=["users", "seed-demo"])
    assert result.exit_code == 0
    lines = [line.split() for line in result.output.splitlines() if "@example.com" in line]
    assert [line[0] for line in lines] == ["submitter", "reviewer", "admin"]
    with app.app_context():
        for role, email, password in lines:
            assert authenticate(get_db(), email, password)["role"] == role
    again = runner.invoke(args=["users", "seed-demo"])
    assert "already exist" in again.output
    with app.app_context():
        assert get_db()["users"].count == 3 and get_user_by_email(get_db(), "admin@example.com")


def test_csrf_is_on_outside_tests(tmp_path, tiny_data, fake_classifier):
    from app import create_app

    app = create_app({"DATABASE": str(tmp_path / "c.db"), "CLASSIFIER": fake_classifier})
    response = app.test_client().post("/auth/login", data={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert b"form expired" in response.data


# Revocable sessions: a copied cookie stops working when the user signs out, gets a new password or role, or is
# deactivated; and any session ends after an idle period.


def _signed_in_copy(app, email="submitter@example.com"):
    """A signed-in client and a second client holding a copy of its session cookie (as a thief would)."""
    original, thief = app.test_client(), app.test_client()
    response = original.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    thief.set_cookie("session", original.get_cookie("session").value)
    assert thief.get("/intake/").status_code == 200
    return original, thief


def _admin(app):
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD})
    return client


def _signed_out(client):
    response = client.get("/intake/")
    return response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_signing_out_ends_a_copied_session(app, users):
    original, thief = _signed_in_copy(app)
    original.post("/auth/logout")
    assert _signed_out(thief) and _signed_out(original)


@pytest.mark.parametrize(("path", "data"), [
    ("password", {"password": PASSWORD + "!", "confirm": PASSWORD + "!"}),
    ("role", {"role": "reviewer"}),
    ("deactivate", {}),
])
def test_admin_changes_to_an_account_end_its_sessions(app, users, path, data):
    _, thief = _signed_in_copy(app)
    user_id = users["submitter"]["id"]
    assert _admin(app).post(f"/admin/users/{user_id}/{path}", data=data).status_code == 302
    if path == "deactivate":
        _admin(app).post(f"/admin/users/{user_id}/reactivate")
    assert _signed_out(thief)


def test_a_new_password_from_the_cli_ends_sessions(app, users, runner):
    _, thief = _signed_in_copy(app)
    result = runner.invoke(args=["users", "set-password", "--email", "submitter@example.com",
                                       "--password", PASSWORD + "?"])
    assert result.exit_code == 0, result.output
    assert _signed_out(thief)


def test_a_fresh_sign_in_still_works_after_sessions_were_ended(app, users):
    original, _ = _signed_in_copy(app)
    original.post("/auth/logout")
    again = app.test_client()
    assert again.post("/auth/login", data={"email": "submitter@example.com", "password": PASSWORD}).status_code == 302
    assert again.get("/intake/").status_code == 200


def test_an_idle_session_ends(app, users):
    app.config["SESSION_IDLE_MINUTES"] = 30
    client = app.test_client()
    client.post("/auth/login", data={"email": "submitter@example.com", "password": PASSWORD})
    assert client.get("/intake/").status_code == 200
    with client.session_transaction() as sess:
        sess["seen"] -= 29 * 60
    assert client.get("/intake/").status_code == 200
    with client.session_transaction() as sess:
        sess["seen"] -= 31 * 60
    assert _signed_out(client)


def test_sessions_are_permanent_with_a_bounded_lifetime(app, users):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "submitter@example.com", "password": PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" in cookie
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_concurrent_sign_in_attempts_cannot_all_slip_past_the_lock(app, users, monkeypatch):
    import threading
    import time

    from views import auth as auth_view

    app.config.update(LOGIN_MAX_FAILURES=2, LOGIN_MAX_FAILURES_PER_ADDRESS=0)
    checked, real = [], auth_view.authenticate

    def slow_check(*args):
        # A password check takes a noticeable time (scrypt); every attempt racing it used to pass the lock.
        checked.append(1)
        time.sleep(0.3)
        return real(*args)

    monkeypatch.setattr(auth_view, "authenticate", slow_check)
    start, statuses = threading.Barrier(6), []

    def attempt():
        client = app.test_client()
        start.wait()
        response = client.post("/auth/login", data={"email": "submitter@example.com", "password": "wrong!"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == 2 and sorted(statuses) == [200, 200, 429, 429, 429, 429]


def test_a_successful_sign_in_takes_back_its_count_against_the_address(app, users):
    app.config.update(LOGIN_MAX_FAILURES=0, LOGIN_MAX_FAILURES_PER_ADDRESS=2)
    client = app.test_client()
    for _ in range(5):
        response = client.post("/auth/login", data={"email": "submitter@example.com", "password": PASSWORD})
        assert response.status_code == 302
        client.post("/auth/logout")
