"""The legal review in a real browser: changes requested, answered, approved with conditions, evidence kept."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    answer,
    save_and_continue,
    submit_case,
)

pytestmark = pytest.mark.browser

MESSAGE = "Say who checks the advice before a customer reads it."
CONDITIONS = ["Anthropic: Human in the loop", "Openai: Qualified human review"]


def open_from_queue(reviewer, title):
    page = reviewer.goto("/review/")
    reviewer.press(page.get_by_role("link", name=re.compile(re.escape(title))))
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    return page


def test_changes_requested_answered_then_approved_with_conditions_and_evidence(visitor):
    submitter = visitor("submitter")
    case_id = submit_case(submitter, "Court case advisor")

    reviewer = visitor("reviewer")
    page = open_from_queue(reviewer, "Court case advisor")
    reviewer.press(page.get_by_role("button", name="Assign to me"))
    expect(page.locator("main")).to_contain_text("State: in review")
    page.get_by_label("What must change").fill(MESSAGE)
    reviewer.press(page.get_by_role("button", name="Send back"))
    expect(page.get_by_role("heading", name="Decision: changes requested")).to_be_visible()

    mine = submitter.goto("/intake/")
    submitter.press(mine.get_by_role("link", name="Changes requested: read and edit"))
    expect(mine.locator("main")).to_contain_text(MESSAGE)
    submitter.press(mine.get_by_role("link", name="Edit the answers and resubmit"))
    assert mine.url.endswith(f"/intake/{case_id}/review")
    submitter.press(mine.get_by_role("link", name="Product"))
    mine.get_by_label("Team").fill("Legal tech, advice desk")
    save_and_continue(submitter)
    submitter.press(mine.get_by_role("link", name="Review and submit"))
    submitter.press(mine.get_by_role("button", name="Submit for review"))
    expect(mine.locator("main")).to_contain_text("State: submitted")
    expect(mine.locator("main")).to_contain_text("Legal tech, advice desk")

    page = open_from_queue(reviewer, "Court case advisor")
    # The case kept its reviewer when it went back: they take it into review again.
    reviewer.press(page.get_by_role("button", name="Take it back into review"))
    expect(page.locator("main")).to_contain_text("State: in review")
    answer(page, "Safeguards the team must implement", *CONDITIONS)
    reviewer.press(page.get_by_role("button", name="Approve", exact=True))
    decision = page.locator("section[aria-labelledby=decision]")
    expect(decision.get_by_role("heading")).to_have_text("Decision: approved")
    expect(decision.get_by_role("listitem")).to_have_text(CONDITIONS)

    with page.expect_download() as download:
        page.get_by_role("link", name="JSON").click()
    assert download.value.suggested_filename == f"case-{case_id}-evidence.json"
    pack = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert pack["id"] == case_id and pack["state"] == "approved"
    assert pack["decision"]["state"] == "approved" and pack["decision"]["by"] == "reviewer@example.com"
    assert [c["title"] for c in pack["decision"]["conditions"]] == CONDITIONS
    assert pack["intake"]["product"]["team"] == "Legal tech, advice desk"
    states = [(row["actor"], row["after"]["state"]) for row in pack["audit"] if row["action"] == "state"]
    assert states == [("submitter@example.com", "submitted"), ("reviewer@example.com", "in_review"),
                      ("reviewer@example.com", "changes_requested"), ("submitter@example.com", "submitted"),
                      ("reviewer@example.com", "in_review"), ("reviewer@example.com", "approved")]
    assert MESSAGE in [row["after"].get("note") for row in pack["audit"] if row["action"] == "state"]
    assert [row["action"] for row in pack["audit"]].count("assign") == 2

    printable = reviewer.press(page.get_by_role("link", name="Evidence pack"))
    expect(printable.get_by_role("heading", level=1)).to_have_text(f"Evidence pack: case {case_id}, Court case advisor")
    expect(printable.locator("main")).to_contain_text("approved by reviewer@example.com")
    expect(printable.locator("main li").filter(has_text="Condition:")).to_have_text(
        [f"Condition: {c}" for c in CONDITIONS])
    audit_rows = printable.locator("main table").last.locator("tbody tr")
    expect(audit_rows).to_have_count(len(pack["audit"]))
    expect(audit_rows.first).to_contain_text("create_draft")
    submitter.assert_clean()
    reviewer.assert_clean()
