"""The reviewer's forms: each action carries the case version it was shown, to catch concurrent edits."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

import rules
from storage.cases import STATES

from .steps import MultiCheckboxField, options

OVERRIDABLE = [name for name, fact in rules.FACTS.items() if fact.overridable]


class ActionForm(FlaskForm):
    """A reviewer action on one version of a case."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class AssignForm(ActionForm):
    """Assign the case to the signed-in reviewer."""


class CommentForm(FlaskForm):
    """A comment from the submitter or a reviewer."""

    body = TextAreaField("Comment", validators=[DataRequired("Write a comment."), Length(max=5000)])


class ApproveForm(ActionForm):
    """Approve; the safeguards ticked become the approval's conditions (choices set per case)."""

    conditions = MultiCheckboxField("Safeguards the team must implement", choices=[])


class RejectForm(ActionForm):
    """Reject, saying why."""

    reason = TextAreaField("Reason", validators=[DataRequired("Say why the case is rejected."), Length(max=5000)])


class ChangesForm(ActionForm):
    """Send the case back to the submitter with questions."""

    message = TextAreaField("What must change", validators=[DataRequired("Say what the submitter must change."),
                                                            Length(max=5000)])


def parse_value(fact, text):
    """Turn what a reviewer typed into a value of ``fact`` (lists comma-separated, yes/no for booleans)."""
    kind = rules.FACTS[fact].kind
    text = (text or "").strip()
    if kind == "bool":
        return {"yes": True, "true": True, "no": False, "false": False}.get(text.lower(), text)
    if kind == "list":
        return [item.strip() for item in text.split(",") if item.strip()]
    return None if text.lower() in ("", "none", "null") and rules.FACTS[fact].nullable else text


class OverrideForm(ActionForm):
    """Correct one fact; the rules run again on the corrected facts."""

    fact = SelectField("Fact", choices=options([(f, f"{f}: {rules.FACTS[f].label}") for f in OVERRIDABLE]))
    value = StringField("New value", description="yes/no for true/false; a comma-separated list for lists; "
                                                 "'none' for no prohibited category.",
                        validators=[Optional(), Length(max=500)])
    reason = TextAreaField("Reason", validators=[DataRequired("An override needs a reason."), Length(max=5000)])

    def validate_value(self, field):
        try:
            rules.build_facts(None, overrides={self.fact.data: {"value": parse_value(self.fact.data, field.data),
                                                                 "reason": "check"}})
        except rules.FactError as exc:
            raise ValidationError(exc.message) from None


class QueueFilterForm(FlaskForm):
    """The queue's filters, sent by GET."""

    class Meta:
        csrf = False

    state = SelectField("State", validators=[Optional()], choices=options(
        [("", "any")] + [(s, s.replace("_", " ")) for s in STATES if s != "draft"]))
    domain = SelectField("Domain", validators=[Optional()],
                         choices=options([("", "any")] + [(d, d) for d in rules.FACTS["domains"].choices]))
    verdict = SelectField("Verdict", validators=[Optional()],
                          choices=options([("", "any")] + [(v, v.replace("_", " ")) for v in rules.VERDICTS]))
    older_than = IntegerField("Waiting at least (days)", validators=[Optional(), NumberRange(min=0, max=3650)])
    vendor = SelectField("Vendor", validators=[Optional()],
                         choices=options([("", "any")] + [(v, v) for v in rules.VENDORS]))
