"""Assessing a use-case description: classify it, build its facts, run the rules. Written once, here.

The web wizard, the "Try the classifier" page, the API and the reviewer's overrides all call :func:`assess`
or :func:`reassess`, and each maps :class:`AssessmentError` to its own kind of answer once. This module
imports nothing from the web pages or the API; the day whose packs apply is chosen by the rules engine
(:func:`rules.assessment_day`).
"""

from flask import current_app

import rules
from classifier.embedders import ModelMissingError
from classifier.predictor import ModelFileError
from classifier.service import get_classifier
from classifier.text import DescriptionError


class AssessmentError(ValueError):
    """A description or answer that cannot be assessed, or no classifier to assess with.

    :param field: the input at fault, ``description`` or ``answers.<fact>``; None when it is not an input's fault.
    :param status: the HTTP status a front end answers with: 422 for a bad input, 503 without a model.
    """

    def __init__(self, message, field=None, status=422):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class ClassifierUnavailable(AssessmentError):
    """No model to classify with: none trained yet, or its file is unreadable; ``reason`` says which."""

    def __init__(self, reason):
        super().__init__(f"The classifier is not available: {reason}", status=503)
        self.reason = reason


def assess(description, answers=None, on=None, classification=None, overrides=None):
    """Classify, merge the answers and assess: the classification, facts, assessment and summary fields.

    :param on: the day whose packs apply; default the ``effective_date`` answer, else today.
    :param classification: the description's classification when already known (answers changed, text did not).
    :param overrides: a reviewer's fact overrides of the case (``{fact: {"value", "reason", "by"}}``), applied
        last as when they were made.
    :raises AssessmentError: naming the field for a bad description or answer (422).
    :raises ClassifierUnavailable: without a usable model (503).
    """
    limit = current_app.config["MAX_DESCRIPTION_CHARS"]
    if len(description) > limit:
        raise AssessmentError(f"Too long: at most {limit:,} characters.", "description")
    try:
        classification = classification or get_classifier().classify(description)
    except DescriptionError as exc:
        raise AssessmentError(str(exc), "description") from None
    except (ModelFileError, ModelMissingError) as exc:
        raise ClassifierUnavailable(str(exc)) from None
    if "possible_uses" not in classification:
        # Until the classifier predicts these uses itself, the word screen says which the text could be.
        classification = {**classification, "possible_uses": rules.possible_uses(description)}
    facts, assessment, day = _facts_and_assessment(classification, answers, overrides, on)
    return {"classification": classification, "facts": facts, "assessment": assessment,
            "risk_tier": assessment["tier"], "packs": assessment["packs"],
            "model_version": classification["model_version"], "on": str(day)}


def reassess(classification, answers=None, overrides=None):
    """The facts and assessment of a case classified before, e.g. after a reviewer overrides a fact.

    :raises AssessmentError: an answer or override names an unknown fact or gives it a bad value.
    """
    facts, assessment, _ = _facts_and_assessment(classification, answers, overrides, None)
    return facts, assessment


def _facts_and_assessment(classification, answers, overrides, on):
    try:
        facts = rules.build_facts(classification, answers, overrides)
    except rules.FactError as exc:
        raise AssessmentError(exc.message, f"answers.{exc.field}") from None
    day = rules.assessment_day(facts, on)
    return facts, rules.assess(facts, on=day), day
