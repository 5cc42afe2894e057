"""Single sign-on in a real browser: Chromium, the service under gunicorn, and oidc-provider-mock, each a process.

The service runs with password sign-in off, accounts created at first sign-in, and roles from the ``groups``
claim. The provider's authorize page is driven as a person would: type the subject, press "Authorize".
"""

import re

import pytest
from playwright.sync_api import expect

from storage import open_db
from storage.audit import verify
from tests.browser_support import Visitor

pytestmark = pytest.mark.browser


@pytest.fixture
def person(browser, sso_live_server, oidc_provider):
    """A fresh browser context; the provider page's stylesheet (a CDN) is served empty, offline."""
    visitor = Visitor(browser, sso_live_server.url, "sso")
    visitor.context.route("https://cdn.jsdelivr.net/**",
                          lambda route: route.fulfill(status=200, content_type="text/css", body=""))
    yield visitor
    visitor.close()


def sign_in_at_provider(person, issuer, sub):
    """Press "Sign in with Mock IdP", sign ``sub`` in on the provider's page, and land back on the service."""
    page = person.page
    page.get_by_role("link", name="Sign in with Mock IdP").click()
    page.wait_for_url(re.compile(re.escape(issuer) + r"/oauth2/authorize\?.*code_challenge_method=S256"))
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile("^" + re.escape(person.base_url) + "/"))
    page.wait_for_load_state()
    person.audit()


def test_a_person_signs_in_through_the_provider_and_their_role_follows_their_groups(person, oidc_provider,
                                                                                   sso_live_server):
    oidc_provider.set_user("erin-browser", email="erin@example.com", email_verified=True, name="Erin",
                           groups=["intake-reviewers"])
    page = person.goto("/review/")
    assert "/auth/login?next=" in page.url
    expect(page.get_by_text("Break-glass sign-in for admins")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_hidden()  # folded away: password sign-in is off
    sign_in_at_provider(person, oidc_provider.issuer, "erin-browser")
    assert page.url == person.base_url + "/review/"
    expect(page.get_by_text("erin@example.com (reviewer)")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review queue")

    # Taken out of the reviewers' group at the provider: a submitter from the next sign-in.
    oidc_provider.set_user("erin-browser", email="erin@example.com", email_verified=True, groups=[])
    person.press(page.get_by_role("button", name="Sign out"))
    sign_in_at_provider(person, oidc_provider.issuer, "erin-browser")
    expect(page.get_by_text("erin@example.com (submitter)")).to_be_visible()
    expect(page.get_by_role("link", name="Review queue")).to_have_count(0)
    person.assert_clean()

    db = open_db(str(sso_live_server.database))
    try:
        actions = [row["action"] for row in db.query(
            "select action from audit where actor = 'erin@example.com' and action like 'sso_%' order by id")]
        assert verify(db) == []
    finally:
        db.close()
    assert actions == ["sso_create_user", "sso_change_role", "sso_sign_in", "sso_change_role", "sso_sign_in"]


def test_an_unverified_e_mail_is_turned_away_with_a_page_saying_why(person, oidc_provider):
    oidc_provider.set_user("frank-browser", email="frank@example.com", email_verified=False)
    person.goto("/auth/login")
    sign_in_at_provider(person, oidc_provider.issuer, "frank-browser")
    page = person.page
    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("has not verified the e-mail address frank@example.com")
    person.press(page.get_by_role("link", name="Back to the sign-in page"))
    assert page.url.startswith(person.base_url + "/auth/login")
    # Chromium reports the refusal page's own 403 status in the console; nothing else may be there.
    [refused] = [error for error in person.console_errors if "/auth/sso/callback?" in error and "403" in error]
    person.console_errors.remove(refused)
    person.assert_clean()
