"""Webhook secrets are sealed with Fernet in the database: the file no longer holds them, plaintext rows from an
earlier release are sealed by the next delivery pass, and a key that cannot open them fails the delivery with
the reason instead of sending it unsigned."""

import base64
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from standardwebhooks import Webhook

from api.delivery import deliver_due
from api.signing import verify
from app import create_app
from storage import get_db, open_db
from storage.clock import now_iso
from storage.webhook_secrets import instance_key
from tests.api_support import Receiver, bearer, make_token, new_case

HOOKS = "/api/v1/webhooks"


def deliver(app):
    with app.app_context():
        return deliver_due(get_db(), app.config)


def database_bytes(app):
    """The database file and its WAL as they are on disk, after a full checkpoint."""
    db = open_db(app.config["DATABASE"])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    db.close()
    path = Path(app.config["DATABASE"])
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def forms(secret):
    """Every way the secret could sit in the file: as given, its whsec_ form, its raw key."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    return [secret.encode(), secret.removeprefix("whsec_").encode(), key]


def stored_secret(app, hook_id):
    with app.app_context():
        return get_db()["webhooks"].get(hook_id)["secret"]


def test_a_registered_secret_is_not_in_the_database_file_and_still_signs(client, app):
    token = make_token(app)
    with Receiver() as receiver:
        hook = client.post(HOOKS, json={"url": receiver.url}, headers=bearer(token)).get_json()
        client.post("/api/v1/cases", json=new_case("OPS-9"), headers=bearer(token))
        assert deliver(app)["delivered"] == 1
    assert stored_secret(app, hook["id"]).startswith("fernet:")
    on_disk = database_bytes(app)
    assert b"OPS-9" in on_disk  # the check reads the data that is there
    assert not [f for f in forms(hook["secret"]) if f in on_disk]
    request = receiver.requests[0]
    assert Webhook(hook["signing_secret"]).verify(request["body"], request["headers"])


def test_a_plaintext_secret_from_before_is_sealed_by_the_next_delivery_pass(client, app):
    old_secret = secrets.token_urlsafe(32)
    with Receiver() as receiver:
        with app.app_context():
            table = get_db()["webhooks"]
            table.insert({"url": receiver.url, "secret": old_secret, "token_id": None, "active": 1,
                          "created_at": now_iso()})
            hook_id = table.last_pk
        assert old_secret.encode() in database_bytes(app)
        client.post("/api/v1/cases", json=new_case("OPS-10"), headers=bearer(make_token(app)))
        assert deliver(app)["delivered"] == 1
    assert stored_secret(app, hook_id).startswith("fernet:")
    assert old_secret.encode() not in database_bytes(app)
    headers, body = receiver.requests[0]["headers"], receiver.requests[0]["body"]
    assert verify(old_secret, headers["X-Intake-Timestamp"], body, headers["X-Intake-Signature"])
    assert Webhook(old_secret.encode()).verify(body, headers)


def test_a_key_that_cannot_open_the_secret_fails_the_delivery_with_the_reason(client, app, fake_classifier):
    token = make_token(app)
    with Receiver() as receiver:
        hook = client.post(HOOKS, json={"url": receiver.url}, headers=bearer(token)).get_json()
        client.post("/api/v1/cases", json=new_case("OPS-11"), headers=bearer(token))
        other = create_app({"TESTING": True, "DATABASE": app.config["DATABASE"], "CLASSIFIER": fake_classifier,
                            "WEBHOOK_ALLOW_LOOPBACK": True, "WEBHOOK_SECRETS_KEY": Fernet.generate_key()})
        assert deliver(other) == {"delivered": 0, "failed_attempts": 1, "given_up": 0}
    assert receiver.requests == []
    log = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(token)).get_json()["items"][0]
    assert log["status"] == "pending" and "cannot be decrypted" in log["last_error"]


def test_the_key_is_generated_once_private_and_can_be_set(tmp_path, fake_classifier):
    first, second = instance_key(tmp_path), instance_key(tmp_path)
    assert first == second and Fernet(first)
    assert (tmp_path / "webhook_key").stat().st_mode & 0o077 == 0
    given = Fernet.generate_key().decode()
    app = create_app({"CLASSIFIER": fake_classifier, "DATABASE": str(tmp_path / "a.db"),
                      "WEBHOOK_SECRETS_KEY": given})
    assert app.config["WEBHOOK_SECRETS_KEY"] == given

