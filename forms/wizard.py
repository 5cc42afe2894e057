"""The intake wizard as data: the steps in order, when each is shown, and how answers become facts.

No routes here (views/intake.py drives it). A draft's ``intake`` is ``{step name: {field: raw value}}``.
"""

from dataclasses import dataclass

from flask import current_app
from wtforms.validators import Length

import rules
from rules.facts import ACTIVITY_FACTS

from . import steps


@dataclass(frozen=True)
class Step:
    """One page of the wizard."""

    name: str
    title: str
    form: type
    # Names of the form's fields to show for this draft; None means all of them.
    fields: object = None

    def shown(self, intake):
        """Whether the step applies to the draft at all."""
        return self.fields is None or bool(self.fields(intake))

    def make_form(self, intake, saved=None, **kwargs):
        """The step's form with only the fields that apply; ``saved`` fills it when nothing was posted."""
        form = self.form(data=saved or {}, **kwargs)
        if self.fields:
            keep = set(self.fields(intake))
            for name in [f.name for f in form if f.name in FOLLOWUPS and f.name not in keep]:
                delattr(form, name)
        return form


def _openai(intake):
    return "openai" in (intake.get("product", {}).get("vendors") or [])


def _description(intake):
    return intake.get("description", {}).get("description") or ""


# In the description step's saved data: the uses the classifier read in the description, sure or possible.
USES_READ = "uses_read"


def _could_be(name):
    """Relevant when OpenAI is used and the classifier read the use ``name`` in the description as sure or
    possible; a draft it could not read then (no model, or over the rate limit) falls back to the word screen."""
    def relevant(intake):
        if not _openai(intake):
            return False
        read = intake.get("description", {}).get(USES_READ)
        return name in (read if isinstance(read, list) else rules.possible_uses(_description(intake)))
    return relevant


def _review_matters(intake):
    """Whether a qualified person's review can decide between allowed and prohibited for this draft."""
    if intake.get("users", {}).get("decisions_about_individuals") == "yes":
        return True
    return _openai(intake) and ("government" in (intake.get("data", {}).get("areas") or [])
                                or rules.advice_possible(_description(intake)))


# Each follow-up question and the earlier answer that makes it relevant.
FOLLOWUPS = {
    "age_assurance": lambda i: i.get("users", {}).get("minors") == "yes",
    "law_enforcement_use": lambda i: "law_enforcement" in (i.get("data", {}).get("areas") or []),
    "security_testing_with_owner_consent": lambda i: "security" in (i.get("data", {}).get("areas") or []),
    "political_content": lambda i: "political" in (i.get("data", {}).get("areas") or []),
    "government_decisions": lambda i: "government" in (i.get("data", {}).get("areas") or []),
    "person_consent": lambda i: i.get("users", {}).get("simulates_real_person") == "yes",
    "historical_public_figure": lambda i: i.get("users", {}).get("simulates_real_person") == "yes",
    "qualified_human_review": _review_matters,
    **{name: _could_be(name) for name in ACTIVITY_FACTS},
}


def followups(intake):
    """The follow-up questions the draft's earlier answers make relevant."""
    return [name for name, relevant in FOLLOWUPS.items() if relevant(intake)]


# The last step, where the submitter confirms or corrects what the service concluded, then submits. In code it
# is the confirm step ("review" is the reviewer's work); its key stays "review" because drafts store their
# answers and the step they are at under it, and its URL is /intake/<id>/review.
CONFIRM = "review"
STEPS = (
    Step("product", "Product", steps.ProductForm),
    Step("description", "Description", steps.DescriptionForm),
    Step("users", "Users and interaction", steps.UsersForm),
    Step("data", "Data and capabilities", steps.DataForm),
    Step("followups", "Follow-up questions", steps.FollowUpForm, fields=followups),
    Step(CONFIRM, "Review and submit", steps.CorrectionsForm),
)
BY_NAME = {step.name: step for step in STEPS}


def shown_steps(intake):
    """The steps that apply to this draft, in order."""
    return [step for step in STEPS if step.shown(intake)]


def neighbour(name, intake, offset):
    """The step ``offset`` places from ``name`` among the shown ones, or None past either end."""
    names = [step.name for step in shown_steps(intake)]
    if name not in names:
        return None
    index = names.index(name) + offset
    return names[index] if 0 <= index < len(names) else None


def step_data(form):
    """What a posted form holds, without its token and buttons, ready to store in the draft."""
    return {field.name: field.data for field in form if field.type not in ("CSRFTokenField", "SubmitField")}


def _max_chars(field):
    """The most characters ``field`` takes: the description's configured limit, else its Length validator."""
    if field.name == "description":
        return current_app.config["MAX_DESCRIPTION_CHARS"]
    limits = [v.max for v in field.validators if isinstance(v, Length) and v.max is not None and v.max >= 0]
    return min(limits) if limits else None


def back_data(form):
    """What Back saves: the answers as typed, valid or not, but never more than a field takes.

    Back skips validation so nothing typed is lost; without these bounds it would store (and mask) a
    megabyte of text. Choices the page never offered are dropped.
    :return: ``(data, refused)``; when ``refused`` is true nothing may be saved, and the fields over their
        limit carry an error to show next to them.
    """
    data, refused = {}, False
    for field in form:
        if field.type in ("CSRFTokenField", "SubmitField"):
            continue
        value, limit = field.data, _max_chars(field)
        allowed = {getattr(choice, "value", None) or choice[0] for choice in getattr(field, "choices", None) or []}
        if isinstance(value, str) and limit is not None and len(value) > limit:
            field.errors = [f"Too long: at most {limit:,} characters ({len(value):,} given)."]
            refused = True
        elif allowed and isinstance(value, list):
            value = [v for v in value if v in allowed]
        elif allowed and value not in allowed:
            value = None
        data[field.name] = value
    return data, refused


def incomplete_step(intake):
    """The first shown step before the confirm step whose saved answers do not validate, or None."""
    for step in shown_steps(intake):
        if step.name == CONFIRM:
            return None
        form = step.make_form(intake, intake.get(step.name), formdata=None, meta={"csrf": False})
        if not form.validate():
            return step.name
    return None


_BOOL = {"yes": True, "no": False}


def answers(intake):
    """The draft's answers as facts for ``rules.build_facts``; product details and non-facts are left out."""
    product, users, data = intake.get("product", {}), intake.get("users", {}), intake.get("data", {})
    facts = {}
    if product.get("vendors"):
        facts["vendors"] = product["vendors"]
    if product.get("access_path"):
        facts["access_path"] = product["access_path"]
    if users.get("end_users"):
        facts["audience"] = "consumer" if users["end_users"] == "public" else "business"
    for name in ("chatbot", "minors", "publishes_content_externally", "decisions_about_individuals",
                 "simulates_real_person"):
        if users.get(name) in _BOOL:
            facts[name] = _BOOL[users[name]]
    if users.get("chatbot") == "yes":
        # The question asks about anyone talking to it, staff included.
        facts["converses_with_people"] = True
    if data.get("handles_personal_data") in _BOOL:
        facts["handles_personal_data"] = _BOOL[data["handles_personal_data"]]
    facts["agentic_actions"] = list(data.get("agentic_actions") or [])
    saved = intake.get("followups", {})
    for name in followups(intake):
        value = saved.get(name)
        if name != "age_assurance" and value:
            facts[name] = _BOOL.get(value, value)
    corrections = intake.get(CONFIRM, {})
    if corrections.get("audience"):
        facts["audience"] = corrections["audience"]
    if corrections.get("domains") is not None:
        facts["domains"] = corrections["domains"]
    return facts
