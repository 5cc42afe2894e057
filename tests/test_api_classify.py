"""POST /classify, GET /policies, GET /health and the error statuses every API call shares."""

import pytest

from storage import get_db
from storage.tokens import revoke_token
from tests.api_support import LEGAL_CHATBOT, assert_problem, bearer, make_token

URL = "/api/v1/classify"


def test_classify_returns_classification_facts_verdicts_and_clauses(client, token, app):
    response = client.post(URL, json={"description": LEGAL_CHATBOT}, headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    classification = body["classification"]
    for key in ("domains", "domain_probabilities", "audience", "audience_probability", "prohibited",
                "prohibited_probability", "chatbot", "minors", "chatbot_probability", "minors_probability",
                "uncertain", "explanation", "model_version"):
        assert key in classification
    assert "legal" in classification["domains"]
    assert classification["explanation"]["nearest"]
    assert body["facts"]["domains"]["source"] == "predicted"
    assert set(body["assessment"]["vendors"]) == {"anthropic", "openai"}
    safeguards = [s for v in body["assessment"]["vendors"].values() for s in v["safeguards"]]
    assert safeguards and all(s["clauses"] and s["clauses"][0]["quote"] for s in safeguards)
    assert body["risk_tier"] == body["assessment"]["tier"]
    assert body["packs"] == body["assessment"]["packs"]
    assert body["model_version"] == classification["model_version"]
    with app.app_context():
        assert get_db()["cases"].count == 0
        assert get_db()["api_usage"].rows_where().__next__()["count"] == 1


def test_answers_override_predictions_and_the_date_picks_the_packs(client, token):
    body = {"description": LEGAL_CHATBOT, "answers": {"audience": "business", "vendors": ["openai"]},
            "on": "2024-07-01"}
    result = client.post(URL, json=body, headers=bearer(token)).get_json()
    assert result["facts"]["audience"] == {**result["facts"]["audience"], "value": "business", "source": "answered"}
    assert set(result["assessment"]["vendors"]) == {"openai"}
    assert result["on"] == "2024-07-01"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_401_without_a_valid_token(client, headers):
    response = client.post(URL, json={"description": LEGAL_CHATBOT}, headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_401_after_revoking(client, app, token):
    with app.app_context():
        revoke_token(get_db(), "jira")
    assert_problem(client.post(URL, json={"description": LEGAL_CHATBOT}, headers=bearer(token)), 401)


def test_403_without_the_scope(client, app):
    reader = make_token(app, "cases:read", name="reader")
    body = assert_problem(client.post(URL, json={"description": LEGAL_CHATBOT}, headers=bearer(reader)), 403)
    assert "classify" in body["detail"]


def test_400_on_bad_json(client, token):
    response = client.post(URL, data='{"description": ', content_type="application/json", headers=bearer(token))
    assert "not valid JSON" in assert_problem(response, 400)["detail"]


def test_415_when_not_json(client, token):
    response = client.post(URL, data="description=x", content_type="application/x-www-form-urlencoded",
                           headers=bearer(token))
    assert_problem(response, 415)


def test_413_over_64_kb(client, token):
    response = client.post(URL, json={"description": "word " * 14000}, headers=bearer(token))
    assert_problem(response, 413)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "description"),
    ({"description": ""}, "description"),
    ({"description": "   !!! "}, "description"),
    ({"description": "x", "answers": {"audience": "aliens"}}, "answers.audience"),
    ({"description": "x", "answers": {"prohibited": "fraud_scams_spam"}}, "answers.prohibited"),
    ({"description": "x", "answers": {"vendors": []}}, "answers.vendors"),
    ({"description": "x", "on": "yesterday"}, "on"),
    ({"description": "x", "colour": "red"}, "colour"),
    (["not", "an", "object"], ""),
])
def test_422_names_each_invalid_field(client, token, body, field):
    problem = assert_problem(client.post(URL, json=body, headers=bearer(token)), 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert all(e["message"] and e["pointer"].startswith("#") for e in problem["errors"])


def test_429_with_retry_after_per_token(client, app, token):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    other = make_token(app, name="other")
    for _ in range(2):
        assert client.get("/api/v1/policies", headers=bearer(token)).status_code == 200
    response = client.get("/api/v1/policies", headers=bearer(token))
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/policies", headers=bearer(other)).status_code == 200
    assert client.get("/api/v1/health").status_code == 200


def test_404_and_405_are_problems(client, token):
    assert_problem(client.get("/api/v1/nothing-here", headers=bearer(token)), 404)
    response = client.get(URL, headers=bearer(token))
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_503_when_no_model_is_trained(client, app, token):
    app.extensions.pop("classifier")
    app.config.pop("CLASSIFIER")
    problem = assert_problem(client.post(URL, json={"description": LEGAL_CHATBOT}, headers=bearer(token)), 503)
    assert "classifier train" in problem["detail"]
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert health.get_json()["model"]["ok"] is False
    # Unauthenticated: no file names or paths.
    assert app.config["MODEL_DIR"] not in health.data.decode() and ".skops" not in health.data.decode()
    assert "service log" in health.get_json()["model"]["error"]


def test_an_unexpected_error_is_a_plain_500(client, app, token, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("rules.assess", boom)
    response = client.post(URL, json={"description": LEGAL_CHATBOT}, headers=bearer(token))
    assert "secret internals" not in assert_problem(response, 500).get("detail", "")


def test_health_needs_no_token(client, app):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["model"]["loaded"]
    assert body["model"]["version"] == app.extensions["classifier"].version
    assert "anthropic-2025-09-15" in body["packs"]


def test_policies_lists_the_packs_in_force_with_rules_and_clauses(client, token):
    body = client.get("/api/v1/policies?on=2024-07-01", headers=bearer(token)).get_json()
    ids = [p["id"] for p in body["packs"]]
    assert "anthropic-2024-06-06" in ids and "anthropic-2025-09-15" not in ids
    pack = body["packs"][ids.index("anthropic-2024-06-06")]
    assert pack["rules"] and pack["clauses"][0]["quote"]
    assert all(":" in ref for rule in pack["rules"] for ref in rule["clauses"])
    assert client.get("/api/v1/policies?on=never", headers=bearer(token)).status_code == 422


def test_classify_returns_the_new_facts_with_their_provenance(client, token):
    text = ("A lawyer reviews the contract before court for customers and the public. It ranks and scores each "
            "person and decides.")
    body = client.post(URL, json={"description": text}, headers=bearer(token)).get_json()
    classification = body["classification"]
    for key in ("decisions_about_individuals", "decisions_about_individuals_probability", "qualified_human_review",
                "prohibited_category", "prohibited_category_share", "unreadable"):
        assert key in classification
    assert classification["unreadable"] is None
    assert body["facts"]["decisions_about_individuals"] == {
        "value": classification["decisions_about_individuals"], "source": "predicted",
        "probability": classification["decisions_about_individuals_probability"],
        "uncertain": "decisions_about_individuals" in classification["uncertain"]}
    answered = client.post(URL, json={"description": text, "answers": {"decisions_about_individuals": False}},
                           headers=bearer(token)).get_json()
    assert answered["facts"]["decisions_about_individuals"]["source"] == "answered"


@pytest.mark.parametrize(("text", "reason"), [
    ("Un asistente que responde a los clientes del banco sobre sus préstamos y tarjetas.", "language not supported"),
    ("HR copilot", "too little to go on"),
])
def test_text_the_model_cannot_read_is_marked_uncertain_and_sent_to_review(client, token, text, reason):
    body = client.post(URL, json={"description": text}, headers=bearer(token)).get_json()
    classification = body["classification"]
    assert classification["unreadable"] == reason
    assert {"audience", "prohibited", "legal", "decisions_about_individuals"} <= set(classification["uncertain"])
    assert body["facts"]["prohibited"]["uncertain"] is True
    assert {v["verdict"] for v in body["assessment"]["vendors"].values()} == {"needs_review"}


def test_a_use_the_classifier_reads_in_the_text_decides_the_openai_verdict(client, token):
    body = {"description": "A sports betting app with live odds, casino games and wager tips for customers.",
            "answers": {"vendors": ["openai"], "audience": "consumer"}}
    result = client.post(URL, json=body, headers=bearer(token)).get_json()
    assert result["classification"]["uses"] == ["gambling"]
    assert result["facts"]["gambling"] == {"value": True, "source": "predicted", "uncertain": False}
    assert result["facts"]["military_use"] == {"value": False, "source": "predicted", "uncertain": False}
    assert result["assessment"]["vendors"]["openai"]["verdict"] == "prohibited"
    # A submitter's "no" cannot clear what the classifier read: a reviewer settles it.
    body["answers"]["gambling"] = False
    result = client.post(URL, json=body, headers=bearer(token)).get_json()
    assert result["assessment"]["vendors"]["openai"]["verdict"] in ("needs_review", "prohibited")


def test_an_ordinary_description_has_no_possible_uses(client, token):
    result = client.post(URL, json={"description": LEGAL_CHATBOT}, headers=bearer(token)).get_json()
    assert result["classification"]["possible_uses"] == []
    assert all(result["facts"][name]["value"] is False for name in
               ("gambling", "military_use", "operates_critical_infrastructure"))


def test_the_description_limit_is_the_app_s_setting(client, app, token):
    long = LEGAL_CHATBOT * (25_000 // len(LEGAL_CHATBOT) + 1)
    body = assert_problem(client.post(URL, json={"description": long}, headers=bearer(token)), 422)
    assert body["errors"][0]["field"] == "description" and "at most 20,000 characters" in body["errors"][0]["message"]
    app.config["MAX_DESCRIPTION_CHARS"] = 30_000
    assert client.post(URL, json={"description": long}, headers=bearer(token)).status_code == 200
