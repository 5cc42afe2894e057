"""The work behind POST /classify and POST /cases, and the view of policy packs GET /policies shows."""

import datetime

from flask import current_app

import rules
from classifier.embedders import ModelMissingError
from classifier.predictor import ModelFileError
from classifier.service import get_classifier
from classifier.text import DescriptionError

from .errors import ApiError, field_error


def assess_description(description, answers, on, classification=None, overrides=None):
    """Classify, merge the answers and assess: the classification, facts, assessment and summary fields.

    :param classification: the description's classification when already known (answers changed, text did not).
    :param overrides: a reviewer's fact overrides of the case (``{fact: {"value", "reason", "by"}}``), applied
        last as when they were made.
    :raises ApiError: 422 naming the field for a bad description or answer, 503 without a model.
    """
    if len(description) > current_app.config["MAX_DESCRIPTION_CHARS"]:
        raise ApiError(422, detail="Some fields are invalid.", errors=[field_error("description", "Too long: at most "
                                                f"{current_app.config['MAX_DESCRIPTION_CHARS']:,} characters.")])
    try:
        classification = classification or get_classifier().classify(description)
    except DescriptionError as exc:
        raise ApiError(422, detail="Some fields are invalid.", errors=[field_error("description", str(exc))]) from None
    except (ModelFileError, ModelMissingError) as exc:
        raise ApiError(503, detail=f"The classifier is not available: {exc}") from None
    if "possible_uses" not in classification:
        # Until the classifier predicts these uses itself, the word screen says which the text could be.
        classification = {**classification, "possible_uses": rules.possible_uses(description)}
    try:
        facts = rules.build_facts(classification, answers, overrides)
    except rules.FactError as exc:
        raise ApiError(422, detail="Some fields are invalid.",
                       errors=[field_error(f"answers.{exc.field}", exc.message)]) from None
    day = on or (answers or {}).get("effective_date") or datetime.date.today()
    assessment = rules.assess(facts, on=day, packs=rules.get_packs())
    return {"classification": classification, "facts": facts, "assessment": assessment,
            "risk_tier": assessment["tier"], "packs": assessment["packs"],
            "model_version": classification["model_version"], "on": str(day)}


def _ref(clause):
    return f"{clause.pack}:{clause.id}"


def _measures(table):
    return [{"id": m.id, "title": m.title, "action": m.action, "clauses": [_ref(c) for c in m.clauses]}
            for m in table.values()]


def pack_view(pack):
    """A pack as GET /policies shows it; clause references are ``pack:clause``."""
    return {
        "id": pack.id, "vendor": pack.vendor, "kind": pack.kind, "title": pack.title,
        # Flask would write dates as HTTP dates; the schema says ISO 8601.
        "effective_from": pack.effective_from.isoformat(),
        "effective_until": pack.effective_until.isoformat() if pack.effective_until else None,
        "source": pack.source, "language": pack.language,
        "clauses": [{"id": c.id, "section": c.section, "quote": c.quote} for c in pack.clauses.values()],
        "rules": [{"id": r.id, "description": r.description, "when": r.when, "verdict": r.verdict,
                   "safeguards": list(r.safeguards), "advisory": r.advisory, "clauses": [_ref(c) for c in r.clauses]}
                  for r in pack.rules],
        "safeguards": _measures(pack.safeguards), "advisories": _measures(pack.advisories),
    }


def packs_in_force(packs, day):
    found = []
    for vendor in packs.vendors:
        found += packs.in_force(vendor, day) + packs.in_force(vendor, day, kind="advisory")
    return found
