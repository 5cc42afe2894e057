"""The legal review: the queue, the case page, reviewers' actions and the evidence pack."""

import csv
import io
import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from assessment import AssessmentError, reassess
from forms.review import (
    ApproveForm,
    AssignForm,
    ChangesForm,
    CommentForm,
    OverrideForm,
    QueueFilterForm,
    RejectForm,
    parse_value,
)
from storage import get_db, reviews
from storage.cases import CaseError, add_comment, get_record

from .auth import role_required

bp = Blueprint("review", __name__, url_prefix="/review")


def readable_case_or_404(case_id):
    """The case, if the signed-in user may see it: reviewers see all submitted cases, submitters only their own.

    A draft is its owner's alone, as in the wizard: half-typed answers are not for reviewers yet.
    """
    case = get_record(get_db(), case_id)
    own = case is not None and case["submitter_id"] == current_user.id
    if case is None or not (own or (current_user.has_role("reviewer") and case["state"] != "draft")):
        abort(404)
    return case


def safeguard_choices(case):
    """Every safeguard the assessment asks of any vendor, as ``(vendor:id, label)`` choices."""
    choices = []
    for vendor, verdict in ((case.get("assessment") or {}).get("vendors") or {}).items():
        for s in verdict.get("safeguards") or []:
            choices.append(SelectChoice(f"{vendor}:{s['id']}", f"{vendor.capitalize()}: {s['title']}"))
    return choices


def _forms(case, posted=None):
    version = {"version": case["version"]}
    forms = {"assign": AssignForm(data=version, formdata=None), "comment": CommentForm(formdata=None),
             "approve": ApproveForm(data=version, formdata=None), "reject": RejectForm(data=version, formdata=None),
             "changes": ChangesForm(data=version, formdata=None), "override": OverrideForm(data=version, formdata=None)}
    forms["approve"].conditions.choices = safeguard_choices(case)
    if posted:
        forms.update(posted)
    return forms


def _page(case, status=200, error=None, **posted):
    similar = (reviews.similar(get_db(), case["id"], scan=current_app.config["SIMILAR_CASES_SCAN"])
               if current_user.has_role("reviewer") else [])
    return render_template("review/case.html", case=case, forms=_forms(case, posted), error=error,
                           similar=similar), status


@bp.route("/")
@role_required("reviewer")
def queue():
    """Cases waiting for a decision, oldest first, with filters, and how often reviewers overrode each fact."""
    form, cases = _filtered(reviews.QUEUE_STATES)
    _, everything = _filtered(reviews.ALL_STATES)
    return render_template("review/queue.html", form=form, cases=cases,
                           disagreement=reviews.fact_disagreement(everything, get_db()))


@bp.route("/cases/<int:case_id>")
def case(case_id):
    """Everything about one case, with the actions the user may take."""
    return _page(readable_case_or_404(case_id))


def _duties():
    """Who is acting, for the separation-of-duties checks in storage/reviews.py."""
    return {"reviewer_id": current_user.id, "admin": current_user.role == "admin",
            "allow_self_review": bool(current_app.config["ALLOW_SELF_REVIEW"])}


def _act(case_id, name, form, action, done):
    """Run a reviewer action if its form is valid; a stale version or bad transition is a 409 page."""
    case = readable_case_or_404(case_id)
    if name == "approve":
        form.conditions.choices = safeguard_choices(case)
    if not form.validate_on_submit():
        return _page(case, 400, **{name: form})
    try:
        action(case, form)
    except CaseError as exc:
        return _page(get_record(get_db(), case_id), exc.status, error=str(exc), **{name: form})
    flash(done)
    return redirect(url_for("review.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/assign")
@role_required("reviewer")
def assign(case_id):
    """Make the signed-in reviewer the case's reviewer (a submitted case moves to in review)."""
    return _act(case_id, "assign", AssignForm(),
                lambda case, f: reviews.assign(get_db(), case_id, current_user.email, f.version.data, **_duties()),
                "The case is assigned to you.")


@bp.post("/cases/<int:case_id>/approve")
@role_required("reviewer")
def approve(case_id):
    """Approve; the ticked safeguards become the conditions."""

    def action(case, form):
        labels = {c.value: c.label for c in safeguard_choices(case)}
        conditions = [{"id": c, "title": labels[c]} for c in form.conditions.data]
        reviews.decide(get_db(), case_id, "approved", current_user.email, form.version.data, conditions=conditions,
                       **_duties())

    return _act(case_id, "approve", ApproveForm(), action, "Approved.")


@bp.post("/cases/<int:case_id>/reject")
@role_required("reviewer")
def reject(case_id):
    """Reject with a reason."""
    return _act(case_id, "reject", RejectForm(),
                lambda case, f: reviews.decide(get_db(), case_id, "rejected", current_user.email, f.version.data,
                                               note=f.reason.data, **_duties()), "Rejected.")


@bp.post("/cases/<int:case_id>/request-changes")
@role_required("reviewer")
def request_changes(case_id):
    """Send the case back to the submitter with a message."""
    return _act(case_id, "changes", ChangesForm(),
                lambda case, f: reviews.decide(get_db(), case_id, "changes_requested", current_user.email,
                                               f.version.data, note=f.message.data, **_duties()),
                "Sent back to the submitter.")


@bp.post("/cases/<int:case_id>/override")
@role_required("reviewer")
def override(case_id):
    """Correct a fact; the rules run again."""

    def action(case, form):
        if case["state"] != "in_review":
            raise CaseError(f"Facts can be overridden while a case is in review; this one is {case['state']}.")
        value = parse_value(form.fact.data, form.value.data)
        try:
            reviews.override_fact(get_db(), case_id, form.fact.data, value, form.reason.data, current_user.email,
                                  form.version.data, reassess=reassess, **_duties())
        except AssessmentError as exc:
            raise CaseError(exc.message) from None

    return _act(case_id, "override", OverrideForm(), action, "Fact overridden; the verdicts are updated.")


@bp.post("/cases/<int:case_id>/comment")
def comment(case_id):
    """Add a comment (the submitter on their own case, or a reviewer)."""
    return _act(case_id, "comment", CommentForm(),
                lambda case, f: add_comment(get_db(), case_id, f.body.data, current_user.email,
                                            user_id=current_user.id), "Comment added.")


def evidence(case):
    """The evidence pack of a case as one JSON-ready dict."""
    keys = ("id", "title", "state", "submitter_email", "description", "intake", "answers", "facts",
            "classification", "assessment", "decision", "overrides", "comments", "history", "audit",
            "created_at", "submitted_at", "updated_at")
    return {k: case.get(k) for k in keys}


@bp.route("/cases/<int:case_id>/evidence.json")
def evidence_json(case_id):
    """The evidence pack as a JSON download."""
    body = json.dumps(evidence(readable_case_or_404(case_id)), indent=2, ensure_ascii=False)
    return body, 200, {"Content-Type": "application/json",
                       "Content-Disposition": f'attachment; filename="case-{case_id}-evidence.json"'}


@bp.route("/cases/<int:case_id>/evidence")
def evidence_page(case_id):
    """The evidence pack as a printable page."""
    return render_template("review/evidence.html", case=readable_case_or_404(case_id))


def _filtered(states):
    """The filter form and the cases under its valid filters; a filter not understood is left out (and named)."""
    form = QueueFilterForm(request.args)
    form.validate()
    filters = {k: v for k, v in form.data.items() if v and not form[k].errors}
    return form, reviews.queue(get_db(), states=states, **filters)


def filter_problems(form):
    """One line per filter the form did not understand."""
    return [f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items()]


@bp.route("/dashboard")
@role_required("reviewer")
def dashboard():
    """Counts, time to decision and reviewer disagreement over every submitted case, with the filters."""
    form, cases = _filtered(reviews.ALL_STATES)
    waiting = sorted((c for c in cases if c["state"] in reviews.QUEUE_STATES), key=lambda c: c["waiting"],
                     reverse=True)
    return render_template("review/dashboard.html", form=form, stats=reviews.stats(cases, get_db()),
                           waiting=waiting, query=request.query_string.decode())


@bp.route("/dashboard.csv")
@role_required("reviewer")
def export():
    """The cases under the current filters as CSV."""
    form, cases = _filtered(reviews.ALL_STATES)
    problems = filter_problems(form)
    if problems:
        # A spreadsheet of every case when a filter was mistyped would pass for the filtered one.
        text = "Filters not applied, so nothing was exported:\n" + "\n".join(problems) + "\n"
        return text, 400, {"Content-Type": "text/plain; charset=utf-8"}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "title", "state", "tier", "domains", "verdicts", "submitter", "reviewer", "submitted_at",
                     "decided_at"])
    for c in cases:
        # API clients choose the submitter's e-mail, and "-1+1@x.org" is a valid address.
        writer.writerow([c["id"], _cell(c["title"]), c["state"], c["tier"], " ".join(c["domains"]),
                         " ".join(f"{v}={x}" for v, x in c["verdicts"].items()), _cell(c["submitter_email"]),
                         _cell(c["assignee_email"] or ""), c["submitted_at"] or "",
                         (c["decision"] or {}).get("at", "")])
    return out.getvalue(), 200, {"Content-Type": "text/csv; charset=utf-8",
                                 "Content-Disposition": 'attachment; filename="cases.csv"'}


def _cell(text):
    # A cell starting with =, +, - or @ would run as a formula in a spreadsheet; tab and carriage return
    # are dropped by spreadsheets on import, which would bring such a character to the front.
    return "'" + text if text and text[0] in "=+-@\t\r" else text
