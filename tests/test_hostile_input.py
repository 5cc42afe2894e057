"""Hostile text in every form and API field: stored verbatim or refused with a clear 4xx, never a 500, and
always escaped where a page shows it."""

import csv
import io
import json

import pytest

from storage import get_db
from tests.api_support import assert_problem, bearer, make_token, new_case
from tests.conftest import get_record, sign_in
from tests.intake_support import DATA, FOLLOWUP_ANSWERS, PRODUCT, USERS, case_id_from

NASTY = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "sql_or": "' OR 1=1 --",
    "sql_drop": "'; DROP TABLE cases; --",
    "null_byte": "before\x00after",
    "rtl_override": "invoice\u202egpj.exe",
    "zero_width": "a\u200db\u200c\u200bc",
    "emoji": "\U0001f600 \U0001f469\u200d\U0001f4bb \U0001f1fa\U0001f1f3",
    "long_word": "x" * 3000,
    "crlf": "value\r\nSet-Cookie: injected=1",
    "formula": '=HYPERLINK("http://evil.example/")',
}
# Markup that must never reach a page unescaped.
RAW_MARKUP = ("<script>", "<img src=x")
IDS = list(NASTY)


def around(text):
    """A description that passes the length checks and names the legal domain, with ``text`` inside it."""
    return f"A chatbot for customers that gives legal advice {text} about a contract before court."


def assert_escaped(page):
    """No raw markup from the corpus."""
    for raw in RAW_MARKUP:
        assert raw not in page


def assert_no_injected_header(response):
    assert all("injected" not in value for _, value in response.headers.items())


def login(client, email):
    """Sign ``client`` out, then in as ``email`` with the shared sign-in helper."""
    client.post("/auth/logout")
    assert sign_in(client, email).status_code == 302


def wizard(client, name, team, description):
    """Drive a draft through every step with the given free text; returns the case id."""
    response = client.post("/intake/new", data={**PRODUCT, "name": name, "team": team})
    assert response.status_code == 302, response.data.decode()[:2000]
    case_id = case_id_from(response.headers["Location"])
    for step, form in (("description", {"description": description, "next": "1"}), ("users", USERS),
                       ("data", DATA)):
        response = client.post(f"/intake/{case_id}/{step}", data=form)
        assert response.status_code == 302, response.data.decode()[:2000]
    if response.headers["Location"].endswith("/followups"):
        response = client.post(f"/intake/{case_id}/followups", data={**FOLLOWUP_ANSWERS, "next": "1"})
        assert response.status_code == 302, response.data.decode()[:2000]
    return case_id


def act(client, app, case_id, action, **data):
    response = client.post(f"/review/cases/{case_id}/{action}",
                           data={"version": get_record(app, case_id)["version"], **data})
    assert response.status_code == 302, response.data.decode()[:3000]
    assert_no_injected_header(response)


@pytest.mark.parametrize("nasty", NASTY.values(), ids=IDS)
def test_every_web_form_stores_hostile_text_verbatim_and_every_page_escapes_it(app, client, users, nasty):
    submitter, reviewer = client, app.test_client()
    login(submitter, "submitter@example.com")
    login(reviewer, "reviewer@example.com")
    name = nasty[:200]
    case_id = wizard(submitter, name, nasty[:200], around(nasty))
    submit = {"audience": "consumer", "submit": "1"}
    assert submitter.post(f"/intake/{case_id}/review", data=submit).status_code == 302
    act(submitter, app, case_id, "comment", body=nasty)
    act(reviewer, app, case_id, "assign")
    act(reviewer, app, case_id, "override", fact="chatbot", value="no", reason=nasty)
    queue = reviewer.get("/review/").data.decode()
    assert f"/review/cases/{case_id}" in queue
    assert_escaped(queue)
    act(reviewer, app, case_id, "request-changes", message=nasty)
    assert submitter.post(f"/intake/{case_id}/review", data=submit).status_code == 302
    act(reviewer, app, case_id, "assign")
    act(reviewer, app, case_id, "reject", reason=nasty)

    case = get_record(app, case_id)
    assert case["title"] == name and case["intake"]["product"]["team"] == nasty[:200]
    assert case["description"] == around(nasty)
    assert [c["body"] for c in case["comments"]] == [nasty]
    assert case["overrides"]["chatbot"]["reason"] == nasty
    assert [h["note"] for h in case["history"] if h["to_state"] == "changes_requested"] == [nasty]
    assert case["decision"]["note"] == nasty
    pages = [(reviewer, f"/review/cases/{case_id}"), (reviewer, f"/review/cases/{case_id}/evidence"),
             (reviewer, "/review/dashboard"), (submitter, f"/review/cases/{case_id}"), (submitter, "/intake/")]
    for viewer, url in pages:
        response = viewer.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.data.decode())
    evidence = reviewer.get(f"/review/cases/{case_id}/evidence.json")
    assert evidence.mimetype == "application/json" and "attachment" in evidence.headers["Content-Disposition"]
    pack = json.loads(evidence.data)
    assert pack["title"] == name and pack["decision"]["note"] == nasty and pack["comments"][0]["body"] == nasty
    rows = list(csv.reader(io.StringIO(reviewer.get("/review/dashboard.csv").data.decode())))
    # A spreadsheet shows a leading apostrophe as nothing but text; the title itself is intact behind it.
    assert rows[1][1] == ("'" + name if name[0] in "=+-@\t\r" else name)


def test_sign_in_refuses_hostile_text_with_a_message_and_escapes_it(client, users):
    for key, nasty in NASTY.items():
        page = client.post("/auth/login", data={"email": nasty, "password": nasty})
        assert page.status_code == 200 and 'class="error"' in page.data.decode(), key
        assert_escaped(page.data.decode())


def test_the_try_page_preview_and_queue_filters_survive_hostile_text(client, auth):
    auth.login("reviewer@example.com")
    for key, nasty in NASTY.items():
        tried = client.post("/try/", data={"description": around(nasty)})
        assert tried.status_code == 200 and "legal" in tried.data.decode(), key
        assert_escaped(tried.data.decode())
        preview = client.post("/intake/preview", data={"description": around(nasty)})
        assert preview.status_code == 200 and preview.mimetype == "application/json", key
        query = {name: nasty for name in ("state", "domain", "verdict", "vendor", "older_than")}
        for url in ("/review/", "/review/dashboard"):
            response = client.get(url, query_string=query)
            assert response.status_code == 200 and "Filters not applied" in response.data.decode(), (key, url)
            assert_escaped(response.data.decode())
        exported = client.get("/review/dashboard.csv", query_string=query)
        assert exported.status_code == 400 and exported.mimetype == "text/plain", key


@pytest.mark.parametrize("nasty", [NASTY["script"], NASTY["attribute"], NASTY["null_byte"]],
                         ids=["script", "attribute", "null_byte"])
def test_hostile_text_in_choice_and_email_fields_is_an_error_next_to_the_field(app, client, auth, nasty):
    auth.login()
    page = client.post("/intake/new", data={**PRODUCT, "owner_email": nasty, "access_path": nasty}).data.decode()
    assert "Invalid email address." in page and "Not a valid choice." in page
    assert_escaped(page)
    case_id = wizard(client, "Helper", "Team", around("fine"))
    before = get_record(app, case_id)["intake"]
    for step in ("users", "data", "review"):
        fields = {"users": USERS, "data": DATA, "review": {"audience": "x", "domains": "x"}}[step]
        response = client.post(f"/intake/{case_id}/{step}", data={**{k: nasty for k in fields}, "next": "1"})
        page = response.data.decode()
        assert response.status_code == 200 and 'class="field has-error"' in page, step
        assert_escaped(page)
    assert get_record(app, case_id)["intake"] == before


def test_a_field_that_is_too_long_is_refused_next_to_the_field_and_escaped(client, auth):
    auth.login()
    page = client.post("/intake/new", data={**PRODUCT, "name": "<script>" + "x" * 300}).data.decode()
    assert "Field cannot be longer than 200 characters." in page and 'class="field has-error"' in page
    assert_escaped(page)
    case_id = wizard(client, "Helper", "Team", around("fine"))
    page = client.post(f"/intake/{case_id}/description", data={"description": "<script>" + "y" * 1_000_000,
                                                               "next": "1"}).data.decode()
    assert "Too long: at most 20,000 characters" in page
    assert_escaped(page)


def test_a_form_body_over_the_size_limit_is_a_413_page(client, auth):
    auth.login()
    response = client.post("/intake/new", data={**PRODUCT, "name": "x" * (1024 * 1024 + 1)})
    assert response.status_code == 413 and response.mimetype == "text/html"


def test_invalid_utf8_in_a_form_body_is_kept_as_its_percent_escapes(app, client, auth):
    auth.login()
    # Invalid bytes, and the UTF-8 of a lone surrogate; Werkzeug keeps both as the escapes that were sent.
    body = (b"name=Bad%FF%FEname&team=%ED%A0%80&owner_email=o%40example.com&vendors=anthropic"
            b"&access_path=api_commercial&next=1")
    response = client.post("/intake/new", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    case = get_record(app, case_id_from(response.headers["Location"]))
    assert case["title"] == "Bad%FF%FEname" and case["intake"]["product"]["team"] == "%ED%A0%80"


@pytest.mark.parametrize("nasty", NASTY.values(), ids=IDS)
def test_every_api_text_field_stores_hostile_text_verbatim(app, client, nasty):
    token = make_token(app)
    classified = client.post("/api/v1/classify", json={"description": around(nasty)}, headers=bearer(token))
    assert classified.status_code == 200 and "legal" in classified.get_json()["classification"]["domains"]
    created = client.post("/api/v1/cases", json=new_case(external_ref=nasty[:200], title=nasty[:200],
                                                         description=around(nasty)), headers=bearer(token))
    assert created.status_code == 201
    assert_no_injected_header(created)
    case_id = created.get_json()["id"]
    comment = client.post(f"/api/v1/cases/{case_id}/comments", json={"body": nasty, "author": nasty[:200]},
                          headers=bearer(token))
    assert comment.status_code == 201 and comment.get_json()["body"] == nasty
    case = client.get(f"/api/v1/cases/{case_id}", headers=bearer(token)).get_json()
    assert (case["title"], case["external_ref"], case["description"]) == (nasty[:200], nasty[:200], around(nasty))
    # The author is the token; a name in the body is kept verbatim after it.
    assert [(c["author"], c["body"]) for c in case["comments"]] == [(f"token:jira (for {nasty[:200]})", nasty)]
    listed = client.get("/api/v1/cases", query_string={"external_ref": nasty[:200]}, headers=bearer(token))
    assert [c["id"] for c in listed.get_json()["items"]] == [case_id]


@pytest.mark.parametrize("nasty", NASTY.values(), ids=IDS)
def test_api_fields_with_a_format_refuse_hostile_text_as_a_problem(app, client, nasty):
    token = make_token(app)
    refused = [
        client.post("/api/v1/cases", json=new_case(submitter_email=nasty), headers=bearer(token)),
        client.get("/api/v1/cases", query_string={"cursor": nasty[:400]}, headers=bearer(token)),
        client.get("/api/v1/cases", query_string={"state": nasty}, headers=bearer(token)),
        client.get("/api/v1/policies", query_string={"on": nasty}, headers=bearer(token)),
        client.post("/api/v1/webhooks", json={"url": nasty}, headers=bearer(token)),
        client.post("/api/v1/classify", json={"description": "x", "answers": {"audience": nasty}},
                    headers=bearer(token)),
    ]
    for response in refused:
        assert_problem(response, 422)
        assert response.get_json()["errors"][0]["message"]
    if "\n" not in nasty:
        # A header with a line break cannot even be sent; the API takes printable ASCII keys and refuses the rest.
        keyed = client.post("/api/v1/cases", json=new_case(), headers={**bearer(token), "Idempotency-Key": nasty[:200]})
        printable = all("\x21" <= ch <= "\x7e" for ch in nasty)
        assert keyed.status_code == (201 if printable else 422)


def test_a_line_break_in_a_webhook_url_cannot_reach_the_delivery_headers(app, client):
    token = make_token(app, "webhooks cases:read")
    response = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/a\r\nX-Injected: 1"},
                           headers=bearer(token))
    # URLs are parsed as browsers do: tabs and line breaks inside them are dropped, the rest percent-encoded.
    assert response.status_code == 201 and response.get_json()["url"] == "http://127.0.0.1:9/aX-Injected:%201"


@pytest.mark.parametrize("field", ["title", "description", "external_ref"])
def test_a_lone_surrogate_in_json_is_refused_naming_the_field(app, client, field):
    body = json.dumps(new_case(description=around("fine"))).replace(f'"{field}": "', f'"{field}": "\\ud800', 1)
    response = client.post("/api/v1/cases", data=body, content_type="application/json",
                           headers=bearer(make_token(app)))
    assert_problem(response, 422)
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_invalid_utf8_in_a_json_body_is_a_400_problem(app, client):
    response = client.post("/api/v1/classify", data=b'{"description": "\xff\xfe legal advice"}',
                           content_type="application/json", headers=bearer(make_token(app)))
    assert "not valid JSON" in assert_problem(response, 400)["detail"]


def test_a_1_mb_json_body_is_a_413_problem(app, client):
    response = client.post("/api/v1/cases", json=new_case(description="x" * 1_000_000),
                           headers=bearer(make_token(app)))
    assert_problem(response, 413)


def test_null_bytes_are_stored_alike_by_the_forms_and_the_api(app, client, auth):
    auth.login()
    case_id = wizard(client, "Null\x00name", "Team", around("nul\x00here"))
    token = make_token(app)
    created = client.post("/api/v1/cases", json=new_case(title="Null\x00name", description=around("nul\x00here")),
                          headers=bearer(token)).get_json()
    web, api = get_record(app, case_id), get_record(app, created["id"])
    assert (web["title"], web["description"]) == (api["title"], api["description"]) == ("Null\x00name",
                                                                                         around("nul\x00here"))


def test_sign_in_with_a_line_break_in_next_redirects_home(client, users):
    response = client.post("/auth/login?next=/%0d%0aSet-Cookie:%20injected=1",
                           data={"email": "submitter@example.com", "password": "correct horse battery"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_csv_neutralises_formulas_in_the_submitter_column_and_behind_a_tab(app, client, auth):
    token = make_token(app)
    created = client.post("/api/v1/cases", json=new_case(title="\t=1+1", submitter_email="-1+1@example.com"),
                          headers=bearer(token))
    assert created.status_code == 201
    auth.login("reviewer@example.com")
    rows = list(csv.reader(io.StringIO(client.get("/review/dashboard.csv").data.decode())))
    assert (rows[1][1], rows[1][6]) == ("'\t=1+1", "'-1+1@example.com")


def test_admin_user_forms_store_hostile_names_verbatim_or_refuse_them_next_to_the_field(app, client, users):
    login(client, "admin@example.com")
    for number, (key, nasty) in enumerate(NASTY.items()):
        email = f"user{number}@example.com"
        response = client.post("/admin/users", data={"email": email, "name": nasty, "role": "reviewer",
                                                      "password": "a long enough password"})
        with app.app_context():
            stored = get_db().execute("select name from users where email = ?", [email]).fetchone()
        if response.status_code == 302:
            assert stored[0] == nasty, key
            page = client.get(response.headers["Location"]).data.decode()
            assert_escaped(page)
        else:
            page = response.data.decode()
            assert response.status_code == 400 and stored is None and 'id="name-error-1"' in page, key
            assert_escaped(page)
        refused = client.post("/admin/users", data={"email": nasty, "name": "x", "role": "reviewer",
                                                    "password": "a long enough password"})
        assert refused.status_code == 400 and 'id="email-error-1"' in refused.data.decode(), key
        assert_escaped(refused.data.decode())
    listing = client.get("/admin/users")
    assert listing.status_code == 200
    assert_escaped(listing.data.decode())
