"""The wizard's pages driven the way people use them: keyboard only, the Enter key, the live preview."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import (
    DESCRIPTION,
    fill_product,
    question,
)

pytestmark = pytest.mark.browser


def tab_to(page, selector, backwards=False, limit=60):
    """Press Tab (or Shift+Tab) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with {'Shift+' if backwards else ''}Tab")


def press_enter(person):
    """Enter on the focused element, which loads the next page."""
    return person.navigate(lambda: person.page.keyboard.press("Enter"))


def test_the_wizard_can_be_completed_with_the_keyboard_alone(visitor):
    person = visitor("submitter")
    page = person.goto("/intake/")
    tab_to(page, "main a[href='/intake/new']")
    press_enter(person)

    for selector, text in (("#name", "Keyboard contract helper"), ("#team", "Access"),
                           ("#owner_email", "owner@example.com")):
        tab_to(page, selector)
        page.keyboard.type(text)
    for selector in ("#vendors-0", "#vendors-1", "#access_path-0"):
        tab_to(page, selector)
        page.keyboard.press("Space")
    tab_to(page, "button[name=next]")
    press_enter(person)

    tab_to(page, "#description")
    page.keyboard.type(DESCRIPTION)
    tab_to(page, "button[name=next]")
    press_enter(person)

    # Tabbing into a group with nothing chosen lands on its first option; Space chooses it.
    for name in ("end_users", "chatbot", "minors", "publishes_content_externally", "decisions_about_individuals",
                 "simulates_real_person"):
        tab_to(page, f"#{name}-0")
        page.keyboard.press("Space")
    # Enter on an option submits the form with its first button, which must be Save and continue.
    press_enter(person)
    assert page.url.endswith("/data"), page.url

    for selector in ("#handles_personal_data-0", "#areas-0"):
        tab_to(page, selector)
        page.keyboard.press("Space")
    tab_to(page, "button[name=next]")
    press_enter(person)

    assert page.url.endswith("/followups"), page.url
    for name in ("age_assurance", "law_enforcement_use", "person_consent", "historical_public_figure"):
        tab_to(page, f"#{name}-0")
        page.keyboard.press("Space")
    # Past the last question to the buttons, then Shift+Tab back to answer it.
    tab_to(page, "button[name=next]")
    tab_to(page, "#qualified_human_review-0", backwards=True)
    page.keyboard.press("Space")
    tab_to(page, "button[name=next]")
    press_enter(person)

    assert page.url.endswith("/review"), page.url
    expect(page.locator("main")).to_contain_text("Openai: allowed with safeguards")
    tab_to(page, "button[name=submit]")
    press_enter(person)
    assert re.search(r"/review/cases/\d+$", page.url), page.url
    main = page.locator("main")
    expect(main).to_contain_text("State: submitted")
    expect(main.get_by_role("row").filter(has_text="followups · qualified_human_review")).to_contain_text("yes")
    expect(main.get_by_role("row").filter(has_text="followups · age_assurance")).to_contain_text("verified")
    person.assert_clean()


def test_enter_in_a_resumed_first_step_saves_and_continues(visitor):
    person = visitor("submitter")
    person.goto("/intake/new")
    fill_product(person, "Enter key product")
    page = person.page
    person.press(page.get_by_role("link", name="Product"))
    # The first step has nowhere to go back to, so it offers no Back button.
    expect(page.get_by_role("button", name="Back")).to_have_count(0)
    page.get_by_label("Team").fill("Renamed team")
    press_enter(person)
    assert page.url.endswith("/description"), page.url
    person.press(page.get_by_role("link", name="Product"))
    expect(page.get_by_label("Team")).to_have_value("Renamed team")
    person.assert_clean()


def test_enter_on_a_later_step_does_not_go_back(visitor):
    person = visitor("submitter")
    person.goto("/intake/new")
    fill_product(person, "Enter on options")
    page = person.page
    page.get_by_label("Describe the use case").fill(DESCRIPTION)
    person.press(page.get_by_role("button", name="Save and continue"))
    question(page, "Who are the end users?").get_by_label("Business customers").check()
    page.get_by_label("Business customers").press("Enter")
    page.wait_for_load_state()
    # Nothing else is answered, so Save and continue stays on the step with errors; Back would have left it.
    assert page.url.endswith("/users"), page.url
    expect(page.locator("p.error").first).to_be_visible()
    person.assert_clean()


def test_live_preview_shows_the_latest_text_when_answers_arrive_out_of_order(visitor):
    person = visitor("submitter")
    person.goto("/intake/new")
    fill_product(person, "Preview order")
    page = person.page
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/intake/preview", hold_the_first)
    field = page.get_by_label("Describe the use case")
    with page.expect_request("**/intake/preview"):
        field.fill("A lawyer reviews each contract before court for our customers and the public.")
    with page.expect_response("**/intake/preview"):
        field.fill("A doctor sees each patient symptom and diagnosis for our customers and the public.")
    text = page.locator("#preview-text")
    expect(text).to_contain_text("Domains: healthcare.")
    with page.expect_response(lambda response: response.request == held[0].request):
        held[0].continue_()
    # Give the late answer's handler time to run before checking it changed nothing.
    page.evaluate("() => new Promise(done => setTimeout(done, 300))")
    expect(text).to_contain_text("Domains: healthcare.")
    person.assert_clean()
