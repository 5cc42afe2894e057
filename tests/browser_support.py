"""Shared pieces of the browser tests: one live server and one Chromium per session, a context per person.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser here. A ``Visitor`` is one
signed-in person in a context of their own: it records console errors (CSP violations included) and the
form controls without an accessible label on every page it lands on, so each test can assert both at its end.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from bench.live_server import PASSWORD, LiveServer

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "reports" / "screenshots"
TIMEOUT_MS = 10_000

# Runs in the page: every visible form control without an accessible name, option groups without a
# fieldset and legend (the question is otherwise never read out with the option), and labels pointing nowhere.
_LABEL_AUDIT = """() => {
  const problems = [];
  const skip = new Set(["hidden", "submit", "button", "reset", "image"]);
  const text = (el) => (el ? el.textContent.trim() : "");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (skip.has(el.type)) continue;
    const what = `${el.tagName.toLowerCase()} ${el.id ? "#" + el.id : "[name=" + el.name + "]"}`;
    const byAria = (el.getAttribute("aria-label") || "").trim() ||
      (el.getAttribute("aria-labelledby") || "").split(/\\s+/).map((i) => text(document.getElementById(i))).join("");
    const byLabel = Array.from(el.labels || []).map(text).join("");
    if (!byAria && !byLabel) problems.push(`${what} has no label`);
    const grouped = el.type === "radio" ||
      (el.type === "checkbox" && document.querySelectorAll(`input[name="${el.name}"]`).length > 1);
    const legend = el.closest("fieldset") && el.closest("fieldset").querySelector("legend");
    if (grouped && !text(legend)) problems.push(`${what} is an option of a group without a fieldset and legend`);
  }
  for (const label of document.querySelectorAll("label[for]")) {
    if (!label.control) problems.push(`label "${text(label)}" points at #${label.htmlFor}, not at a form control`);
  }
  return problems;
}"""


class Visitor:
    """One person's browser context; ``page`` is the page they are on."""

    def __init__(self, browser, base_url, name):
        self.name = name
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.console_errors = []
        self.label_problems = []
        self.page = None
        self.new_page()

    def new_page(self):
        """Open a fresh tab in the same context (same cookies) and watch it."""
        page = self.context.new_page()
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: uncaught {error}"))
        self.page = page
        return page

    def _console(self, page, message):
        if message.type != "error":
            return
        self.console_errors.append(f"{page.url}: {message.text}")

    def audit(self):
        """Record the label problems of the page as it is now."""
        for problem in self.page.evaluate(_LABEL_AUDIT):
            line = f"{self.page.url}: {problem}"
            if line not in self.label_problems:
                self.label_problems.append(line)

    def goto(self, path):
        """Open ``path`` and audit the page."""
        self.page.goto(path)
        self.audit()
        return self.page

    def navigate(self, action):
        """Run ``action`` (a click, a key press) that loads a new page; wait for it and audit it."""
        with self.page.expect_navigation():
            action()
        self.page.wait_for_load_state()
        self.audit()
        return self.page

    def press(self, locator):
        """Click a button or link that loads a new page."""
        return self.navigate(locator.click)

    def sign_in(self, email):
        """Sign in through the form, as a person would."""
        self.goto("/auth/login")
        self.page.get_by_label("E-mail").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.press(self.page.get_by_role("button", name="Sign in"))
        assert "/auth/login" not in self.page.url, self.page.content()

    def assert_clean(self):
        """No console error and no unlabelled control on any page seen."""
        assert not self.console_errors, "\n".join(self.console_errors)
        assert not self.label_problems, "\n".join(self.label_problems)

    def close(self):
        self.context.close()


def require_chromium(path=CHROMIUM):
    """Fail the test at once, saying how to install it, when no Chromium is at ``path``."""
    if not os.access(path, os.X_OK):
        pytest.fail(f"Chromium is not installed at {path}: run `make test` (it installs it) or "
                    "`apt-get install chromium`. Playwright's own browser download is not used.", pytrace=False)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The real service (keyword embedder) under gunicorn, shared by every browser test."""
    server = LiveServer(tmp_path_factory.mktemp("live"), fake_model=True).start()
    yield server
    server.kill()  # its database is thrown away: no need to wait for a graceful shutdown


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless; a clear failure, not a hang, when it is not installed."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS,
                                             timeout=30_000)
        yield browser
        browser.close()


@pytest.fixture
def visitor(browser, live_server, request):
    """Make ``Visitor``s signed in as ``<role>@example.com``; on failure each open page is screenshotted."""
    opened = []

    def make(role, sign_in=True):
        person = Visitor(browser, live_server.url, role)
        opened.append(person)
        if sign_in:
            person.sign_in(f"{role}@example.com")
        return person

    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _screenshots(request.node.name, opened)
    for person in opened:
        person.close()


def _screenshots(test_name, visitors):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = [(v.name, p) for v in visitors for p in v.context.pages if not p.is_closed()]
    safe = re.sub(r"[^\w.-]", "_", test_name)
    # The page touched last is the one that failed: it gets the plain test name.
    for index, (name, page) in enumerate(reversed(pages)):
        suffix = "" if index == 0 else f"-{name}-{index}"
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{safe}{suffix}.png"), full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"screenshot of {page.url} failed: {exc}")


# A legal chatbot that minors use: enough for high-risk safeguards from both vendors.
DESCRIPTION = ("A chatbot where customers ask a lawyer about a contract and get advice on their court case "
               "before they sign it. Kids and teenagers use it for school contracts too.")


def question(page, legend):
    """The fieldset of one multiple-choice question, found by its legend as a screen reader would."""
    return page.get_by_role("group", name=legend, exact=True)


def answer(page, legend, *options):
    """Tick ``options`` (by their labels) in the question ``legend``."""
    for option in options:
        question(page, legend).get_by_label(option, exact=True).check()


def save_and_continue(person):
    """Press the step's main button."""
    return person.press(person.page.get_by_role("button", name="Save and continue"))


def fill_product(person, name, team="Legal tech"):
    """Step 1 with both vendors through the API."""
    page = person.page
    page.get_by_label("Product name").fill(name)
    page.get_by_label("Team").fill(team)
    page.get_by_label("Owner's e-mail").fill("owner@example.com")
    answer(page, "Model vendors used", "Anthropic", "OpenAI")
    answer(page, "How it reaches the model", "API or a commercial (business) plan")
    save_and_continue(person)


REVIEW_QUESTION = ("Advice or decisions: does a qualified professional (lawyer, financial adviser, decision-maker) "
                   "review outputs before they reach people?")


def submit_case(person, name):
    """Drive a new intake with plain answers to submission; returns the case id.

    The description asks for legal advice and OpenAI is a vendor, so the one follow-up is whether a qualified
    person reviews the outputs.
    """
    person.goto("/intake/new")
    fill_product(person, name)
    person.page.get_by_label("Describe the use case").fill(DESCRIPTION)
    save_and_continue(person)
    page = person.page
    answer(page, "Who are the end users?", "The public or consumers")
    for legend, option in (("Is it a chatbot or interactive agent that people talk to?", "Yes"),
                           ("Can people under 18 use it?", "No"),
                           ("Does it publish generated content outside the company?", "No"),
                           ("Does it make or inform decisions about individual people?", "No"),
                           ("Does it simulate a real person?", "No")):
        answer(page, legend, option)
    save_and_continue(person)
    answer(person.page, "Is customers' personal data sent to the model?", "Yes")
    save_and_continue(person)
    answer(person.page, REVIEW_QUESTION, "Yes")
    save_and_continue(person)
    person.press(person.page.get_by_role("button", name="Submit for review"))
    match = re.search(r"/review/cases/(\d+)$", person.page.url)
    assert match, person.page.url
    return int(match.group(1))
