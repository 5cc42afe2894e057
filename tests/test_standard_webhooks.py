"""Standard Webhooks signatures: every delivery verifies with the ``standardwebhooks`` library, whether the
webhook's secret was generated now, chosen by the client, or registered before (raw secrets keep working),
and the deprecated X-Intake-* headers still come along for one release."""

import base64
import json
import secrets
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from api.delivery import deliver_due
from api.signing import verify
from storage import get_db
from storage.clock import now_iso
from storage.webhook_secrets import signing_key, whsec
from tests.api_support import PROBLEM, Receiver, backoff_seconds, bearer, make_token, new_case
from tests.hooks_support import VerifyingReceiver

HOOKS = "/api/v1/webhooks"


@pytest.fixture
def token(app):
    return make_token(app)


def deliver(app, now=None):
    with app.app_context():
        return deliver_due(get_db(), app.config, now=now)


def register(client, token, url, secret=None):
    body = {"url": url} if secret is None else {"url": url, "secret": secret}
    response = client.post(HOOKS, json=body, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_case(client, token, ref="JIRA-7"):
    response = client.post("/api/v1/cases", json=new_case(ref), headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_generated_secret_is_a_whsec_key_the_library_verifies_with(client, app, token):
    with Receiver() as receiver:
        hook = register(client, token, receiver.url)
        open_case(client, token)
        assert deliver(app)["delivered"] == 1
    assert hook["secret"] == hook["signing_secret"] and hook["secret"].startswith("whsec_")
    assert len(base64.b64decode(hook["secret"][6:])) == 32
    request = receiver.requests[0]
    payload = Webhook(hook["signing_secret"]).verify(request["body"], request["headers"])
    assert payload["event"] == "case.state_changed" and payload["case"]["external_ref"] == "JIRA-7"
    assert request["headers"]["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("secret", ["a-shared-secret-of-some-length", "ünïcödé secret, with spaces"])
def test_a_secret_chosen_freely_signs_both_ways(client, app, token, secret):
    with Receiver() as receiver:
        hook = register(client, token, receiver.url, secret)
        open_case(client, token)
        deliver(app)
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert hook["secret"] == secret and hook["signing_secret"] == whsec(secret)
    # The whsec_ form, or the secret's UTF-8 bytes as the key, in the library: the same key.
    assert Webhook(hook["signing_secret"]).verify(body, headers)["delivery_id"] == headers["webhook-id"]
    assert Webhook(secret.encode()).verify(body, headers)
    assert verify(secret, headers["X-Intake-Timestamp"], body, headers["X-Intake-Signature"])


def test_a_whsec_secret_given_by_the_client_is_used_as_its_key(client, app, token):
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with Receiver() as receiver:
        hook = register(client, token, receiver.url, secret)
        open_case(client, token)
        deliver(app)
    request = receiver.requests[0]
    assert hook["signing_secret"] == secret
    assert Webhook(secret).verify(request["body"], request["headers"])


@pytest.mark.parametrize("secret", ["whsec_not*base64*at*all*", "whsec_" + base64.b64encode(b"k" * 16).decode(),
                                    "whsec_" + base64.b64encode(b"k" * 65).decode()])
def test_a_malformed_whsec_secret_is_refused_on_the_secret_field(client, token, secret):
    response = client.post(HOOKS, json={"url": "http://127.0.0.1:9/x", "secret": secret}, headers=bearer(token))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    error = response.get_json()["errors"][0]
    assert error["field"] == "secret" and "24 to 64 bytes" in error["message"]


def test_a_webhook_registered_before_keeps_its_secret_working(client, app, token):
    # A row as the previous release wrote it: a token_urlsafe secret, registered by the operator.
    old_secret = secrets.token_urlsafe(32)
    with Receiver() as receiver:
        with app.app_context():
            get_db()["webhooks"].insert({"url": receiver.url, "secret": old_secret, "token_id": None, "active": 1,
                                         "created_at": now_iso()})
        open_case(client, token)
        assert deliver(app)["delivered"] == 1
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    # Old receivers keep verifying the deprecated header with the secret they have...
    assert verify(old_secret, headers["X-Intake-Timestamp"], body, headers["X-Intake-Signature"])
    # ...and switch to the library with the whsec_ form of that same secret, documented in docs/integrations.md.
    converted = "whsec_" + base64.b64encode(old_secret.encode()).decode()
    assert whsec(old_secret) == converted and signing_key(old_secret) == old_secret.encode()
    assert Webhook(converted).verify(body, headers)["case"]["external_ref"] == "JIRA-7"


def test_the_library_refuses_a_changed_body_another_key_or_a_replayed_old_delivery(client, app, token):
    with Receiver() as receiver:
        hook = register(client, token, receiver.url)
        open_case(client, token)
        deliver(app)
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    webhook = Webhook(hook["signing_secret"])
    with pytest.raises(WebhookVerificationError):
        webhook.verify(body.replace(b"JIRA-7", b"JIRA-8"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(body, {**headers, "webhook-id": "another-id"})
    stale = str(int(headers["webhook-timestamp"]) - 3600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhook.verify(body, {**headers, "webhook-timestamp": stale})


def test_the_webhook_id_is_the_delivery_id_on_every_retry(client, app, token):
    with Receiver(script=[503]) as receiver:
        hook = register(client, token, receiver.url)
        open_case(client, token)
        start = time.time()
        deliver(app, now=start)
        deliver(app, now=start + backoff_seconds(1))
    first, second = (r["headers"] for r in receiver.requests)
    assert first["webhook-id"] == second["webhook-id"] == first["X-Intake-Delivery"]
    assert json.loads(receiver.requests[1]["body"])["delivery_id"] == first["webhook-id"]
    log = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(token)).get_json()["items"][0]
    assert log["delivery_id"] == first["webhook-id"]
    assert int(second["webhook-timestamp"]) == int(second["X-Intake-Timestamp"]) >= int(first["webhook-timestamp"])


def test_a_receiver_checking_with_the_library_accepts_every_delivery(client, app, token):
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with VerifyingReceiver(secret) as receiver:
        register(client, token, receiver.url, secret)
        open_case(client, token)
        assert deliver(app)["delivered"] == 1
        assert receiver.wait_for(1)[0]["case"]["external_ref"] == "JIRA-7"


def test_the_openapi_document_describes_the_delivery_and_a_real_one_matches_it(client, app, token):
    from jsonschema import Draft202012Validator
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    operation = doc["webhooks"]["case.state_changed"]["post"]
    declared = {p["name"]: p["deprecated"] for p in operation["parameters"]}
    assert {name for name, deprecated in declared.items() if not deprecated} == \
        {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(declared[name] for name in declared if name.startswith("X-Intake-"))
    with Receiver() as receiver:
        register(client, token, receiver.url)
        open_case(client, token)
        deliver(app)
    request = receiver.requests[0]
    assert set(declared) <= set(request["headers"])
    schema = {"$ref": operation["requestBody"]["content"]["application/json"]["schema"]["$ref"],
              "components": doc["components"]}
    errors = list(Draft202012Validator(schema).iter_errors(json.loads(request["body"])))
    assert errors == []
    assert list(Draft202012Validator(schema).iter_errors({"event": "case.state_changed"}))
