"""Cases over the API (create, idempotent retries, read, list, comment) and the case store's states."""

import pytest

from storage import cases, get_db
from storage.cases import CaseNotFound, TransitionError, create_case, get_case, list_cases, set_state
from tests.api_support import assert_problem, bearer, make_token, new_case

URL = "/api/v1/cases"


def test_create_returns_201_with_the_case_and_its_assessment(client, app, token):
    response = client.post(URL, json=new_case(answers={"audience": "consumer"}), headers=bearer(token))
    assert response.status_code == 201
    case = response.get_json()
    assert response.headers["Location"] == f"{URL}/{case['id']}" == case["links"]["self"]
    assert case["state"] == "submitted" and case["external_ref"] == "JIRA-1"
    assert case["assessment"]["vendors"] and case["risk_tier"] == case["assessment"]["tier"]
    assert case["facts"]["audience"]["source"] == "answered"
    assert case["history"] == [{"from_state": "draft", "to_state": "submitted", "actor": "token:jira",
                                "note": None, "at": case["created_at"]}]
    with app.app_context():
        row = get_db()["cases"].get(case["id"])
    assert row["source"] == "api" and row["submitter_email"] == "pm@example.com"


def test_create_links_a_known_submitter(client, app, token, users):
    case = client.post(URL, json=new_case(submitter_email="submitter@example.com"), headers=bearer(token)).get_json()
    with app.app_context():
        assert get_db()["cases"].get(case["id"])["submitter_id"] == users["submitter"]["id"]


def test_idempotent_retry_returns_the_same_case_and_another_body_conflicts(client, app, token):
    headers = {**bearer(token), "Idempotency-Key": "ticket-1-attempt"}
    first = client.post(URL, json=new_case(), headers=headers)
    again = client.post(URL, json=new_case(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post(URL, json=new_case(title="Something else"), headers=headers)
    assert_problem(other, 409)
    # Keys belong to a token: another token may use the same key for its own case.
    second = client.post(URL, json=new_case(), headers={**bearer(make_token(app, name="sn")),
                                                         "Idempotency-Key": "ticket-1-attempt"})
    assert second.status_code == 201 and second.get_json()["id"] != first.get_json()["id"]
    with app.app_context():
        assert get_db()["cases"].count == 2


def test_idempotency_key_is_validated(client, token):
    response = client.post(URL, json=new_case(), headers={**bearer(token), "Idempotency-Key": "has space"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(("change", "field"), [
    ({"submitter_email": "not-an-email"}, "submitter_email"),
    ({"external_ref": ""}, "external_ref"),
    ({"answers": {"minors": "sometimes"}}, "answers.minors"),
])
def test_create_422_names_the_field(client, token, change, field):
    response = client.post(URL, json=new_case(**change), headers=bearer(token))
    assert_problem(response, 422)
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_get_a_case_and_404(client, token):
    case = client.post(URL, json=new_case(), headers=bearer(token)).get_json()
    fetched = client.get(f"{URL}/{case['id']}", headers=bearer(token))
    assert fetched.status_code == 200 and fetched.get_json() == case
    missing = client.get(f"{URL}/999", headers=bearer(token))
    assert_problem(missing, 404)


def test_list_filters_and_pages_with_a_cursor(client, app, token):
    ids = [client.post(URL, json=new_case(f"JIRA-{n}"), headers=bearer(token)).get_json()["id"] for n in range(5)]
    with app.app_context():
        set_state(get_db(), ids[1], "in_review", "reviewer@example.com")
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, query_string=query, headers=bearer(token)).get_json()
        seen += [item["id"] for item in page["items"]]
        assert all(item["links"] == {"self": f"{URL}/{item['id']}", "comments": f"{URL}/{item['id']}/comments"}
                   for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ids and len(seen) == 5
    by_state = client.get(URL, query_string={"state": "in_review"}, headers=bearer(token)).get_json()
    assert [c["id"] for c in by_state["items"]] == [ids[1]]
    by_ref = client.get(URL, query_string={"external_ref": "JIRA-3"}, headers=bearer(token)).get_json()
    assert [c["id"] for c in by_ref["items"]] == [ids[3]]
    future = client.get(URL, query_string={"updated_since": "2999-01-01T00:00:00Z"}, headers=bearer(token))
    assert future.get_json()["items"] == []
    past = client.get(URL, query_string={"updated_since": "2000-01-01T00:00:00"}, headers=bearer(token))
    assert len(past.get_json()["items"]) == 5


@pytest.mark.parametrize("query", [{"cursor": "garbage"}, {"limit": 0}, {"state": "lost"},
                                   {"updated_since": "soon"}])
def test_list_422_on_bad_parameters(client, token, query):
    response = client.get(URL, query_string=query, headers=bearer(token))
    assert_problem(response, 422)
    assert response.get_json()["errors"][0]["field"] == next(iter(query))


def test_comments(client, token):
    case = client.post(URL, json=new_case(), headers=bearer(token)).get_json()
    response = client.post(f"{URL}/{case['id']}/comments", json={"body": "Legal signed off."}, headers=bearer(token))
    assert response.status_code == 201 and response.headers["Location"] == f"{URL}/{case['id']}"
    comment = response.get_json()
    assert comment["author"] == "token:jira" and comment["case_id"] == case["id"]
    named = client.post(f"{URL}/{case['id']}/comments", json={"body": "ok", "author": "Ann"}, headers=bearer(token))
    # A name in the body never replaces the token as author (it could name a reviewer).
    assert named.get_json()["author"] == "token:jira (for Ann)"
    fetched = client.get(f"{URL}/{case['id']}", headers=bearer(token)).get_json()
    assert [c["body"] for c in fetched["comments"]] == ["Legal signed off.", "ok"]
    assert fetched["links"] == case["links"] == {"self": f"{URL}/{case['id']}",
                                                 "comments": f"{URL}/{case['id']}/comments"}
    assert client.post(f"{URL}/999/comments", json={"body": "x"}, headers=bearer(token)).status_code == 404
    assert client.post(f"{URL}/{case['id']}/comments", json={"body": ""}, headers=bearer(token)).status_code == 422


@pytest.mark.parametrize(("scopes", "method", "path", "status"), [
    ("classify", "post", URL, 403),
    ("classify", "get", URL, 403),
    ("cases:read", "post", URL, 403),
    ("cases:read", "get", URL, 200),
    ("cases:read", "post", f"{URL}/1/comments", 403),
    ("cases:write", "get", f"{URL}/1", 403),
    ("cases:write", "post", f"{URL}/1/comments", 201),
    ("cases:read", "get", "/api/v1/webhooks", 403),
    ("webhooks", "post", "/api/v1/classify", 403),
    ("webhooks", "get", "/api/v1/policies", 200),
])
def test_each_endpoint_checks_its_scope(client, app, token, scopes, method, path, status):
    client.post(URL, json=new_case(), headers=bearer(token))
    limited = make_token(app, scopes, name="limited")
    body = new_case() if path == URL else {"body": "hi"}
    response = getattr(client, method)(path, json=body if method == "post" else None, headers=bearer(limited))
    assert response.status_code == status, response.get_json()


# The store itself, on an in-memory database.


def _case(db, **extra):
    case, _ = create_case(db, title="t", description="d", external_ref="R-1", submitter_email=None,
                          classification={}, answers={}, facts={}, assessment={"tier": "low"}, actor="test", **extra)
    return case


def test_the_store_returns_data_not_api_urls(memory_db):
    case = _case(memory_db)
    assert "links" not in case and "links" not in get_case(memory_db, case["id"])
    assert all("links" not in item for item in list_cases(memory_db)[0])


@pytest.mark.parametrize("path", [
    ("in_review", "approved"),
    ("in_review", "rejected"),
    ("in_review", "changes_requested", "submitted", "in_review", "approved"),
])
def test_set_state_follows_the_workflow(memory_db, path):
    case = _case(memory_db)
    for state in path:
        case = set_state(memory_db, case["id"], state, "reviewer")
    assert case["state"] == path[-1]
    assert [h["to_state"] for h in case["history"]] == ["submitted", *path]


@pytest.mark.parametrize("path", [("approved",), ("in_review", "submitted"), ("in_review", "approved", "in_review"),
                                  ("draft",)])
def test_set_state_refuses_other_moves_and_writes_nothing(memory_db, path):
    case = _case(memory_db)
    memory_db["webhooks"].insert({"url": "http://127.0.0.1:9/", "secret": "s" * 16, "active": 1})
    with pytest.raises(TransitionError):
        for state in path:
            set_state(memory_db, case["id"], state, "reviewer")
    assert memory_db["webhook_deliveries"].count == len(path) - 1
    assert memory_db["case_history"].count == len(path)


def test_set_state_on_a_missing_case(memory_db):
    with pytest.raises(CaseNotFound):
        set_state(memory_db, 42, "in_review", "reviewer")


def test_every_state_change_queues_one_delivery_per_active_webhook(memory_db):
    for active in (1, 1, 0):
        memory_db["webhooks"].insert({"url": "http://127.0.0.1:9/", "secret": "s" * 16, "active": active})
    case = _case(memory_db)
    set_state(memory_db, case["id"], "in_review", "reviewer")
    rows = list(memory_db["webhook_deliveries"].rows_where(order_by="id"))
    assert [(r["webhook_id"], r["event"]) for r in rows] == [(1, cases.EVENT), (2, cases.EVENT)] * 2
    assert len({r["delivery_id"] for r in rows}) == 4


def test_a_failed_idempotent_insert_leaves_nothing_behind(memory_db):
    memory_db["api_tokens"].insert({"id": 1, "name": "t", "token_hash": "h", "scopes": "cases:write"})
    first = _case(memory_db, token_id=1, idempotency=("k", "hash-a"))
    again, created = create_case(memory_db, title="t", description="d", external_ref="R-1", submitter_email=None,
                                 classification={}, answers={}, facts={}, assessment={}, actor="test", token_id=1,
                                 idempotency=("k", "hash-a"))
    assert again["id"] == first["id"] and created is False
    with pytest.raises(cases.IdempotencyConflict):
        _case(memory_db, token_id=1, idempotency=("k", "hash-b"))
    assert memory_db["cases"].count == 1 and memory_db["case_history"].count == 1


def test_api_cases_are_found_as_similar_cases_and_cost_one_embedding(client, app, token):
    embedder = app.extensions["classifier"].embedder
    calls = []
    original = embedder.embed_documents
    embedder.embed_documents = lambda texts, **kw: calls.append(list(texts)) or original(texts, **kw)
    try:
        first = client.post(URL, json=new_case(), headers=bearer(token)).get_json()
        assert len(calls) == 1  # classifying and storing the vector share one pass
        second = client.post(URL, json=new_case(external_ref="JIRA-2"), headers=bearer(token)).get_json()
    finally:
        del embedder.embed_documents
    with app.app_context():
        from storage.reviews import similar

        row = get_db()["cases"].get(first["id"])
        found = similar(get_db(), second["id"])
    assert row["embedding"] and row["embedding_model"] == app.extensions["classifier"].version
    assert [f["id"] for f in found] == [first["id"]]
