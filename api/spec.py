"""The spectree instance that validates the API and generates its OpenAPI 3.1 document."""

import copy

from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData

from .errors import PROBLEM, ApiError, validation_errors
from .responses import CaseStateChanged
from .schemas import Problem
from .signing import HEADERS

BEARER = {"bearerAuth": []}
PUBLIC = {}


def _before(req, resp, req_validation_error, instance, model_adapter):
    """Turn spectree's request validation error into a 422 problem with one entry per field."""
    if req_validation_error is not None:
        raise ApiError(422, detail="Some fields are invalid.", errors=validation_errors(req_validation_error))


def _after(req, resp, resp_validation_error, instance, model_adapter):
    """A response that breaks its own schema is our bug: log it and answer a plain 500."""
    if resp_validation_error is not None:
        raise RuntimeError(f"response to {req.method} {req.path} breaks its schema: {resp_validation_error}")


# Strict mode: only routes decorated with spec.validate appear in the document, not the web pages.
spec = SpecTree(
    "flask",
    mode="strict",
    title="usecase-intake ticketing API",
    version="1.0.0",
    description="Classify AI use cases against vendors' usage policies, open cases and follow their decisions.",
    # Plain model names: they are unique here, and clients read them in generated code.
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    before=_before,
    after=_after,
    validation_error_status=422,
    validation_error_model=Problem,
    security_schemes=[SecurityScheme(name="bearerAuth", data=SecuritySchemeData(
        type="http", scheme="bearer", description="a token from `flask tokens create`"))],
)


def responses(*error_codes, **ok):
    """A spectree Response: the success models in ``ok`` plus a Problem for each error code."""
    return Response(**ok, **{f"HTTP_{code}": Problem for code in error_codes})


def openapi_document():
    """The generated document, with problem responses typed application/problem+json and headers named."""
    doc = copy.deepcopy(spec.spec)
    problem_ref = "#/components/schemas/Problem"
    for operations in doc["paths"].values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref") == problem_ref:
                    response["content"] = {PROBLEM: content["application/json"]}
                if code == "429":
                    response["headers"] = {"Retry-After": {
                        "description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
                if code == "201":
                    response["headers"] = {"Location": {
                        "description": "the URL of the new resource", "schema": {"type": "string"}}}
    _describe_webhooks(doc)
    return doc


def _describe_webhooks(doc):
    """What a registered webhook receives, as an OpenAPI 3.1 ``webhooks`` entry with its payload schema."""
    schema = CaseStateChanged.model_json_schema(ref_template="#/components/schemas/{model}")
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components["CaseStateChanged"] = schema
    doc["webhooks"] = {"case.state_changed": {"post": {
        "summary": "A case changed state",
        "description": "Sent to every active webhook that may read the case, on every state change; see "
                       "docs/integrations.md. Any 2xx answer ends the delivery; others are retried with backoff.",
        "parameters": [{"name": name, "in": "header", "required": not deprecated, "deprecated": deprecated,
                        "description": description, "schema": {"type": "string"}}
                       for name, deprecated, description in HEADERS],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/CaseStateChanged"}}}},
        "responses": {"2XX": {"description": "received; the delivery ends"}},
    }}}
