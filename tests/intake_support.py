"""Helpers that drive the intake wizard through the test client."""

import re

DESCRIPTION = ("A chatbot where customers ask a lawyer about a contract and get advice on their court case "
               "before they sign it.")
PRODUCT = {"name": "Contract helper", "team": "Legal tech", "owner_email": "owner@example.com",
           "vendors": ["anthropic", "openai"], "access_path": "api_commercial", "next": "1"}
USERS = {"end_users": "public", "chatbot": "yes", "minors": "no", "publishes_content_externally": "no",
         "decisions_about_individuals": "no", "simulates_real_person": "no", "next": "1"}
DATA = {"handles_personal_data": "yes", "agentic_actions": ["tools"], "next": "1"}


def case_id_from(location):
    return int(re.search(r"/intake/(\d+)/", location).group(1))


def start(client, product=None):
    """Post the first step; returns the new draft's id."""
    response = client.post("/intake/new", data=product or PRODUCT)
    assert response.status_code == 302, response.data.decode()[:2000]
    return case_id_from(response.headers["Location"])


# The answer to a follow-up question that its draft makes relevant, when a test does not care.
FOLLOWUP_ANSWERS = {"qualified_human_review": "yes"}


def fill(client, users=None, data=None, description=DESCRIPTION, product=None):
    """Drive a draft to its review step, answering any follow-up questions; returns the case id."""
    case_id = start(client, product)
    for name, form in (("description", {"description": description, "next": "1"}), ("users", users or USERS),
                       ("data", data or DATA)):
        response = client.post(f"/intake/{case_id}/{name}", data=form)
        assert response.status_code == 302, response.data.decode()[:3000]
    if response.headers["Location"].endswith("/followups"):
        response = client.post(f"/intake/{case_id}/followups", data={**FOLLOWUP_ANSWERS, "next": "1"})
        assert response.status_code == 302, response.data.decode()[:3000]
    return case_id


def submit(client, users=None, data=None):
    """A submitted case's id."""
    case_id = fill(client, users, data)
    response = client.post(f"/intake/{case_id}/review", data={"domains": ["legal"], "audience": "consumer",
                                                              "submit": "1"})
    assert response.status_code == 302 and response.headers["Location"] == f"/review/cases/{case_id}"
    return case_id
