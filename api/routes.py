"""The API's routes under /api/v1: classify, open cases, follow decisions by webhook."""

import datetime
import hashlib
import json

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

import rules
from api import responses as r
from api import schemas as s
from api.auth import require_token, scope
from api.delivery import is_loopback, target_problem
from api.errors import ApiError, field_error, handle_api_error, handle_unexpected, problem_for_http_error
from api.policies import pack_view, packs_in_force
from api.spec import BEARER, PUBLIC, openapi_document, responses, spec
from assessment import AssessmentError, assess
from classifier.embedders import ModelMissingError
from classifier.predictor import ModelFileError
from classifier.service import case_embedding, get_classifier
from storage import cases, get_db, rate_limits, tokens
from storage import webhooks as hooks
from storage.masking import mask

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.register_error_handler(ApiError, handle_api_error)
bp.register_error_handler(HTTPException, problem_for_http_error)
bp.register_error_handler(Exception, handle_unexpected)

# Errors every authenticated operation may answer.
AUTH_ERRORS = (401, 403, 429)
BODY_ERRORS = (400, 413, 415, 422)


@bp.before_request
def check_request():
    """Size, token and scope, then content type and JSON syntax, before spectree validates the fields."""
    limit = current_app.config["API_MAX_BODY_BYTES"]
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"The request body is over {limit:,} bytes.")
    view = current_app.view_functions.get(request.endpoint)
    required = getattr(view, "api_scope", None)
    if request.method == "OPTIONS" or required == "public":
        return
    record = require_token(required)
    if current_app.config["API_RATE_LIMIT_STORAGE"] == "database":
        # Counted in the database, so the limit holds across every gunicorn worker.
        wait = rate_limits.hit(get_db(), f"api:token:{record['id']}", current_app.config["API_RATE_LIMIT"])
        if wait:
            raise ApiError(429, detail="Too many requests for this token; wait and try again.",
                           headers={"Retry-After": str(wait)})
    if request.method in ("POST", "PUT", "PATCH"):
        if not request.is_json:
            raise ApiError(415, detail="Send the body as JSON with Content-Type: application/json.")
        try:
            request.get_json()
        except BadRequest as exc:
            raise ApiError(400, detail=f"The body is not valid JSON: {exc.description}") from None
        except RecursionError:
            # The JSON parser recurses once per level, and the size limit leaves room for thousands of levels.
            raise ApiError(400, detail="The body is not valid JSON: it is nested too deeply.") from None


def case_links(case_id):
    """Where the API serves a case and its comments."""
    base = f"{bp.url_prefix}/cases/{case_id}"
    return {"self": base, "comments": f"{base}/comments"}


def _linked_case(case):
    return {**case, "links": case_links(case["id"])}


def _linked_hook(hook):
    return {**hook, "links": {"deliveries": f"{bp.url_prefix}/webhooks/{hook['id']}/deliveries"}}


def _answers(model):
    return model.model_dump(mode="json", exclude_none=True) if model is not None else {}


def get_case_or_404(case_id):
    """The case, if the token may see it, or a 404 problem.

    Drafts (a web user's unfinished answers) are never served, and a token limited to its own cases sees
    only those: any other case is answered as if it did not exist.
    """
    case = cases.get_case(get_db(), case_id)
    token = g.api_token
    if case is None or case["state"] == "draft" or (
            token.get("own_cases") and cases.token_of(get_db(), case_id) != token["id"]):
        raise ApiError(404, detail=f"No case {case_id}.")
    return _linked_case(case)


def _assess(description, answers, on=None):
    """:func:`assessment.assess`, its refusals answered as problems."""
    try:
        return assess(description, answers, on)
    except AssessmentError as exc:
        if exc.field:
            raise ApiError(exc.status, detail="Some fields are invalid.",
                           errors=[field_error(exc.field, exc.message)]) from None
        raise ApiError(exc.status, detail=exc.message) from None


def _case_error(exc):
    errors = [field_error(exc.field, str(exc))] if exc.field else None
    return ApiError(exc.status, detail=str(exc), errors=errors)


@bp.post("/classify")
@spec.validate(json=s.ClassifyRequest, resp=responses(*BODY_ERRORS, *AUTH_ERRORS, 503, HTTP_200=r.ClassifyResponse),
               tags=["classify"], security=BEARER)
@scope("classify")
def classify():
    """Classify a description and assess it against the policies in force; stores only a counter."""
    body = request.context.json
    _check_budget(g.api_token)
    result = _assess(body.description, _answers(body.answers), body.on)
    tokens.count_use(get_db(), g.api_token["id"], "classify")
    return result


# The endpoints that run the classifier, counted against a token's daily budget.
CLASSIFYING = ("classify", "cases")


def _check_budget(token):
    """Refuse with 429 when the token used up its daily classifications (``API_DAILY_CLASSIFY_BUDGET``)."""
    budget = current_app.config["API_DAILY_CLASSIFY_BUDGET"]
    if budget and tokens.used_today(get_db(), token["id"], CLASSIFYING) >= budget:
        now = datetime.datetime.now(datetime.UTC)
        midnight = datetime.datetime.combine(now.date() + datetime.timedelta(days=1), datetime.time(),
                                             datetime.UTC)
        raise ApiError(429, detail=f"This token's daily budget of {budget:,} classifications is used up; it "
                                   "renews at midnight UTC.",
                       headers={"Retry-After": str(max(1, int((midnight - now).total_seconds())))})


@bp.post("/cases")
@spec.validate(json=s.CaseCreate, headers=s.IdempotencyHeaders,
               resp=responses(*BODY_ERRORS, *AUTH_ERRORS, 409, 503, HTTP_200=r.Case, HTTP_201=r.Case),
               tags=["cases"], security=BEARER)
@scope("cases:write")
def create_case():
    """Open a submitted case with its assessment; an Idempotency-Key makes retries return the same case."""
    body = request.context.json
    key = request.context.headers.idempotency_key
    token = g.api_token
    idempotency = None
    db = get_db()
    try:
        if key:
            digest = hashlib.sha256(json.dumps(request.get_json(), sort_keys=True).encode()).hexdigest()
            idempotency = (key, digest)
            existing = cases.find_idempotent(db, token["id"], key, digest)
            if existing is not None:
                return _linked_case(existing), 200
        _check_budget(token)
        answers = _answers(body.answers)
        # Classified masked: the explanation quotes sentences of the text, and it is stored and sent on.
        description = mask(body.description)
        result = _assess(description, answers)
        case, created = cases.create_case(
            db, title=mask(body.title), description=description, external_ref=body.external_ref,
            submitter_email=body.submitter_email, classification=result["classification"], answers=answers,
            facts=result["facts"], assessment=result["assessment"], actor=f"token:{token['name']}",
            token_id=token["id"], idempotency=idempotency, embedding=case_embedding(description))
    except cases.CaseError as exc:
        raise _case_error(exc) from None
    case = _linked_case(case)
    if not created:
        return case, 200
    tokens.count_use(db, token["id"], "cases")
    return case, 201, {"Location": case["links"]["self"]}


@bp.get("/cases/<int:case_id>")
@spec.validate(resp=responses(*AUTH_ERRORS, 404, HTTP_200=r.Case), tags=["cases"], security=BEARER)
@scope("cases:read")
def get_case(case_id):
    """A case with its assessment, comments and state history."""
    return get_case_or_404(case_id)


@bp.get("/cases")
@spec.validate(query=s.CaseQuery, resp=responses(*AUTH_ERRORS, 422, HTTP_200=r.CaseList), tags=["cases"],
               security=BEARER)
@scope("cases:read")
def list_cases():
    """Cases by last update, oldest first, filtered; follow next_cursor for the next page."""
    q = request.context.query
    since = None
    if q.updated_since is not None:
        stamp = q.updated_since
        stamp = stamp.replace(tzinfo=datetime.UTC) if stamp.tzinfo is None else stamp.astimezone(datetime.UTC)
        since = stamp.isoformat(timespec="seconds")
    try:
        own = g.api_token["id"] if g.api_token.get("own_cases") else None
        items, next_cursor = cases.list_cases(get_db(), q.state, q.external_ref, since, q.cursor, q.limit,
                                              token_id=own, drafts=False)
    except cases.CaseError as exc:
        raise _case_error(exc) from None
    return {"items": [_linked_case(item) for item in items], "next_cursor": next_cursor}


@bp.post("/cases/<int:case_id>/comments")
@spec.validate(json=s.CommentCreate, resp=responses(*BODY_ERRORS, *AUTH_ERRORS, 404, HTTP_201=r.Comment),
               tags=["cases"], security=BEARER)
@scope("cases:write")
def add_comment(case_id):
    """Add a comment to a case."""
    body = request.context.json
    token = g.api_token
    get_case_or_404(case_id)
    # The author is the token: a name given in the body is kept only as who the client wrote for, after it,
    # so a comment cannot pass for a reviewer's, and the audit actor is always the token.
    actor = f"token:{token['name']}"
    author = f"{actor} (for {mask(body.author)})" if body.author else actor
    try:
        comment = cases.add_comment(get_db(), case_id, body.body, author, token_id=token["id"], actor=actor)
    except cases.CaseError as exc:
        raise _case_error(exc) from None
    return comment, 201, {"Location": case_links(case_id)["self"]}


@bp.get("/policies")
@spec.validate(query=s.PoliciesQuery, resp=responses(*AUTH_ERRORS, 422, HTTP_200=r.Policies), tags=["policies"],
               security=BEARER)
@scope(None)
def policies():
    """The policy packs in force (today or on a given day), with their rules and quoted clauses."""
    day = request.context.query.on or datetime.date.today()
    return {"on": day.isoformat(), "packs": [pack_view(p) for p in packs_in_force(rules.get_packs(), day)]}


@bp.get("/health")
@spec.validate(resp=responses(HTTP_200=r.Health, HTTP_503=r.Health), tags=["service"], security=PUBLIC)
@scope("public")
def health():
    """Whether the database answers and a classifier model is loaded or ready to load; no token needed."""
    database, model = {"ok": True}, {"ok": False, "loaded": False, "version": None}
    try:
        get_db().execute("select 1 from _sqlite_migrations limit 1").fetchall()
    except Exception as exc:  # any database failure is what this endpoint reports
        database = {"ok": False, "error": type(exc).__name__}
    loaded = current_app.extensions.get("classifier")
    if loaded is not None:
        model = {"ok": True, "loaded": True, "version": loaded.version}
    else:
        try:
            model = {"ok": True, "loaded": True, "version": get_classifier().version}
        except (ModelFileError, ModelMissingError) as exc:
            # Anyone may call health: the detail (file names, paths) goes to the log, not to the caller.
            current_app.logger.warning("health: the classifier is not available: %s", exc)
            model["error"] = "The classifier is not available; the service log says why."
    packs = [p.id for p in packs_in_force(rules.get_packs(), datetime.date.today())]
    ok = database["ok"] and model["ok"]
    return {"status": "ok" if ok else "degraded", "database": database, "model": model, "packs": packs}, \
        200 if ok else 503


@bp.get("/openapi.json")
@spec.validate(resp=responses(HTTP_200=None), tags=["service"], security=PUBLIC)
@scope("public")
def openapi():
    """This API's OpenAPI 3.1 document, generated from the schemas that validate it."""
    return openapi_document()


@bp.post("/webhooks")
@spec.validate(json=s.WebhookCreate, resp=responses(*BODY_ERRORS, *AUTH_ERRORS, 409, HTTP_201=r.WebhookCreated),
               tags=["webhooks"], security=BEARER)
@scope("webhooks")
def create_webhook():
    """Register a URL to receive the state changes of the cases this token may read, signed with the secret."""
    body = request.context.json
    if "cases:read" not in g.api_token["scopes"]:
        # Deliveries carry the whole case: a token that may not read cases may not receive them either.
        raise ApiError(403, detail="Webhooks deliver cases: this token needs the 'cases:read' scope as well.")
    try:
        problem = target_problem(str(body.url), current_app.config["WEBHOOK_ALLOW_LOOPBACK"],
                                 current_app.config["WEBHOOK_ALLOWED_HOSTS"])
        if problem:
            raise hooks.WebhookError(problem)
        if body.url.scheme == "http" and not (current_app.config["WEBHOOK_ALLOW_HTTP"]
                                             or is_loopback(str(body.url))):
            raise hooks.WebhookError("Use an https:// URL: deliveries carry case data, personal data included "
                                     "(http:// only with INTAKE_WEBHOOK_ALLOW_HTTP=true).")
        hook = hooks.create_webhook(get_db(), str(body.url), body.secret, g.api_token["id"],
                                    current_app.config["WEBHOOK_MAX_PER_TOKEN"],
                                    key=current_app.config["WEBHOOK_SECRETS_KEY"])
    except hooks.TooManyWebhooks as exc:
        raise ApiError(409, detail=str(exc)) from None
    except hooks.WebhookError as exc:
        raise ApiError(422, detail=str(exc), errors=[field_error(exc.field, str(exc))]) from None
    hook = _linked_hook(hook)
    return hook, 201, {"Location": hook["links"]["deliveries"]}


@bp.get("/webhooks")
@spec.validate(resp=responses(*AUTH_ERRORS, HTTP_200=r.WebhookList), tags=["webhooks"], security=BEARER)
@scope("webhooks")
def list_webhooks():
    """The webhooks this token registered."""
    return {"items": [_linked_hook(hook) for hook in hooks.list_webhooks(get_db(), g.api_token["id"])]}


@bp.delete("/webhooks/<int:webhook_id>")
@spec.validate(resp=responses(*AUTH_ERRORS, 404, HTTP_204=None), tags=["webhooks"], security=BEARER)
@scope("webhooks")
def delete_webhook(webhook_id):
    """Stop a webhook; its pending deliveries are cancelled."""
    try:
        hooks.disable_webhook(get_db(), webhook_id, g.api_token["id"])
    except hooks.WebhookNotFound as exc:
        raise ApiError(404, detail=str(exc)) from None
    return "", 204


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@spec.validate(query=s.DeliveriesQuery, resp=responses(*AUTH_ERRORS, 404, 422, HTTP_200=r.DeliveryList),
               tags=["webhooks"], security=BEARER)
@scope("webhooks")
def deliveries(webhook_id):
    """A webhook's deliveries, newest first, with every attempt."""
    db = get_db()
    try:
        hooks.get_webhook(db, webhook_id, g.api_token["id"])
    except hooks.WebhookNotFound as exc:
        raise ApiError(404, detail=str(exc)) from None
    q = request.context.query
    return {"items": hooks.list_deliveries(db, webhook_id, q.status, q.limit)}
