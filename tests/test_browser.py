"""The intake wizard in a real browser: a draft left half-way, resumed, reviewed and submitted."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    DESCRIPTION,
    answer,
    fill_product,
    question,
    save_and_continue,
)

pytestmark = pytest.mark.browser

USERS = (("Who are the end users?", "The public or consumers"),
         ("Is it a chatbot or interactive agent that people talk to?", "Yes"),
         ("Can people under 18 use it?", "Yes"),
         ("Does it publish generated content outside the company?", "No"),
         ("Does it make or inform decisions about individual people?", "Yes"),
         ("Does it simulate a real person?", "Yes"))
FOLLOWUPS = {"Minors: how do you check users' age?": "We verify age",
             "Law enforcement: what is it used for?": "Back-office work (translation, scheduling)",
             "Political content: what for?": "Research or education",
             "Simulated person: did they give explicit consent?": "Yes",
             "Simulated person: is it a historical public figure?": "No",
             ("Advice or decisions: does a qualified professional (lawyer, financial adviser, decision-maker) "
              "review outputs before they reach people?"): "Yes"}
MINORS_SAFEGUARD = "Follow the guidelines for products serving minors"


def legends(page):
    return [text.strip() for text in page.locator("main form legend").all_inner_texts()]


def test_draft_left_after_step_three_is_resumed_reviewed_changed_and_submitted(visitor):
    first = visitor("submitter")
    first.goto("/intake/")
    first.press(first.page.get_by_role("link", name="Start a new intake"))
    fill_product(first, "Contract helper for kids")
    first.page.get_by_label("Describe the use case").fill(DESCRIPTION)
    save_and_continue(first)
    for legend, option in USERS:
        answer(first.page, legend, option)
    save_and_continue(first)
    case_id = int(re.search(r"/intake/(\d+)/data$", first.page.url).group(1))
    first.assert_clean()
    first.close()  # the tab and its session are gone: only the server-side draft remains

    person = visitor("submitter")
    page = person.goto("/intake/")
    person.press(page.get_by_role("link", name="Resume at Data and capabilities"))
    assert page.url.endswith(f"/intake/{case_id}/data")
    person.press(page.get_by_role("button", name="Back"))
    for legend, option in USERS:
        expect(question(page, legend).get_by_label(option, exact=True)).to_be_checked()
    save_and_continue(person)

    answer(page, "Is customers' personal data sent to the model?", "Yes")
    answer(page, "Actions the model takes on its own", "Calls tools or APIs")
    answer(page, "Does it touch any of these areas?", "Law enforcement", "Political content")
    save_and_continue(person)
    # Only the questions the answers made relevant: no security or government question.
    assert legends(page) == list(FOLLOWUPS)
    for legend, option in FOLLOWUPS.items():
        answer(page, legend, option)
    save_and_continue(person)

    assert page.url.endswith(f"/intake/{case_id}/review")
    main = page.locator("main")
    expect(main.get_by_role("heading", name="Anthropic: allowed with safeguards")).to_be_visible()
    # A chatbot on political content, even research or education, may give campaign information: OpenAI's
    # policy then needs a person to look.
    expect(main.get_by_role("heading", name="Openai: needs review")).to_be_visible()
    safeguards = page.locator("section[aria-labelledby=verdicts] tbody tr")
    assert safeguards.count() >= 4
    for row in safeguards.all():
        # Every safeguard quotes the clause it comes from, naming its pack and section.
        assert row.locator("blockquote").count() >= 1
        assert re.search(r"(anthropic|openai)-\d{4}-\d\d-\d\d · \w", row.locator("td").nth(2).inner_text())
    expect(safeguards.filter(has_text="Human in the loop")).to_have_count(1)
    expect(safeguards.filter(has_text=MINORS_SAFEGUARD)).to_have_count(1)
    expect(main).to_contain_text("Kids and teenagers use it for school contracts too.")

    # Change an earlier answer through the step links: the minors safeguard and age question go away.
    person.press(page.get_by_role("link", name="Users and interaction"))
    answer(page, "Can people under 18 use it?", "No")
    save_and_continue(person)
    save_and_continue(person)
    assert "Minors: how do you check users' age?" not in legends(page)
    save_and_continue(person)
    expect(safeguards.filter(has_text=MINORS_SAFEGUARD)).to_have_count(0)
    expect(safeguards.filter(has_text="Human in the loop")).to_have_count(1)

    # A correction on the review step itself updates the result in place.
    answer(page, "High-risk domains", "finance")
    person.press(page.get_by_role("button", name="Update the result"))
    expect(page.get_by_role("status")).to_contain_text("Your corrections are applied")
    expect(page.locator("section[aria-labelledby=classification]")).to_contain_text("finance")

    person.press(page.get_by_role("button", name="Submit for review"))
    assert page.url.endswith(f"/review/cases/{case_id}")
    expect(page.get_by_role("status")).to_contain_text(f"Case {case_id} submitted")
    expect(page.locator("main")).to_contain_text("State: submitted")
    page.goto("/intake/")
    row = page.get_by_role("row").filter(has_text="Contract helper for kids")
    expect(row).to_contain_text("submitted")
    person.assert_clean()
