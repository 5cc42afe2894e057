"""Every operation of the OpenAPI document, fuzzed in-process with valid and invalid requests.

Each operation runs against a fresh database with a token holding every scope, a case and a webhook, so
generated ids sometimes hit a real record. Examples are derandomized: the same requests run on every machine.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_support import ALL_SCOPES, bearer, make_token, new_case

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = 12
OPERATIONS = [
    "GET /api/v1/cases", "POST /api/v1/cases", "GET /api/v1/cases/{case_id}",
    "POST /api/v1/cases/{case_id}/comments", "POST /api/v1/classify", "GET /api/v1/health",
    "GET /api/v1/openapi.json", "GET /api/v1/policies", "GET /api/v1/webhooks", "POST /api/v1/webhooks",
    "DELETE /api/v1/webhooks/{webhook_id}", "GET /api/v1/webhooks/{webhook_id}/deliveries",
]


def load_schema(app):
    """The app's own document; the include keeps the document's own operation, which is left out by default."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex="^/api/v1/")


@pytest.fixture
def seeded(app, client):
    """A token with every scope, plus the ids of a case and a webhook it can see."""
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    token = make_token(app, ALL_SCOPES)
    case = client.post("/api/v1/cases", json=new_case(), headers=bearer(token)).get_json()
    hook = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=bearer(token)).get_json()
    return {"token": token, "case_id": case["id"], "webhook_id": hook["id"]}


def test_the_list_names_every_operation_of_the_document(app):
    labels = [result.ok().label for result in load_schema(app).get_all_operations()]
    assert sorted(labels) == sorted(OPERATIONS)


def _point_at_records(case, seeded):
    # Generated ids almost never exist; send half of the integer ones to the seeded records instead.
    for name in ("case_id", "webhook_id"):
        value = (case.path_parameters or {}).get(name)
        if isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = seeded[name]


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_answers_within_its_contract(app, seeded, label, mode):
    operation = load_schema(app)[label.split(" ")[1]][label.split(" ")[0]]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        _point_at_records(case, seeded)
        case.call_and_validate(headers=bearer(seeded["token"]), checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        # Nothing in an operation without parameters or body can be made invalid.
        assert mode is GenerationMode.NEGATIVE and not operation.body and not list(operation.iter_parameters())
