"""Every form control a person can reach has a label a screen reader reads, and errors are tied to fields."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    question,
    submit_case,
)

pytestmark = pytest.mark.browser


def test_every_page_labels_its_controls_and_groups_its_options(visitor):
    stranger = visitor("submitter", sign_in=False)
    stranger.goto("/auth/login")
    stranger.assert_clean()

    submitter = visitor("submitter")
    for path in ("/", "/try/", "/intake/", "/intake/new"):
        submitter.goto(path)
    case_id = submit_case(submitter, "Labelled pages")  # audits every step it passes through

    reviewer = visitor("reviewer")
    page = reviewer.goto(f"/review/cases/{case_id}")
    reviewer.press(page.get_by_role("button", name="Assign to me"))
    # Reject and override both ask for a "Reason": each box must carry its own label.
    reasons = page.get_by_role("textbox", name="Reason", exact=True)
    expect(reasons).to_have_count(2)
    assert reasons.nth(0).evaluate("el => el.form.action") != reasons.nth(1).evaluate("el => el.form.action")
    expect(question(page, "Safeguards the team must implement").get_by_role("checkbox")).not_to_have_count(0)
    for path in ("/review/", "/review/dashboard", f"/review/cases/{case_id}/evidence"):
        reviewer.goto(path)
    submitter.assert_clean()
    reviewer.assert_clean()


def test_errors_are_announced_with_their_field(visitor):
    person = visitor("submitter")
    page = person.goto("/intake/new")
    person.press(page.get_by_role("button", name="Save and continue"))
    name = page.get_by_label("Product name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("Give the product a name"))
    expect(question(page, "How it reaches the model")).to_have_accessible_description(
        re.compile("Choose how it reaches the model"))
    expect(question(page, "Model vendors used").get_by_role("checkbox")).to_have_count(2)
    person.assert_clean()
