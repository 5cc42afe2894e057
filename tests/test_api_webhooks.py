"""Webhooks: registration, signed deliveries, retries with backoff, order per case, the outbox across restarts."""

import json
import time

import pytest

from api.delivery import deliver_due, start_worker, stop_worker
from api.signing import sign, verify
from app import create_app
from storage import get_db, migrate
from storage.cases import set_state
from tests.api_support import Receiver, assert_problem, backoff_seconds, bearer, make_token, new_case

HOOKS = "/api/v1/webhooks"


def register(client, token, url, secret="a-shared-secret-of-some-length"):
    response = client.post(HOOKS, json={"url": url, "secret": secret}, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_case(client, token, ref="JIRA-1"):
    return client.post("/api/v1/cases", json=new_case(ref), headers=bearer(token)).get_json()


def deliver(app, now=None):
    with app.app_context():
        return deliver_due(get_db(), app.config, now=now)


def test_register_list_and_stop_a_webhook(client, app, token):
    created = client.post(HOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=bearer(token))
    assert created.status_code == 201
    hook = created.get_json()
    assert len(hook["secret"]) >= 32 and created.headers["Location"] == hook["links"]["deliveries"]
    assert hook["links"] == {"deliveries": f"{HOOKS}/{hook['id']}/deliveries"}
    listed = client.get(HOOKS, headers=bearer(token)).get_json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    assert listed[0]["links"] == hook["links"]
    other = make_token(app, "webhooks", name="other")
    assert client.get(HOOKS, headers=bearer(other)).get_json()["items"] == []
    assert client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(other)).status_code == 404
    assert client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(other)).status_code == 404
    assert client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(token)).status_code == 204
    assert client.get(HOOKS, headers=bearer(token)).get_json()["items"][0]["active"] is False


@pytest.mark.parametrize(("body", "field"), [({"url": "ftp://example.com/x"}, "url"),
                                             ({"url": "http://127.0.0.1/x", "secret": "short"}, "secret")])
def test_register_422(client, token, body, field):
    response = client.post(HOOKS, json=body, headers=bearer(token))
    assert_problem(response, 422)
    assert response.get_json()["errors"][0]["field"] == field


def test_deliveries_are_signed_with_the_secret_and_carry_a_delivery_id(client, app, token):
    with Receiver() as receiver:
        hook = register(client, token, receiver.url)
        case = open_case(client, token)
        assert deliver(app)["delivered"] == 1
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert verify("a-shared-secret-of-some-length", headers["X-Intake-Timestamp"], body,
                  headers["X-Intake-Signature"])
    assert not verify("another-secret-entirely", headers["X-Intake-Timestamp"], body, headers["X-Intake-Signature"])
    assert not verify("a-shared-secret-of-some-length", headers["X-Intake-Timestamp"], body + b" ",
                      headers["X-Intake-Signature"])
    payload = json.loads(body)
    assert payload["delivery_id"] == headers["X-Intake-Delivery"]
    assert payload["event"] == headers["X-Intake-Event"] == "case.state_changed"
    assert (payload["from_state"], payload["to_state"]) == ("draft", "submitted")
    assert payload["case"]["id"] == case["id"] and payload["case"]["assessment"]
    # The case as GET /cases/{id} shows it, links included (storage knows no URLs: the API supplies them).
    assert payload["case"]["links"] == case["links"] == {"self": f"/api/v1/cases/{case['id']}",
                                                         "comments": f"/api/v1/cases/{case['id']}/comments"}
    log = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(token)).get_json()["items"]
    assert log[0]["status"] == "delivered" and log[0]["attempt_log"][0]["status_code"] == 200


def test_signature_is_hmac_sha256_of_timestamp_and_body():
    import hashlib
    import hmac

    expected = hmac.new(b"k" * 16, b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k" * 16, 1700000000, b"{}") == f"sha256={expected}"
    assert not verify("k" * 16, 1700000000, b"{}", f"sha256={expected}", now=1700000000 + 3600)


def test_retry_with_backoff_after_the_receiver_was_down(client, app, token):
    with Receiver(script=[503, 500]) as receiver:
        hook = register(client, token, receiver.url)
        open_case(client, token)
        start = time.time()
        assert deliver(app, now=start) == {"delivered": 0, "failed_attempts": 1, "given_up": 0}
        # Not due again until the backoff has passed.
        assert deliver(app, now=start + 1)["failed_attempts"] == 0
        assert deliver(app, now=start + backoff_seconds(1))["failed_attempts"] == 1
        assert deliver(app, now=start + backoff_seconds(1) + backoff_seconds(2))["delivered"] == 1
    ids = {r["headers"]["X-Intake-Delivery"] for r in receiver.requests}
    assert [r["status"] for r in receiver.requests] == [503, 500, 200] and len(ids) == 1
    log = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(token)).get_json()["items"][0]
    assert [a["status_code"] for a in log["attempt_log"]] == [503, 500, 200] and log["attempts"] == 3


def test_an_unreachable_receiver_is_retried_for_24_hours_then_given_up(client, app, token):
    with Receiver() as receiver:
        url = receiver.url
    register(client, token, url)  # nothing listens there any more
    open_case(client, token)
    start, clock, attempts = time.time(), time.time(), 0
    while True:
        stats = deliver(app, now=clock)
        attempts += stats["failed_attempts"]
        if stats["given_up"]:
            break
        clock += backoff_seconds(attempts)
    assert clock - start >= 24 * 3600
    assert backoff_seconds(attempts) == app.config["WEBHOOK_BACKOFF_MAX_SECONDS"]
    assert deliver(app, now=clock + 10 ** 6)["failed_attempts"] == 0


def test_deliveries_of_one_case_go_out_in_order(client, app, token):
    with Receiver(script=[503]) as receiver:
        register(client, token, receiver.url)
        first, second = open_case(client, token, "A"), open_case(client, token, "B")
        with app.app_context():
            for state in ("in_review", "approved"):
                set_state(get_db(), first["id"], state, "reviewer@example.com")
        start = time.time()
        # The first delivery fails; the rest of case A waits behind it while case B goes out.
        deliver(app, now=start)
        assert [(p["case"]["id"], p["to_state"]) for p in receiver.accepted()] == [(second["id"], "submitted")]
        deliver(app, now=start + backoff_seconds(1))
    order = [p["to_state"] for p in receiver.accepted() if p["case"]["id"] == first["id"]]
    assert order == ["submitted", "in_review", "approved"]


def test_the_outbox_survives_a_restart(tmp_path, app, client, token, fake_classifier):
    with Receiver() as receiver:
        register(client, token, receiver.url)
        case = open_case(client, token)
        with app.app_context():
            set_state(get_db(), case["id"], "in_review", "reviewer@example.com")
        # The process stops before sending anything; a new one starts on the same database file.
        restarted = create_app({"TESTING": True, "DATABASE": app.config["DATABASE"], "CLASSIFIER": fake_classifier,
                                "WEBHOOK_ALLOW_LOOPBACK": True})
        with restarted.app_context():
            migrate(get_db())
        result = restarted.test_cli_runner().invoke(args=["webhooks", "deliver"])
        assert result.exit_code == 0 and "Delivered 2" in result.output
    assert [p["to_state"] for p in receiver.accepted()] == ["submitted", "in_review"]


def test_a_webhook_stopped_meanwhile_is_not_called(client, app, token):
    with Receiver() as receiver:
        hook = register(client, token, receiver.url)
        open_case(client, token)
        client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(token))
        assert deliver(app)["delivered"] == 0
    assert receiver.requests == []


def test_the_worker_thread_delivers_when_turned_on(client, app, token):
    app.config.update(WEBHOOK_WORKER=True, WEBHOOK_POLL_SECONDS=0.05)
    with Receiver() as receiver:
        register(client, token, receiver.url)
        open_case(client, token)  # the first request starts the worker
        worker = app.extensions["webhook_worker"]
        try:
            for _ in range(200):  # bounded wait for the thread, not a timing assertion
                if receiver.accepted():
                    break
                worker.wake.set()
                time.sleep(0.05)
        finally:
            stop_worker(app)
    assert [p["to_state"] for p in receiver.accepted()] == ["submitted"]
    assert not worker.is_alive()


def test_the_worker_is_off_in_tests_by_default(app):
    assert start_worker(app) is None
