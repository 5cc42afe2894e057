"""A megabyte of text on every path that saves text: refused next to the field (or as a 413/422 problem)
in well under a second, and nothing of it stored. Complements the corpus in test_hostile_input.py."""

import time

import pytest

from storage import drafts, get_db
from tests.api_support import assert_problem, bearer, make_token, new_case
from tests.conftest import get_record
from tests.intake_support import fill, start, submit

# Just under the 1 MiB body limit with the other fields, so the form is parsed and the views see it.
# Words, not one long run: a run of letters also tests the masking speed (tests/test_masking.py).
MEGABYTE = ("lorem ipsum dolor " * 60_000)[:1_000_000]
# Generous for a loaded test machine; saving and masking a megabyte under the old code took hours.
FAST = 10.0


def timed(call):
    started = time.perf_counter()
    response = call()
    assert time.perf_counter() - started < FAST
    return response


def test_the_first_step_refuses_a_megabyte_name(app, client, auth):
    auth.login()
    page = timed(lambda: client.post("/intake/new", data={"name": MEGABYTE, "team": "t"})).data.decode()
    assert "Field cannot be longer than 200 characters." in page
    with app.app_context():
        assert not list(get_db().query("select id from cases"))


@pytest.mark.parametrize("button", ["back", "next"])
def test_the_description_step_refuses_a_megabyte_with_either_button(app, client, auth, button):
    auth.login()
    case_id = fill(client)
    before = get_record(app, case_id)["intake"]
    response = timed(lambda: client.post(f"/intake/{case_id}/description",
                                         data={"description": MEGABYTE, button: "1"}))
    page = response.data.decode()
    assert response.status_code == 200 and "Too long: at most 20,000 characters" in page
    assert 'class="field has-error"' in page
    assert get_record(app, case_id)["intake"] == before


@pytest.mark.parametrize("field", ["name", "team", "owner_email"])
def test_back_on_the_first_step_refuses_a_megabyte_in_any_field(app, client, auth, field):
    auth.login()
    case_id = start(client)
    before = get_record(app, case_id)
    data = {"name": "Helper", "team": "Team", "owner_email": "o@example.com", field: MEGABYTE, "back": "1"}
    page = timed(lambda: client.post(f"/intake/{case_id}/product", data=data)).data.decode()
    assert "Too long: at most" in page
    after = get_record(app, case_id)
    assert (after["intake"], after["title"]) == (before["intake"], before["title"])


def test_back_drops_choices_the_page_never_offered(app, client, auth):
    auth.login()
    case_id = fill(client)
    response = client.post(f"/intake/{case_id}/users", data={"end_users": MEGABYTE, "chatbot": "yes", "back": "1"})
    assert response.status_code == 302
    saved = get_record(app, case_id)["intake"]["users"]
    assert saved["end_users"] is None and saved["chatbot"] == "yes"
    response = client.post(f"/intake/{case_id}/data", data={"agentic_actions": ["tools", MEGABYTE], "back": "1"})
    assert response.status_code == 302
    assert get_record(app, case_id)["intake"]["data"]["agentic_actions"] == ["tools"]


def test_back_still_keeps_short_invalid_text(app, client, auth):
    auth.login()
    case_id = fill(client)
    response = client.post(f"/intake/{case_id}/description", data={"description": "too short", "back": "1"})
    assert response.status_code == 302
    assert get_record(app, case_id)["intake"]["description"]["description"] == "too short"


@pytest.mark.parametrize(("action", "field"), [("comment", "body"), ("reject", "reason"),
                                               ("request-changes", "message"), ("override", "reason")])
def test_reviewer_forms_refuse_a_megabyte(app, client, auth, action, field):
    auth.login()
    case_id = submit(client)
    auth.logout()
    auth.login("reviewer@example.com")
    version = get_record(app, case_id)["version"]
    client.post(f"/review/cases/{case_id}/assign", data={"version": version})
    before = get_record(app, case_id)
    data = {"version": before["version"], "fact": "minors", "value": "yes", field: MEGABYTE}
    response = timed(lambda: client.post(f"/review/cases/{case_id}/{action}", data=data))
    assert response.status_code == 400
    after = get_record(app, case_id)
    assert (after["version"], after["comments"]) == (before["version"], before["comments"])


def test_the_live_preview_and_the_try_page_refuse_a_megabyte(client, auth):
    auth.login()
    response = timed(lambda: client.post("/intake/preview", data={"description": MEGABYTE}))
    assert response.status_code == 422 and "Too long" in response.get_json()["error"]
    page = timed(lambda: client.post("/try/", data={"description": MEGABYTE})).data.decode()
    assert "the limit is 20,000" in page


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/classify", {"description": MEGABYTE}),
    ("/api/v1/cases", new_case(description=MEGABYTE)),
    ("/api/v1/cases/1/comments", {"body": MEGABYTE}),
])
def test_the_api_refuses_a_megabyte_as_a_413_problem(app, client, path, body):
    token = make_token(app)
    response = timed(lambda: client.post(path, json=body, headers=bearer(token)))
    assert_problem(response, 413)


def test_drafts_are_masked_before_the_write_lock_is_taken(app, users, monkeypatch):
    from storage import masking

    with app.app_context():
        db = get_db()
        seen = []

        def spy(text):
            seen.append(db.conn.in_transaction)
            return masking.mask(text)

        monkeypatch.setattr(drafts, "mask", spy)
        user = users["submitter"]
        case_id = drafts.create_draft(db, user, "description", {"description": "mail a@example.com"}, "users")
        drafts.save_step(db, case_id, "description", {"description": "mail b@example.com"}, "users")
        assert seen == [False, False]
        assert get_record(app, case_id)["intake"]["description"]["description"] == "mail [email redacted]"
