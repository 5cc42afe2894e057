"""Cost limits: the classifier pages are limited per user, API limits hold across every worker process, unknown
tokens are limited per address, and a token can have a daily classification budget."""

from app import create_app
from storage import get_db, rate_limits
from tests.api_support import LEGAL_CHATBOT, assert_problem, bearer, make_token, new_case
from tests.intake_support import DESCRIPTION, fill


def test_the_api_limit_holds_across_worker_processes(app, fake_classifier):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    # A second app on the same database file stands for gunicorn's second worker.
    other = create_app({"TESTING": True, "DATABASE": app.config["DATABASE"], "CLASSIFIER": fake_classifier,
                        "API_RATE_LIMIT": "2 per minute"})
    token = make_token(app)
    first, second = app.test_client(), other.test_client()
    assert first.get("/api/v1/policies", headers=bearer(token)).status_code == 200
    assert second.get("/api/v1/policies", headers=bearer(token)).status_code == 200
    for client in (first, second):
        response = client.get("/api/v1/policies", headers=bearer(token))
        assert_problem(response, 429)
        assert int(response.headers["Retry-After"]) >= 1


def test_unknown_tokens_are_limited_per_address(app, client):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    statuses = [client.get("/api/v1/policies", headers=bearer(f"itk_made_up_{i}")).status_code for i in range(3)]
    assert statuses == [401, 401, 429]
    assert client.get("/api/v1/policies", headers=bearer(make_token(app))).status_code == 200


def test_a_token_has_a_daily_classification_budget(app, client):
    app.config["API_DAILY_CLASSIFY_BUDGET"] = 2
    token, other = make_token(app), make_token(app, name="other")
    classify = {"description": LEGAL_CHATBOT}
    assert client.post("/api/v1/classify", json=classify, headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/cases", json=new_case(), headers=bearer(token)).status_code == 201
    for path, body in (("/api/v1/classify", {"description": LEGAL_CHATBOT}), ("/api/v1/cases", new_case("J-2"))):
        response = client.post(path, json=body, headers=bearer(token))
        assert response.status_code == 429 and "daily budget" in response.get_json()["detail"]
        assert 1 <= int(response.headers["Retry-After"]) <= 86400
    assert client.post("/api/v1/classify", json=classify, headers=bearer(other)).status_code == 200


def _signed_in(app, email="submitter@example.com"):
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": "correct horse battery"})
    return client


def test_the_try_page_is_limited_per_user(app, users):
    app.config["WEB_CLASSIFY_RATE_LIMIT"] = "2 per minute"
    client = _signed_in(app)
    statuses = [client.post("/try/", data={"description": DESCRIPTION}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "too often" in client.post("/try/", data={"description": DESCRIPTION}).data.decode()
    assert _signed_in(app, "reviewer@example.com").post("/try/", data={"description": DESCRIPTION}).status_code == 200


def test_the_description_step_the_live_preview_and_the_review_step_share_the_limit(app, users):
    client = _signed_in(app)
    app.config["WEB_CLASSIFY_RATE_LIMIT"] = "3 per minute"
    case_id = fill(client)  # saving the description reads the uses in it: one classification
    assert client.post("/intake/preview", data={"description": DESCRIPTION}).status_code == 200
    assert client.get(f"/intake/{case_id}/review").status_code == 200
    response = client.post("/intake/preview", data={"description": DESCRIPTION})
    assert response.status_code == 429 and response.get_json()["error"] and response.headers["Retry-After"]
    response = client.get(f"/intake/{case_id}/review")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1


def test_a_counter_starts_again_in_the_next_window(app):
    with app.app_context():
        db = get_db()
        assert [rate_limits.hit(db, "k", "1 per minute", now=t) for t in (0, 30, 60)] == [0, 30, 0]
