"""Request shapes of the API and its problem document, declared once: spectree validates requests with
them and builds the OpenAPI document from them (responses are in api/responses.py)."""

import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, StringConstraints, create_model

import rules
from config import Config
from storage.cases import STATES
from storage.webhooks import STATUSES


class Strict(BaseModel):
    """A request shape: unknown keys are an error, so a misspelt field is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A response shape: keys added later do not break the contract."""

    model_config = ConfigDict(extra="allow")


def _no_default(schema):
    schema.pop("default", None)


def optional(**kwargs):
    """An optional query or header parameter: absent means None (defaults are not validated), but null
    is not a value a query string or header can carry, so the schema does not offer it."""
    return Field(None, json_schema_extra=_no_default, **kwargs)


def _answer_type(fact):
    if fact.kind == "bool":
        return bool | None
    if fact.kind == "enum":
        return Literal[fact.choices] | None
    if fact.kind == "list":
        return list[Literal[fact.choices]] | None
    if fact.kind == "date":
        return datetime.date | None
    return Any


# The questionnaire facts a client may answer, taken from the rules so the two cannot drift apart.
Answers = create_model(
    "Answers",
    __base__=Strict,
    __doc__="Answers to the questionnaire: each fact overrides what the classifier predicted.",
    **{name: (_answer_type(rules.FACTS[name]), Field(None, description=rules.FACTS[name].label))
       for name in rules.QUESTIONS},
)


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the field, e.g. answers.audience")
    pointer: str = Field(description="JSON pointer to the field in the request")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = Field(None, description="one entry per invalid field")


# Requests

# The limit is the app's MAX_DESCRIPTION_CHARS, checked where the description is assessed (assessment.py).
DESCRIPTION = (f"what the AI use case does; at most MAX_DESCRIPTION_CHARS characters "
               f"({Config.MAX_DESCRIPTION_CHARS:,} by default)")


class ClassifyRequest(Strict):
    description: str = Field(min_length=1, description=DESCRIPTION)
    answers: Answers | None = None
    on: datetime.date | None = Field(None, description="apply the policies in force on this day (default today)")


class CaseCreate(Strict):
    external_ref: str = Field(min_length=1, max_length=200, description="the ticket's key, e.g. JIRA-123")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, description=DESCRIPTION)
    answers: Answers | None = None
    submitter_email: EmailStr


class IdempotencyHeaders(BaseModel):
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")] = \
        optional(alias="Idempotency-Key", description="retrying with the same key and body returns the same case")


# The API never serves drafts (a web user's unfinished answers).
API_STATES = tuple(state for state in STATES if state != "draft")


class CaseQuery(Strict):
    state: Literal[API_STATES] = optional()
    external_ref: str = optional(max_length=200)
    updated_since: datetime.datetime = optional(description="ISO 8601; naive times are UTC")
    cursor: str = optional(max_length=400, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


class CommentCreate(Strict):
    body: str = Field(min_length=1, max_length=10_000)
    author: str | None = Field(None, max_length=200, description="who the comment is written for; the author "
                               "shown and audited is always the token (\"token:<name> (for <author>)\")")


class PoliciesQuery(Strict):
    on: datetime.date = optional(description="default today")


class WebhookCreate(Strict):
    url: HttpUrl
    secret: str | None = Field(None, min_length=16, max_length=200,
                               description="generated (whsec_ + base64 of 32 random bytes) when not given; a "
                               "whsec_ secret must be base64 of 24 to 64 bytes")


class DeliveriesQuery(Strict):
    status: Literal[STATUSES] = optional()
    limit: int = Field(50, ge=1, le=200)
