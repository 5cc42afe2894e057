"""Response shapes of the API; spectree checks every answer against them and puts them in OpenAPI."""

import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from storage.webhooks import STATUSES

from .schemas import Open


class Nearest(Open):
    id: str
    text: str
    labels: dict[str, Any]
    similarity: float


class Sentence(Open):
    label: str
    sentence: str
    score: float


class Explanation(Open):
    nearest: list[Nearest]
    sentences: list[Sentence]


class Classification(Open):
    domains: list[str]
    domain_probabilities: dict[str, float]
    audience: str | None
    audience_probability: float | None
    prohibited: str | None
    prohibited_probability: float | None = Field(None, description="P(the use is prohibited at all)")
    prohibited_category: str | None = Field(None, description="the likeliest category should it be prohibited")
    prohibited_category_share: float | None = Field(None, description="that category's share of the prohibited "
                                                    "probability")
    decisions_about_individuals: bool | None = None
    decisions_about_individuals_probability: float | None = None
    qualified_human_review: bool | None = Field(None, description="what the text says about a qualified person "
                                                "checking each output; null when it does not say")
    qualified_human_review_probability: float | None = None
    unreadable: str | None = Field(None, description="why the text could not be classified (every label is then "
                                   "uncertain): 'language not supported' or 'too little to go on'")
    possible_uses: list[str] | None = Field(None, description="uses the policies name that the text could "
                                           "describe (gambling, military_use, ...): each is unknown until answered")
    chatbot: bool | None
    chatbot_probability: float | None
    minors: bool | None
    minors_probability: float | None
    uncertain: list[str]
    explanation: Explanation
    model_version: str


class FactEntry(Open):
    value: Any = Field(description="the value the rules read")
    source: str = Field(description="predicted, answered, overridden, default or missing")


class Clause(Open):
    pack: str
    id: str
    section: str
    quote: str


class Safeguard(Open):
    id: str
    title: str
    action: str
    clauses: list[Clause]


class VendorVerdict(Open):
    verdict: str
    pack: str | None
    rules: list[str]
    safeguards: list[Safeguard]
    needs_review_on: list[str]


class Advisory(Safeguard):
    vendor: str
    pack: str
    rules: list[str]


class Assessment(Open):
    tier: str
    vendors: dict[str, VendorVerdict]
    advisories: list[Advisory]
    packs: list[str]


class ClassifyResponse(BaseModel):
    classification: Classification
    facts: dict[str, FactEntry]
    assessment: Assessment
    risk_tier: str
    packs: list[str]
    model_version: str
    on: datetime.date


class Comment(BaseModel):
    id: int
    case_id: int
    author: str | None
    body: str
    created_at: str


class StateChange(BaseModel):
    from_state: str | None
    to_state: str
    actor: str | None
    note: str | None
    at: str | None


class CaseLinks(BaseModel):
    self: str
    comments: str


class CaseSummary(BaseModel):
    id: int
    external_ref: str | None
    title: str
    state: str
    risk_tier: str | None
    created_at: str | None
    updated_at: str | None
    links: CaseLinks


class Case(CaseSummary):
    description: str | None
    submitter_email: str | None
    source: str | None
    classification: Classification | None
    answers: dict[str, Any] | None
    facts: dict[str, FactEntry] | None
    assessment: Assessment | None
    comments: list[Comment]
    history: list[StateChange]


class CaseStateChanged(StateChange):
    """The body of every webhook delivery: one state change of a case, with the case after it."""

    delivery_id: str = Field(description="equal to the webhook-id header, and the same on every retry")
    event: Literal["case.state_changed"]
    case: Case = Field(description="the case after the change, as GET /cases/{id} answers it; external_ref is "
                       "the ticket key the case was opened with")


class CaseList(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")


class PackClause(BaseModel):
    id: str
    section: str
    quote: str


class PackRule(BaseModel):
    id: str
    description: str
    when: dict[str, Any]
    verdict: str | None
    safeguards: list[str]
    advisory: str | None
    clauses: list[str] = Field(description="pack:clause references")


class PackMeasure(BaseModel):
    id: str
    title: str
    action: str
    clauses: list[str]


class PolicyPack(BaseModel):
    id: str
    vendor: str
    kind: str
    title: str
    effective_from: datetime.date
    effective_until: datetime.date | None
    source: str
    language: str
    clauses: list[PackClause]
    rules: list[PackRule]
    safeguards: list[PackMeasure]
    advisories: list[PackMeasure]


class Policies(BaseModel):
    on: datetime.date
    packs: list[PolicyPack]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: dict[str, Any]
    model: dict[str, Any]
    packs: list[str]


class WebhookLinks(BaseModel):
    deliveries: str


class Webhook(BaseModel):
    id: int
    url: str
    active: bool
    created_at: str
    links: WebhookLinks


class WebhookCreated(Webhook):
    secret: str = Field(description="signs every delivery; shown only here")
    signing_secret: str = Field(description="the same key in the whsec_ form Standard Webhooks libraries take "
                                "(equal to secret when it was generated); shown only here")


class WebhookList(BaseModel):
    items: list[Webhook]


class Attempt(BaseModel):
    attempt: int
    at: str
    status_code: int | None
    error: str | None
    duration_ms: float | None


class Delivery(BaseModel):
    delivery_id: str
    case_id: int | None
    event: str
    status: Literal[STATUSES]
    attempts: int
    created_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[Attempt]


class DeliveryList(BaseModel):
    items: list[Delivery]

