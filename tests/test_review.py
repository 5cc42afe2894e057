"""The review workflow: queue, case page, actions, transitions, roles, conflicts and the evidence pack."""

import json
import re

import pytest

from classifier.labels import LABEL_FIELDS
from storage import get_db
from tests.conftest import get_record
from tests.intake_support import USERS, submit


@pytest.fixture
def submitted(app, client, auth):
    """A case submitted through the wizard by the submitter; the client is then signed in as the reviewer."""
    auth.login()
    case_id = submit(client)
    auth.logout()
    auth.login("reviewer@example.com")
    return case_id


def _version(app, case_id):
    return get_record(app, case_id)["version"]


def _post(client, app, case_id, action, **data):
    return client.post(f"/review/cases/{case_id}/{action}", data={"version": _version(app, case_id), **data})


def _in_review(client, app, case_id):
    response = _post(client, app, case_id, "assign")
    assert response.status_code == 302
    return get_record(app, case_id)


def test_queue_lists_waiting_cases_oldest_first_with_waiting_time(app, client, auth, submitted):
    auth.logout()
    auth.login()
    second = submit(client)
    auth.logout()
    auth.login("reviewer@example.com")
    page = client.get("/review/").data.decode()
    assert page.index(f"/review/cases/{submitted}") < page.index(f"/review/cases/{second}")
    assert " min (SLA 5 days)</td>" in page and "submitter@example.com" in page


@pytest.mark.parametrize(("query", "shown"), [
    ("state=submitted", True), ("state=approved", False), ("domain=legal", True), ("domain=healthcare", False),
    ("vendor=anthropic", True), ("verdict=prohibited", False), ("vendor=openai&verdict=prohibited", False),
    ("older_than=0", True), ("older_than=1", False), ("older_than=-1", True), ("older_than=abc", True),
])
def test_queue_filters(client, submitted, query, shown):
    page = client.get(f"/review/?{query}").data.decode()
    assert (f"/review/cases/{submitted}" in page) is shown


def test_queue_filter_by_the_verdict_the_case_has(app, client, submitted):
    verdict = get_record(app, submitted)["assessment"]["vendors"]["anthropic"]["verdict"]
    page = client.get(f"/review/?verdict={verdict}&vendor=anthropic").data.decode()
    assert f"/review/cases/{submitted}" in page


def test_case_page_shows_everything(app, client, submitted):
    page = client.get(f"/review/cases/{submitted}").data.decode()
    for text in ("Description", "Answers", "Classifier output", "Facts and their provenance", "Policy clause",
                 "Comments", "History", "Assign to me", "Evidence pack"):
        assert text in page, text


def test_assign_moves_a_submitted_case_into_review(app, client, submitted):
    case = _in_review(client, app, submitted)
    assert case["state"] == "in_review" and case["assignee_email"] == "reviewer@example.com"
    assert [a["action"] for a in case["audit"]][-2:] == ["assign", "state"]


def test_approve_with_the_ticked_safeguards_as_conditions(app, client, submitted):
    case = _in_review(client, app, submitted)
    page = client.get(f"/review/cases/{submitted}").data.decode()
    ticks = re.findall(r'name="conditions" type="checkbox" value="([^"]+)"', page)
    assert ticks
    response = _post(client, app, submitted, "approve", conditions=ticks[:1])
    assert response.status_code == 302
    case = get_record(app, submitted)
    assert case["state"] == "approved" and case["decision"]["by"] == "reviewer@example.com"
    assert [c["id"] for c in case["decision"]["conditions"]] == ticks[:1]
    assert "Conditions:" in client.get(f"/review/cases/{submitted}").data.decode()


def test_approve_refuses_a_safeguard_the_case_does_not_have(app, client, submitted):
    _in_review(client, app, submitted)
    response = _post(client, app, submitted, "approve", conditions=["anthropic:made_up"])
    assert response.status_code == 400 and "not a valid choice" in response.data.decode()
    assert get_record(app, submitted)["state"] == "in_review"


@pytest.mark.parametrize(("action", "field", "state", "message"), [
    ("reject", "reason", "rejected", "Say why the case is rejected."),
    ("request-changes", "message", "changes_requested", "Say what the submitter must change."),
])
def test_reject_and_request_changes_need_text(app, client, submitted, action, field, state, message):
    _in_review(client, app, submitted)
    response = _post(client, app, submitted, action, **{field: "  "})
    assert response.status_code == 400 and message in response.data.decode()
    assert get_record(app, submitted)["state"] == "in_review"
    response = _post(client, app, submitted, action, **{field: "Needs <b>work</b>, call 555-123-4567"})
    assert response.status_code == 302
    case = get_record(app, submitted)
    assert case["state"] == state and case["decision"]["note"] == "Needs <b>work</b>, call [phone ending 567]"
    page = client.get(f"/review/cases/{submitted}").data.decode()
    assert "Needs &lt;b&gt;work&lt;/b&gt;" in page


@pytest.mark.parametrize("action", ["approve", "reject", "request-changes"])
def test_deciding_a_case_not_in_review_is_a_clear_409(app, client, submitted, action):
    response = _post(client, app, submitted, action, reason="r", message="m")
    assert response.status_code == 409
    assert "A submitted case cannot become" in response.data.decode()
    assert get_record(app, submitted)["state"] == "submitted"


def test_a_decided_case_cannot_be_decided_again_or_reassigned(app, client, submitted):
    _in_review(client, app, submitted)
    _post(client, app, submitted, "reject", reason="no")
    response = _post(client, app, submitted, "approve")
    assert response.status_code == 409 and "allowed: none (final)" in response.data.decode()
    response = _post(client, app, submitted, "assign")
    assert response.status_code == 409 and "A rejected case cannot be assigned" in response.data.decode()


def test_the_second_of_two_reviewers_gets_a_conflict_and_nothing_is_overwritten(app, client, submitted):
    case = _in_review(client, app, submitted)
    seen = case["version"]
    first = client.post(f"/review/cases/{submitted}/reject", data={"version": seen, "reason": "first"})
    assert first.status_code == 302
    second = client.post(f"/review/cases/{submitted}/approve", data={"version": seen})
    assert second.status_code == 409
    assert "Someone else changed this case" in second.data.decode()
    case = get_record(app, submitted)
    assert case["state"] == "rejected" and case["decision"]["note"] == "first"


def test_changes_requested_then_the_submitter_edits_and_resubmits(app, client, auth, submitted):
    _in_review(client, app, submitted)
    _post(client, app, submitted, "request-changes", message="Who are the users?")
    auth.logout()
    auth.login()
    page = client.get(f"/review/cases/{submitted}").data.decode()
    assert "Who are the users?" in page and "Edit the answers and resubmit" in page
    assert "Changes requested: read and edit" in client.get("/intake/").data.decode()
    client.post(f"/review/cases/{submitted}/comment", data={"body": "Only employees use it."})
    response = client.post(f"/intake/{submitted}/users", data={**USERS, "end_users": "employees"})
    assert response.status_code == 302
    response = client.post(f"/intake/{submitted}/review", data={"audience": "business", "submit": "1"})
    assert response.status_code == 302
    case = get_record(app, submitted)
    assert case["state"] == "submitted" and case["answers"]["audience"] == "business"
    assert [h["to_state"] for h in case["history"]] == ["submitted", "in_review", "changes_requested", "submitted"]
    assert case["comments"][0]["body"] == "Only employees use it."


def test_override_reruns_the_rules_and_is_kept_as_a_labelled_example(app, client, submitted):
    _in_review(client, app, submitted)
    response = _post(client, app, submitted, "override", fact="prohibited", value="cyber_malicious", reason="")
    assert response.status_code == 400 and "An override needs a reason." in response.data.decode()
    response = _post(client, app, submitted, "override", fact="minors", value="sometimes", reason="x")
    assert response.status_code == 400 and "expected true or false" in response.data.decode()
    response = _post(client, app, submitted, "override", fact="prohibited", value="cyber_malicious",
                     reason="It writes malware")
    assert response.status_code == 302
    case = get_record(app, submitted)
    assert case["facts"]["prohibited"]["source"] == "overridden"
    assert case["facts"]["prohibited"]["by"] == "reviewer@example.com"
    assert case["assessment"]["tier"] == "prohibited"
    with app.app_context():
        rows = list(get_db()["fact_overrides"].rows)
    assert rows[0]["fact"] == "prohibited" and json.loads(rows[0]["value"]) == "cyber_malicious"
    assert rows[0]["description"] == case["description"]
    assert case["audit"][-1]["action"] == "override"


def test_override_outside_review_is_refused(app, client, submitted):
    response = _post(client, app, submitted, "override", fact="minors", value="yes", reason="kids")
    assert response.status_code == 400 and "in review" in response.data.decode()


REVIEWER_POSTS = ["assign", "approve", "reject", "request-changes", "override"]


@pytest.mark.parametrize("action", REVIEWER_POSTS)
def test_a_submitter_cannot_act_even_by_posting_by_hand(app, client, auth, submitted, action):
    _in_review(client, app, submitted)
    auth.logout()
    auth.login()
    response = _post(client, app, submitted, action, reason="r", message="m", fact="minors", value="yes")
    assert response.status_code == 403
    assert get_record(app, submitted)["state"] == "in_review"


@pytest.mark.parametrize("url", ["/review/", "/review/cases/{id}", "/review/cases/{id}/evidence",
                                 "/review/cases/{id}/evidence.json"])
def test_pages_need_a_signed_in_user(client, submitted, auth, url):
    auth.logout()
    response = client.get(url.format(id=submitted))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("action", [*REVIEWER_POSTS, "comment"])
def test_posts_need_a_signed_in_user(client, auth, submitted, action):
    auth.logout()
    response = client.post(f"/review/cases/{submitted}/{action}", data={"version": 0, "body": "x"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_submitters_see_only_their_own_cases(app, client, auth, submitted):
    with app.app_context():
        from storage.users import create_user

        create_user(get_db(), "other@example.com", "another long password", "submitter")
    auth.logout()
    auth.login()
    assert client.get("/review/").status_code == 403
    assert client.get(f"/review/cases/{submitted}").status_code == 200
    assert client.get(f"/review/cases/{submitted}/evidence.json").status_code == 200
    auth.logout()
    auth.login("other@example.com", "another long password")
    for url in (f"/review/cases/{submitted}", f"/review/cases/{submitted}/evidence",
                f"/review/cases/{submitted}/evidence.json"):
        assert client.get(url).status_code == 404
    assert client.post(f"/review/cases/{submitted}/comment", data={"body": "hi"}).status_code == 404
    assert client.get("/review/cases/999").status_code == 404


def test_admin_can_review(app, client, auth, submitted):
    auth.logout()
    auth.login("admin@example.com")
    assert client.get("/review/").status_code == 200
    assert _post(client, app, submitted, "assign").status_code == 302


def test_comments_are_masked_escaped_and_required(app, client, submitted):
    response = client.post(f"/review/cases/{submitted}/comment", data={"body": ""})
    assert response.status_code == 400 and "Write a comment." in response.data.decode()
    client.post(f"/review/cases/{submitted}/comment", data={"body": "<script>x</script> mail a@b.example"})
    case = get_record(app, submitted)
    assert case["comments"][0]["body"] == "<script>x</script> mail [email redacted]"
    page = client.get(f"/review/cases/{submitted}").data.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert case["audit"][-1]["action"] == "comment"


def test_evidence_pack_json_and_printable_page(app, client, submitted):
    _in_review(client, app, submitted)
    _post(client, app, submitted, "approve")
    response = client.get(f"/review/cases/{submitted}/evidence.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    pack = json.loads(response.data)
    for key in ("description", "facts", "classification", "assessment", "decision", "audit"):
        assert pack[key], key
    assert pack["decision"]["state"] == "approved" and pack["decision"]["conditions"] == []
    assert [a["action"] for a in pack["audit"]] == ["create_draft", "state", "assign", "state", "state"]
    page = client.get(f"/review/cases/{submitted}/evidence").data.decode()
    assert "Evidence pack: case" in page and "Audit trail" in page and "approved by reviewer@example.com" in page



def test_case_page_lists_similar_past_cases_with_their_decisions(app, client, auth, submitted):
    _in_review(client, app, submitted)
    _post(client, app, submitted, "reject", reason="Too risky for us")
    auth.logout()
    auth.login()
    second = submit(client)
    auth.logout()
    auth.login("reviewer@example.com")
    page = client.get(f"/review/cases/{second}").data.decode()
    assert "Similar past cases" in page
    assert f"/review/cases/{submitted}" in page and "Too risky for us" in page
    assert get_record(app, second)["id"] != submitted
    with app.app_context():
        from storage.reviews import similar

        found = similar(get_db(), second)
    assert [f["id"] for f in found] == [submitted] and found[0]["similarity"] > 0.99


def test_dashboard_counts_median_disagreement_and_csv(app, client, auth, submitted):
    _in_review(client, app, submitted)
    _post(client, app, submitted, "override", fact="minors", value="yes", reason="Kids use it")
    _post(client, app, submitted, "approve")
    auth.logout()
    auth.login()
    other = submit(client)
    auth.logout()
    auth.login("reviewer@example.com")
    page = client.get("/review/dashboard").data.decode()
    assert "2 cases." in page and "Median time from submission to decision: 0.0 days" in page
    assert "Reviewer disagreement" in page and "100%" in page and "<svg" in page and "Overrides by fact" in page
    response = client.get("/review/dashboard.csv?state=approved")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.data.decode().splitlines()
    assert lines[0].startswith("id,title,state") and len(lines) == 2 and lines[1].startswith(f"{submitted},")
    assert str(other) not in [line.split(",")[0] for line in lines[1:]]


def test_csv_cells_cannot_become_formulas(app, client, auth, users):
    from tests.intake_support import PRODUCT, fill

    auth.login()
    case_id = fill(client)
    client.post(f"/intake/{case_id}/product", data={**PRODUCT, "name": "=HYPERLINK(\"x\")"})
    client.post(f"/intake/{case_id}/review", data={"audience": "consumer", "submit": "1"})
    auth.logout()
    auth.login("reviewer@example.com")
    body = client.get("/review/dashboard.csv").data.decode()
    assert "'=HYPERLINK" in body


@pytest.mark.parametrize("url", ["/review/dashboard", "/review/dashboard.csv"])
def test_dashboard_is_for_reviewers(client, auth, users, url):
    auth.login()
    assert client.get(url).status_code == 403


def test_overrides_export_as_labelled_examples(app, client, runner, submitted):
    _in_review(client, app, submitted)
    _post(client, app, submitted, "override", fact="minors", value="yes", reason="Kids use it")
    result = runner.invoke(args=["review", "export-overrides"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    example = lines[0]
    assert example["id"] == f"case-{submitted}" and example["minors"] is True
    assert set(example) == {"id", "text", "source", *LABEL_FIELDS}
    assert example["source"] == "case"
    assert example["text"] == get_record(app, submitted)["description"]


def test_queue_waiting_time_and_age_filter(app, submitted):
    import datetime

    from storage.reviews import queue

    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3, hours=1)
    with app.app_context():
        (row,) = queue(get_db(), now=later)
        assert row["waiting"] >= datetime.timedelta(days=3)
        assert [r["id"] for r in queue(get_db(), older_than=3, now=later)] == [submitted]
        assert queue(get_db(), older_than=4, now=later) == []


def test_case_page_ids_are_unique(app, client, submitted):
    app.config["WTF_CSRF_ENABLED"] = True  # each action form then carries its own token field
    page = client.get(f"/review/cases/{submitted}").data.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("url", ["/review/", "/review/dashboard"])
def test_a_filter_not_understood_is_named_and_the_others_still_apply(client, submitted, url):
    response = client.get(url, query_string={"state": "bogus", "older_than": "abc", "domain": "healthcare"})
    page = response.data.decode()
    assert response.status_code == 200
    assert "Filters not applied" in page and "State: Not a valid choice." in page
    assert "Waiting at least (days): Not a valid integer value." in page
    if url == "/review/":
        assert f"/review/cases/{submitted}" not in page  # the valid domain filter still applies


def test_csv_export_with_a_filter_not_understood_is_a_400_naming_it(client, submitted):
    response = client.get("/review/dashboard.csv", query_string={"vendor": "nobody"})
    assert response.status_code == 400
    assert response.mimetype == "text/plain" and "Vendor: Not a valid choice." in response.data.decode()


def test_a_resubmission_keeps_the_reviewers_overrides_in_the_facts_and_assessment(app, client, auth, submitted):
    _in_review(client, app, submitted)
    assert _post(client, app, submitted, "override", fact="prohibited", value="cyber_malicious",
                 reason="It writes malware").status_code == 302
    _post(client, app, submitted, "request-changes", message="Tell us more.")
    auth.logout()
    auth.login()
    # Resubmitted without editing anything.
    response = client.post(f"/intake/{submitted}/review", data={"audience": "consumer", "domains": ["legal"],
                                                               "submit": "1"})
    assert response.status_code == 302
    case = get_record(app, submitted)
    assert case["state"] == "submitted"
    assert case["facts"]["prohibited"]["value"] == "cyber_malicious"
    assert case["facts"]["prohibited"]["source"] == "overridden"
    assert case["assessment"]["tier"] == "prohibited"


def test_similar_cases_scan_only_the_newest_cases(app, client, auth, submitted):
    auth.logout()
    auth.login()
    second, third = submit(client), submit(client)
    with app.app_context():
        from storage.reviews import similar

        assert {f["id"] for f in similar(get_db(), third)} == {submitted, second}
        assert [f["id"] for f in similar(get_db(), third, scan=1)] == [second]
