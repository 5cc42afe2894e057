"""The OpenAPI document and the token CLI (the document is fuzzed in tests/test_api_schemathesis.py)."""

import pytest
from openapi_spec_validator import validate

from storage import get_db
from storage.tokens import hash_token
from tests.api_support import bearer


def test_openapi_document_is_valid_3_1_and_covers_every_route(client, app):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    routes = {(rule.rule.replace("<int:", "{").replace(">", "}"), method.lower())
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == documented
    problem = doc["paths"]["/api/v1/classify"]["post"]["responses"]["422"]["content"]
    assert list(problem) == ["application/problem+json"]
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []


def test_tokens_cli_creates_a_working_token_and_revokes_it(app, runner, client):
    result = runner.invoke(args=["tokens", "create", "--name", "jira", "--scopes", "classify,cases:read"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with app.app_context():
        row = next(get_db()["api_tokens"].rows)
    assert row["token_hash"] == hash_token(token) and token not in str(row)
    assert client.get("/api/v1/cases", headers=bearer(token)).status_code == 200
    listed = runner.invoke(args=["tokens", "list"])
    assert "jira" in listed.output and "classify,cases:read" in listed.output and token not in listed.output
    assert runner.invoke(args=["tokens", "revoke", "jira"]).exit_code == 0
    assert client.get("/api/v1/cases", headers=bearer(token)).status_code == 401
    assert runner.invoke(args=["tokens", "revoke", "jira"]).exit_code == 1


@pytest.mark.parametrize("scopes", ["admin", ",", "classify,everything"])
def test_tokens_cli_refuses_unknown_scopes(runner, scopes):
    result = runner.invoke(args=["tokens", "create", "--name", "x", "--scopes", scopes])
    assert result.exit_code == 1 and "scope" in result.output


def test_webhooks_cli_lists_and_delivers_nothing_when_empty(runner):
    assert "No webhooks" in runner.invoke(args=["webhooks", "list"]).output
    result = runner.invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0 and "Delivered 0" in result.output
