import pytest

from classifier.predictor import ModelFileError


def test_form_is_shown(signed_in):
    response = signed_in.get("/try/")
    assert response.status_code == 200
    assert b"Describe the use case" in response.data


def test_classification_and_verdicts_are_shown(signed_in):
    text = "A chatbot where customers ask a lawyer about a contract."
    response = signed_in.post("/try/", data={"description": text})
    assert response.status_code == 200
    page = response.data.decode()
    assert "Domain: legal" in page and "Classification" in page
    assert "Most similar training examples" in page
    assert "What the vendors&#39; policies require" in page or "What the vendors' policies require" in page
    assert "human_in_the_loop" in page or "Human" in page


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("", "Describe the use case"),
        ("   ", "Describe the use case"),
        ("x" * 20_001, "the limit is 20,000"),
        ("?!?!", "empty"),
    ],
)
def test_bad_descriptions_show_an_error_next_to_the_field(signed_in, description, message):
    response = signed_in.post("/try/", data={"description": description})
    assert response.status_code == 200
    assert message in response.data.decode()
    assert "Classification</h2>" not in response.data.decode()


def test_typed_text_is_kept_and_escaped(signed_in):
    response = signed_in.post("/try/", data={"description": "<script>alert(1)</script> a lawyer chat"})
    page = response.data.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; a lawyer chat" in page


@pytest.mark.parametrize(
    "text", ["🤖 un chatbot pour les clients", "为患者提供诊断的聊天机器人", "ctrl\x01chars\x02 here"]
)
def test_other_languages_emoji_and_control_characters_get_a_result(signed_in, text):
    response = signed_in.post("/try/", data={"description": text})
    assert response.status_code == 200
    assert "Classification</h2>" in response.data.decode()


def test_missing_model_is_reported_not_a_500(app, signed_in, monkeypatch):
    import assessment

    def missing():
        raise ModelFileError("No model trained on the current training data.")

    monkeypatch.setattr(assessment, "get_classifier", missing)
    response = signed_in.post("/try/", data={"description": "A legal chatbot for customers."})
    assert response.status_code == 503
    assert "not available right now" in response.data.decode()
    assert "A legal chatbot for customers." in response.data.decode()


def test_unknown_page_is_a_friendly_404(signed_in):
    response = signed_in.get("/nowhere")
    assert response.status_code == 404 and b"Not found" in response.data


def test_api_paths_get_problem_json(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json()["status"] == 404
    # The API's renderer: the same body as an API error, instance included.
    assert response.get_json() == {"type": "about:blank", "title": "Not Found", "status": 404,
                                   "detail": response.get_json()["detail"], "instance": "/api/v1/nothing"}


def test_a_405_under_the_api_keeps_its_allow_header(client):
    response = client.delete("/api/v1/health")
    assert response.status_code == 405 and response.content_type == "application/problem+json"
    assert "GET" in response.headers["Allow"]


# A long description, between the default limit (20,000 characters) and a raised one.
LONG = "A chatbot where customers ask a lawyer about a contract before court. " * 360


@pytest.mark.parametrize("path, field", [("/try/", "description"), ("/intake/preview", "description")])
def test_a_raised_description_limit_is_the_classifier_s_limit_too(app, signed_in, path, field):
    """INTAKE_MAX_DESCRIPTION_CHARS is the one limit: the forms let 25,000 characters through, and so must the
    classifier behind them (with its own 20,000 it refused them, and the try page answered 500)."""
    assert 20_000 < len(LONG) < 30_000
    app.config["MAX_DESCRIPTION_CHARS"] = 30_000
    response = signed_in.post(path, data={field: LONG})
    assert response.status_code == 200, response.data.decode()[-2000:]
