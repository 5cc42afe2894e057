"""The intake wizard: each step's validation, drafts and resuming, conditional follow-ups, review, submit."""

import re

import pytest

from classifier.embedders import ModelMissingError
from forms import wizard
from storage import get_db
from tests.conftest import PASSWORD, get_record
from tests.intake_support import DATA, DESCRIPTION, PRODUCT, USERS, fill, start, submit
from views import intake as intake_views


def test_first_step_is_shown_and_nothing_is_stored_before_moving_on(app, signed_in):
    response = signed_in.get("/intake/new")
    assert response.status_code == 200 and "Product name" in response.data.decode()
    with app.app_context():
        assert get_db()["cases"].count == 0


@pytest.mark.parametrize(("change", "message"), [
    ({"name": ""}, "Give the product a name."),
    ({"name": "x" * 201}, "Field cannot be longer than 200 characters."),
    ({"team": "  "}, "Name the team that builds it."),
    ({"owner_email": "not-an-email"}, "Invalid email address."),
    ({"vendors": []}, "Choose at least one vendor."),
    ({"vendors": ["mistral"]}, "is not a valid choice"),
    ({"access_path": ""}, "Choose how it reaches the model."),
])
def test_product_step_validation_keeps_what_was_typed(app, signed_in, change, message):
    response = signed_in.post("/intake/new", data={**PRODUCT, "team": "Team <b>ops</b>", **change})
    page = response.data.decode()
    assert response.status_code == 200 and message in page
    assert 'class="error"' in page
    if "team" not in change:
        assert "Team &lt;b&gt;ops&lt;/b&gt;" in page
    with app.app_context():
        assert get_db()["cases"].count == 0


def test_moving_on_creates_a_draft_at_the_next_step(app, signed_in, users):
    case_id = start(signed_in)
    case = get_record(app, case_id)
    assert case["state"] == "draft" and case["step"] == "description" and case["title"] == "Contract helper"
    assert case["submitter_id"] == users["submitter"]["id"]
    assert case["intake"]["product"]["vendors"] == ["anthropic", "openai"]


def test_a_double_click_on_the_first_step_opens_one_draft(app, signed_in):
    page = signed_in.get("/intake/new").data.decode()
    key = re.search(r'name="draft_key" value="([^"]+)"', page).group(1)
    first = signed_in.post("/intake/new", data={**PRODUCT, "draft_key": key})
    again = signed_in.post("/intake/new", data={**PRODUCT, "draft_key": key})
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context():
        assert get_db()["cases"].count == 1


@pytest.mark.parametrize(("text", "message"), [
    ("", "Describe the use case."),
    ("too short", "Too short: write at least 40 characters (9 so far)."),
    ("x" * 20_001, "Too long: at most 20,000 characters"),
])
def test_description_step_validation(app, signed_in, text, message):
    case_id = start(signed_in)
    response = signed_in.post(f"/intake/{case_id}/description", data={"description": text, "next": "1"})
    assert response.status_code == 200 and message in response.data.decode()
    assert get_record(app, case_id)["step"] == "description"


def test_description_guidance_is_shown_and_html_is_escaped(signed_in):
    case_id = start(signed_in)
    page = signed_in.get(f"/intake/{case_id}/description").data.decode()
    assert "who uses it and what the model&#39;s output is used for" in page
    text = "<script>alert(1)</script> " + DESCRIPTION
    signed_in.post(f"/intake/{case_id}/description", data={"description": text, "next": "1"})
    page = signed_in.get(f"/intake/{case_id}/description").data.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_users_and_data_steps_require_answers(signed_in):
    case_id = start(signed_in)
    signed_in.post(f"/intake/{case_id}/description", data={"description": DESCRIPTION, "next": "1"})
    page = signed_in.post(f"/intake/{case_id}/users", data={"chatbot": "yes", "next": "1"}).data.decode()
    assert "Choose who the end users are." in page and page.count("Choose an answer.") == 4
    page = signed_in.post(f"/intake/{case_id}/users", data={**USERS, "minors": "maybe"}).data.decode()
    assert "Not a valid choice" in page
    signed_in.post(f"/intake/{case_id}/users", data=USERS)
    page = signed_in.post(f"/intake/{case_id}/data", data={"next": "1"}).data.decode()
    assert "Choose an answer." in page


def test_back_keeps_unvalidated_answers_and_next_keeps_every_answer(app, signed_in):
    case_id = start(signed_in)
    response = signed_in.post(f"/intake/{case_id}/description", data={"description": "half a thought", "back": "1"})
    assert response.headers["Location"] == f"/intake/{case_id}/product"
    page = signed_in.get(f"/intake/{case_id}/product").data.decode()
    assert 'value="Contract helper"' in page and 'value="owner@example.com"' in page
    page = signed_in.get(f"/intake/{case_id}/description").data.decode()
    assert "half a thought" in page
    assert get_record(app, case_id)["step"] == "product"


def test_a_draft_resumes_at_its_step_from_my_cases(signed_in):
    case_id = start(signed_in)
    signed_in.post(f"/intake/{case_id}/description", data={"description": DESCRIPTION, "next": "1"})
    page = signed_in.get("/intake/").data.decode()
    assert f'href="/intake/{case_id}/users"' in page and "Resume at Users and interaction" in page
    assert "Contract helper" in page


def test_followups_are_skipped_when_nothing_makes_them_relevant(signed_in):
    # Only OpenAI's rules read whether a qualified person reviews legal advice.
    case_id = fill(signed_in, product={**PRODUCT, "vendors": ["anthropic"]})
    response = signed_in.get(f"/intake/{case_id}/data")
    assert "Follow-up questions" not in response.data.decode()
    assert signed_in.get(f"/intake/{case_id}/followups").headers["Location"] == f"/intake/{case_id}/review"


def test_followups_show_only_the_relevant_questions(app, signed_in):
    users = {**USERS, "minors": "yes", "decisions_about_individuals": "yes"}
    case_id = start(signed_in)
    signed_in.post(f"/intake/{case_id}/description", data={"description": DESCRIPTION, "next": "1"})
    signed_in.post(f"/intake/{case_id}/users", data=users)
    response = signed_in.post(f"/intake/{case_id}/data", data={**DATA, "areas": ["political"]})
    assert response.headers["Location"] == f"/intake/{case_id}/followups"
    page = signed_in.get(f"/intake/{case_id}/followups").data.decode()
    assert "how do you check users&#39; age" in page and "Political content: what for?" in page
    assert "qualified professional" in page
    assert "Law enforcement" not in page and "Simulated person" not in page
    page = signed_in.post(f"/intake/{case_id}/followups", data={"next": "1"}).data.decode()
    assert page.count('class="error"') == 3
    response = signed_in.post(f"/intake/{case_id}/followups", data={
        "age_assurance": "verified", "political_content": "campaigning", "qualified_human_review": "yes",
        "next": "1"})
    assert response.headers["Location"] == f"/intake/{case_id}/review"
    page = signed_in.get(f"/intake/{case_id}/review").data.decode()
    assert "campaigning" in page and "answered" in page


def test_review_shows_classification_verdicts_safeguards_and_facts(signed_in):
    case_id = fill(signed_in)
    page = signed_in.get(f"/intake/{case_id}/review").data.decode()
    assert "What the service concluded" in page and "legal" in page
    assert "Anthropic:" in page and "Openai:" in page
    assert "Policy clause" in page
    assert "Facts and where they come from" in page and "predicted" in page and "answered" in page
    assert "Only the classifier&#39;s predictions were used here" not in page


def test_correcting_an_answer_on_the_review_updates_the_result(app, signed_in):
    case_id = fill(signed_in)
    response = signed_in.post(f"/intake/{case_id}/review", data={"domains": [], "audience": "business",
                                                                 "update": "1"})
    assert response.status_code == 302
    page = signed_in.get(f"/intake/{case_id}/review").data.decode()
    assert "Your corrections are applied" in page
    assert "Domains: none." in page and "Audience: <strong>business</strong>" in page


def test_review_of_an_unfinished_draft_sends_the_user_to_the_missing_step(signed_in):
    case_id = start(signed_in)
    response = signed_in.get(f"/intake/{case_id}/review")
    assert response.headers["Location"] == f"/intake/{case_id}/description"


def test_submit_creates_one_submitted_case_and_a_double_submit_changes_nothing(app, signed_in):
    case_id = submit(signed_in)
    case = get_record(app, case_id)
    assert case["state"] == "submitted" and case["submitted_at"]
    assert case["assessment"]["vendors"] and case["facts"]["audience"]["source"] == "answered"
    assert case["answers"]["vendors"] == ["anthropic", "openai"]
    assert [h["to_state"] for h in case["history"]] == ["submitted"]
    again = signed_in.post(f"/intake/{case_id}/review", data={"audience": "consumer", "submit": "1"})
    assert again.status_code == 302
    with app.app_context():
        assert get_db()["cases"].count == 1
        assert len(get_record(app, case_id)["history"]) == 1
    # The steps of a submitted case can no longer be edited.
    response = signed_in.post(f"/intake/{case_id}/users", data=USERS)
    assert response.headers["Location"] == f"/review/cases/{case_id}"


def test_another_users_draft_is_not_found(client, auth, signed_in):
    case_id = start(signed_in)
    auth.logout()
    auth.login("reviewer@example.com")
    assert client.get(f"/intake/{case_id}/description").status_code == 404
    assert client.post(f"/intake/{case_id}/description", data={"description": DESCRIPTION}).status_code == 404
    assert "Contract helper" not in client.get("/intake/").data.decode()


def test_pages_need_a_signed_in_user(client, users):
    for url in ("/intake/", "/intake/new", "/intake/1/description"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    for url in ("/intake/new", "/intake/1/description", "/intake/1/review", "/intake/preview"):
        response = client.post(url, data={"description": DESCRIPTION})
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_personal_data_in_the_description_is_masked_before_storing(app, signed_in):
    case_id = start(signed_in)
    text = DESCRIPTION + " Contact jane.doe@example.com or +44 20 7946 0958."
    signed_in.post(f"/intake/{case_id}/description", data={"description": text, "next": "1"})
    case = get_record(app, case_id)
    assert "jane.doe" not in case["description"] and "[email redacted]" in case["description"]
    assert "[phone ending 958]" in case["intake"]["description"]["description"]


def test_followup_answers_become_facts(app, signed_in):
    case_id = start(signed_in)
    signed_in.post(f"/intake/{case_id}/description", data={"description": DESCRIPTION, "next": "1"})
    signed_in.post(f"/intake/{case_id}/users", data={**USERS, "simulates_real_person": "yes"})
    signed_in.post(f"/intake/{case_id}/data", data={**DATA, "areas": ["security", "law_enforcement"]})
    signed_in.post(f"/intake/{case_id}/followups", data={
        "security_testing_with_owner_consent": "yes", "law_enforcement_use": "back_office", "person_consent": "no",
        "historical_public_figure": "yes", "qualified_human_review": "no", "next": "1"})
    signed_in.post(f"/intake/{case_id}/review", data={"audience": "consumer", "submit": "1"})
    case = get_record(app, case_id)
    assert case["state"] == "submitted"
    assert case["answers"]["security_testing_with_owner_consent"] is True
    assert case["answers"]["law_enforcement_use"] == "back_office"
    assert case["answers"]["person_consent"] is False and case["answers"]["historical_public_figure"] is True
    assert case["facts"]["agentic_actions"] == {"value": ["tools"], "source": "answered", "uncertain": False,
                                                "previous": {"value": [], "source": "default"}}


def test_a_missing_or_stale_csrf_token_is_refused(app, users):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/auth/login").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"email": "submitter@example.com", "password": PASSWORD, "csrf_token": token})
    assert client.get("/intake/new").status_code == 200
    for bad in ({}, {"csrf_token": "stale"}):
        response = client.post("/intake/new", data={**PRODUCT, **bad})
        assert response.status_code == 400 and "The form expired" in response.data.decode()
    with app.app_context():
        assert get_db()["cases"].count == 0


def test_live_preview_answers_json_and_is_optional(signed_in):
    case_id = start(signed_in)
    page = signed_in.get(f"/intake/{case_id}/description").data.decode()
    assert 'id="preview"' in page and "preview.js" in page
    response = signed_in.post("/intake/preview", data={"description": DESCRIPTION})
    assert response.status_code == 200 and "legal" in response.get_json()["domains"]
    response = signed_in.post("/intake/preview", data={"description": "short"})
    assert response.status_code == 422 and "Too short" in response.get_json()["error"]


def test_confirming_a_prediction_keeps_it_a_prediction(app, signed_in):
    case_id = submit(signed_in)
    case = get_record(app, case_id)
    assert case["classification"]["domains"] == ["legal"]
    assert case["facts"]["domains"]["source"] == "predicted" and "domains" not in case["answers"]


def test_a_correction_sent_with_submit_counts(app, signed_in):
    case_id = fill(signed_in)
    signed_in.post(f"/intake/{case_id}/review", data={"domains": ["finance"], "audience": "consumer", "submit": "1"})
    case = get_record(app, case_id)
    assert case["state"] == "submitted"
    assert case["facts"]["domains"] == {"value": ["finance"], "source": "answered", "uncertain": False,
                                        "previous": case["facts"]["domains"]["previous"]}


def test_back_on_the_first_step_saves_and_stays(app, signed_in):
    case_id = start(signed_in)
    response = signed_in.post(f"/intake/{case_id}/product", data={**PRODUCT, "name": "Renamed helper", "back": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/intake/{case_id}/product"
    assert get_record(app, case_id)["intake"]["product"]["name"] == "Renamed helper"


def test_submitting_embeds_the_description_once(app, signed_in):
    case_id = fill(signed_in)
    embedder = app.extensions["classifier"].embedder
    calls = []
    original = embedder.embed_documents
    embedder.embed_documents = lambda texts, **kw: calls.append(list(texts)) or original(texts, **kw)
    try:
        response = signed_in.post(f"/intake/{case_id}/review", data={"domains": ["legal"], "audience": "consumer",
                                                                     "submit": "1"})
    finally:
        del embedder.embed_documents
    assert response.status_code == 302
    assert len(calls) == 1
    with app.app_context():
        assert get_db()["cases"].get(case_id)["embedding"]


BETTING = ("An assistant in our app that suggests sports betting picks and parlays to users from the live odds "
           "of each match.")


@pytest.mark.parametrize("vendors,asked", [(["openai"], True), (["anthropic"], False)])
def test_a_use_the_description_could_be_is_asked_when_it_matters(app, signed_in, vendors, asked):
    case_id = start(signed_in, {**PRODUCT, "vendors": vendors})
    signed_in.post(f"/intake/{case_id}/description", data={"description": BETTING, "next": "1"})
    signed_in.post(f"/intake/{case_id}/users", data=USERS)
    response = signed_in.post(f"/intake/{case_id}/data", data=DATA)
    assert response.headers["Location"].endswith("/followups" if asked else "/review")
    if not asked:
        return
    page = signed_in.get(f"/intake/{case_id}/followups").data.decode()
    assert "gambling or betting" in page and "qualified professional" not in page
    signed_in.post(f"/intake/{case_id}/followups", data={"gambling": "yes", "next": "1"})
    signed_in.post(f"/intake/{case_id}/review", data={"audience": "consumer", "submit": "1"})
    case = get_record(app, case_id)
    assert case["answers"]["gambling"] is True
    assert case["assessment"]["vendors"]["openai"]["verdict"] == "prohibited"


def test_review_of_legal_advice_is_asked_for_openai_without_decisions(signed_in):
    case_id = start(signed_in)
    signed_in.post(f"/intake/{case_id}/description", data={"description": DESCRIPTION, "next": "1"})
    signed_in.post(f"/intake/{case_id}/users", data=USERS)
    response = signed_in.post(f"/intake/{case_id}/data", data=DATA)
    assert response.headers["Location"] == f"/intake/{case_id}/followups"
    assert "qualified professional" in signed_in.get(f"/intake/{case_id}/followups").data.decode()


def _asked_after(signed_in, description, vendors=("openai",)):
    case_id = start(signed_in, {**PRODUCT, "vendors": list(vendors)})
    signed_in.post(f"/intake/{case_id}/description", data={"description": description, "next": "1"})
    signed_in.post(f"/intake/{case_id}/users", data=USERS)
    signed_in.post(f"/intake/{case_id}/data", data=DATA)
    return case_id, signed_in.get(f"/intake/{case_id}/followups").data.decode()


def test_the_use_questions_follow_what_the_classifier_read_in_the_description(app, signed_in):
    # No word of the screen's, but the classifier reads betting in it.
    case_id, page = _asked_after(signed_in, "Live odds and tips on every match for our customers, updated hourly.")
    assert get_record(app, case_id)["intake"]["description"][wizard.USES_READ] == ["gambling"]
    assert "gambling or betting" in page
    # The screen would ask about military use for any army; the classifier reads none here.
    _, page = _asked_after(signed_in, "A calendar that formats meeting notes for the army band's rehearsals.")
    assert "military or warfare use" not in page


def test_without_the_classifier_the_use_questions_fall_back_to_the_word_screen(app, signed_in, monkeypatch):
    def unavailable():
        raise ModelMissingError("no model here")

    monkeypatch.setattr(intake_views, "get_classifier", unavailable)
    case_id, page = _asked_after(signed_in, "A calendar that formats meeting notes for the army band's rehearsals.")
    assert wizard.USES_READ not in get_record(app, case_id)["intake"]["description"]
    assert "military or warfare use" in page
