"""The guided intake: a step at a time, saved as a server-side draft, confirmed, then submitted."""

import datetime
import re
import secrets

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from assessment import AssessmentError, assess
from classifier.embedders import ModelMissingError
from classifier.labels import USES
from classifier.predictor import ModelFileError
from classifier.service import case_embedding, get_classifier
from classifier.text import DescriptionError
from forms import wizard
from rules.facts import CLASSIFIER_FACTS
from storage import drafts, get_db
from storage.cases import CaseError, get_record, list_for_submitter

from .throttle import check_classify, classify_wait

bp = Blueprint("intake", __name__, url_prefix="/intake")


def _user():
    return {"id": current_user.id, "email": current_user.email}


def get_own_case_or_404(case_id):
    """The signed-in user's own case; another user's case is a 404, as if it did not exist."""
    case = get_record(get_db(), case_id)
    if case is None or case["submitter_id"] != current_user.id:
        abort(404)
    return case


@bp.route("/")
def cases():
    """My cases: drafts with a link to resume them, and everything submitted."""
    return render_template("intake/cases.html", cases=list_for_submitter(get_db(), current_user.id),
                           steps=wizard.BY_NAME)


@bp.route("/new", methods=("GET", "POST"))
def new():
    """The first step; the draft is created when the user moves on from it."""
    step = wizard.BY_NAME["product"]
    form = step.make_form({})
    key = request.form.get("draft_key", "")
    if not re.fullmatch(r"[\w-]{16,64}", key):
        key = secrets.token_urlsafe(16)
    if form.validate_on_submit():
        data = wizard.step_data(form)
        following = wizard.neighbour(step.name, {}, 1)
        case_id = drafts.create_draft(get_db(), _user(), step.name, data, following, key=key)
        return redirect(url_for("intake.step", case_id=case_id, name=following))
    return render_template("intake/step.html", form=form, step=step, steps=wizard.shown_steps({}), case=None,
                           draft_key=key)


@bp.post("/preview")
def preview():
    """The classification of a description as JSON, for the description step's optional live preview."""
    form = wizard.BY_NAME["description"].make_form({})
    if not form.validate_on_submit():
        return jsonify({"error": " ".join(form.description.errors)}), 422
    wait = classify_wait()
    if wait:
        return jsonify({"error": "The preview is paused: too many in a minute."}), 429, {"Retry-After": str(wait)}
    try:
        result = get_classifier().classify(form.description.data)
    except (ModelFileError, ModelMissingError) as exc:
        return jsonify({"error": f"The classifier is not available: {exc}"}), 503
    shown = (*CLASSIFIER_FACTS, "uncertain", "unreadable")
    return jsonify({k: result[k] for k in shown})


def _assess(intake, classification=None, overrides=None):
    """Classification, facts and assessment of the draft as it stands, or ``(None, message, status)``.

    :param classification: reuse this classification of the draft's unchanged description.
    :param overrides: the reviewers' fact overrides of a case sent back for changes: a resubmission keeps
        them (in its facts and assessment), so resubmitting cannot launder a reviewer's correction away.
    """
    description = intake.get("description", {}).get("description") or ""
    try:
        return assess(description, wizard.answers(intake), None, classification, overrides), None, 200
    except AssessmentError as exc:
        return None, exc.message, exc.status


@bp.route("/<int:case_id>/<name>", methods=("GET", "POST"))
def step(case_id, name):
    """Show one step of a draft; Back and Next save what is on the page."""
    case = get_own_case_or_404(case_id)
    if case["state"] not in drafts.EDITABLE:
        flash(f"This case is {case['state'].replace('_', ' ')}; its answers can no longer be changed.")
        return redirect(url_for("review.case", case_id=case_id))
    intake = case["intake"]
    current = wizard.BY_NAME.get(name)
    if current is None:
        abort(404)
    if not current.shown(intake):
        return redirect(url_for("intake.step", case_id=case_id, name=wizard.neighbour("data", intake, 1)))
    if name == wizard.CONFIRM:
        return _confirm(case, current)
    posted = request.method == "POST"
    form = current.make_form(intake, None if posted else intake.get(name))
    if posted and "back" in request.form:
        # Going back keeps what was typed, valid or not, so nothing is lost.
        # The first step has nothing before it: Back saves and stays.
        previous = wizard.neighbour(name, intake, -1) or name
        data, refused = wizard.back_data(form)
        if refused:
            return render_template("intake/step.html", form=form, step=current, steps=wizard.shown_steps(intake),
                                   case=case)
        drafts.save_step(get_db(), case_id, name, data, previous, current_user.email)
        return redirect(url_for("intake.step", case_id=case_id, name=previous))
    if form.validate_on_submit():
        data = wizard.step_data(form)
        if name == "description":
            read = _uses_read(data["description"])
            if read is not None:
                data[wizard.USES_READ] = read
        following = wizard.neighbour(name, {**intake, name: data}, 1)
        drafts.save_step(get_db(), case_id, name, data, following, current_user.email)
        return redirect(url_for("intake.step", case_id=case_id, name=following))
    return render_template("intake/step.html", form=form, step=current, steps=wizard.shown_steps(intake), case=case)


def _uses_read(description):
    """The uses the classifier reads in ``description``, sure or possible, so the follow-up step asks about them;
    None when it cannot read it now (no model, or over the user's rate limit): the draft is saved all the same."""
    if classify_wait():
        return None
    try:
        result = get_classifier().classify(description)
    except (DescriptionError, ModelFileError, ModelMissingError):
        return None
    return [use for use in USES if use in result["uses"] or use in result["possible_uses"]]


def _confirm(case, current):
    """The confirm step: what the service concluded, corrections that update it, and submit."""
    intake, case_id = case["intake"], case["id"]
    missing = wizard.incomplete_step(intake)
    if missing:
        flash("Some answers are missing: finish this step first.")
        return redirect(url_for("intake.step", case_id=case_id, name=missing))
    posted = request.method == "POST"
    saved = intake.get(wizard.CONFIRM)
    if posted and "back" in request.form:
        return redirect(url_for("intake.step", case_id=case_id, name=wizard.neighbour(wizard.CONFIRM, intake, -1)))
    overrides = case.get("overrides") or None
    check_classify()
    result, problem, status = _assess(intake, overrides=overrides)
    if result:
        # The form shows the facts as they stand: predictions, or the corrections made.
        saved = {"domains": result["facts"]["domains"]["value"], "audience": result["facts"]["audience"]["value"]}
    form = current.make_form(intake, None if posted else saved)
    if posted and form.validate_on_submit():
        corrections = _corrections(intake, wizard.step_data(form), result)
        drafts.save_step(get_db(), case_id, wizard.CONFIRM, corrections, wizard.CONFIRM, current_user.email)
        if "submit" in request.form:
            intake = {**intake, wizard.CONFIRM: corrections}
            result, problem, _ = _assess(intake, result["classification"] if result else None, overrides)
            return _submit({**case, "intake": intake}, result, problem)
        flash("Your corrections are applied: the result below is updated.")
        return redirect(url_for("intake.step", case_id=case_id, name=wizard.CONFIRM))
    return render_template("intake/confirm.html", form=form, step=current, steps=wizard.shown_steps(intake),
                           case=case, result=result, problem=problem), 503 if status == 503 else 200


def _corrections(intake, data, result):
    """Only what differs from the prediction and the earlier answers counts as a correction.

    Confirming a prediction unchanged must not turn it into an answer: that would hide its uncertainty.
    """
    base = wizard.answers({**intake, wizard.CONFIRM: {}})
    predicted = (result or {}).get("classification") or {}
    return {"domains": None if sorted(data.get("domains") or []) == sorted(predicted.get("domains") or []) else
            data.get("domains") or [],
            "audience": None if data.get("audience") == base.get("audience", predicted.get("audience")) else
            data.get("audience")}


def _submit(case, result, problem):
    if result is None:
        flash(f"The case cannot be assessed yet: {problem}")
        return redirect(url_for("intake.step", case_id=case["id"], name=wizard.CONFIRM))
    intake = case["intake"]
    fields = {"title": intake["product"]["name"], "description": intake["description"]["description"],
              "answers": wizard.answers(intake), "classification": result["classification"],
              "facts": result["facts"], "assessment": result["assessment"],
              **case_embedding(intake["description"]["description"])}
    try:
        drafts.submit(get_db(), case["id"], current_user.email, fields)
    except CaseError as exc:
        # A double click lands here: the first submit won, the second changes nothing.
        flash(str(exc))
        return redirect(url_for("review.case", case_id=case["id"]))
    flash(f"Case {case['id']} submitted on {datetime.date.today():%d %B %Y}; a reviewer will pick it up.")
    return redirect(url_for("review.case", case_id=case["id"]))
