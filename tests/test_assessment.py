"""assessment.py: classify -> facts -> assess, written once for every front end."""

import datetime

import pytest

import assessment
from assessment import AssessmentError, ClassifierUnavailable, assess, reassess
from classifier.predictor import ModelFileError

TEXT = "A chatbot for customers that gives legal advice about a contract before court."


def test_the_day_is_the_effective_date_answer_unless_one_is_given(app):
    with app.app_context():
        assert assess(TEXT, {"effective_date": "2024-07-01"})["on"] == "2024-07-01"
        assert assess(TEXT, {"effective_date": "2024-07-01"}, on=datetime.date(2025, 10, 1))["on"] == "2025-10-01"
        assert assess(TEXT)["on"] == datetime.date.today().isoformat()


def test_reassess_reads_the_day_from_the_facts_as_assess_does(app):
    with app.app_context():
        first = assess(TEXT, {"effective_date": "2024-07-01"})
        facts, again = reassess(first["classification"], {"effective_date": "2024-07-01"})
    assert facts == first["facts"] and again == first["assessment"]


@pytest.mark.parametrize("answers, field", [({"audience": "martians"}, "answers.audience"),
                                            ({"no_such_fact": True}, "answers.no_such_fact")])
def test_a_bad_answer_names_its_field(app, answers, field):
    with app.app_context(), pytest.raises(AssessmentError) as info:
        assess(TEXT, answers)
    assert info.value.field == field and info.value.status == 422


def test_a_description_over_the_limit_names_the_description(app):
    app.config["MAX_DESCRIPTION_CHARS"] = 50
    with app.app_context(), pytest.raises(AssessmentError) as info:
        assess(TEXT)
    assert info.value.field == "description" and "at most 50 characters" in info.value.message


def test_no_model_is_a_503_with_its_reason(app, monkeypatch):
    def missing():
        raise ModelFileError("No model trained.")

    monkeypatch.setattr(assessment, "get_classifier", missing)
    with app.app_context(), pytest.raises(ClassifierUnavailable) as info:
        assess(TEXT)
    assert info.value.status == 503 and info.value.reason == "No model trained."
    assert info.value.message == "The classifier is not available: No model trained."
