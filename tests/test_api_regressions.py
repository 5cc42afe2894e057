"""Requests that once made the API or the pages answer 500."""

import pytest

from tests.api_support import assert_problem, bearer, make_token

# One past SQLite's largest integer, and far past it.
HUGE_IDS = [2**63, 222492550113885992328888320]


@pytest.mark.parametrize("case_id", HUGE_IDS)
@pytest.mark.parametrize(("method", "template"), [
    ("GET", "/api/v1/cases/{}"), ("POST", "/api/v1/cases/{}/comments"), ("DELETE", "/api/v1/webhooks/{}"),
    ("GET", "/api/v1/webhooks/{}/deliveries"),
])
def test_an_id_beyond_sqlite_integers_is_a_404_problem(app, client, method, template, case_id):
    response = client.open(template.format(case_id), method=method, json={"body": "hello"},
                           headers=bearer(make_token(app)))
    assert_problem(response, 404)


def test_the_largest_sqlite_integer_is_still_an_id(app, client):
    response = client.get(f"/api/v1/cases/{2**63 - 1}", headers=bearer(make_token(app)))
    assert response.status_code == 404 and response.get_json()["detail"] == f"No case {2**63 - 1}."


@pytest.mark.parametrize("url", ["/review/cases/{}", "/review/cases/{}/evidence.json", "/intake/{}/product"])
def test_a_page_for_an_id_beyond_sqlite_integers_is_a_404(client, auth, url):
    auth.login("reviewer@example.com")
    assert client.get(url.format(HUGE_IDS[0])).status_code == 404


@pytest.mark.parametrize("depth", [1_000, 10_000])
def test_deeply_nested_json_is_a_400_problem(app, client, depth):
    response = client.post("/api/v1/classify", data="[" * depth + "]" * depth, content_type="application/json",
                           headers=bearer(make_token(app)))
    assert_problem(response, 400)
    assert response.get_json()["detail"] == "The body is not valid JSON: it is nested too deeply."
