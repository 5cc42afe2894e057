"""Facts with provenance, answer validation, and the condition language."""

import json

import pytest

import rules
from rules import conditions
from rules.facts import FactView

CLASSIFICATION = {
    "domains": ["legal"],
    "domain_probabilities": {"legal": 0.91, "healthcare": 0.02, "insurance": 0.01, "finance": 0.4,
                             "employment_housing": 0.03, "education_testing": 0.01, "media": 0.05},
    "audience": "consumer", "audience_probability": 0.83,
    "prohibited": None, "prohibited_probability": 0.97,
    "chatbot": True, "chatbot_probability": 0.55,
    "minors": False, "minors_probability": 0.04,
    "uncertain": ["finance", "chatbot"],
    "explanation": "ignored", "model_version": "ignored",
}


def test_predictions_carry_probability_and_uncertainty():
    facts = rules.build_facts(CLASSIFICATION)
    assert facts["domains"] == {"value": ["legal"], "source": "predicted", "uncertain": True,
                                "uncertain_domains": ["finance"]}
    assert facts["audience"] == {"value": "consumer", "source": "predicted", "probability": 0.83,
                                 "uncertain": False}
    assert facts["chatbot"]["uncertain"] is True
    assert facts["domain_probabilities"]["value"]["legal"] == 0.91
    assert facts["vendors"] == {"value": ["anthropic", "openai"], "source": "default",
                                "uncertain": False}
    assert facts["law_enforcement_use"]["value"] == "none"
    assert set(facts) == set(rules.FACT_NAMES)
    assert json.loads(json.dumps(facts)) == facts


def test_answer_beats_prediction_and_override_beats_both():
    facts = rules.build_facts(
        CLASSIFICATION,
        {"chatbot": False, "audience": "business", "vendors": ["openai", "anthropic"]},
        {"chatbot": {"value": True, "reason": "the widget talks to customers", "by": "rev@x"}},
    )
    assert facts["audience"]["source"] == "answered"
    assert facts["audience"]["previous"] == {"value": "consumer", "source": "predicted",
                                             "probability": 0.83}
    assert facts["chatbot"]["value"] is True
    assert facts["chatbot"]["source"] == "overridden"
    assert facts["chatbot"]["by"] == "rev@x"
    assert facts["chatbot"]["previous"]["source"] == "answered"
    assert facts["chatbot"]["uncertain"] is False
    assert facts["vendors"]["value"] == ["anthropic", "openai"]


def test_answering_domains_removes_their_uncertainty():
    facts = rules.build_facts(CLASSIFICATION, {"domains": ["legal", "finance"]})
    view = FactView(facts)
    assert not view.unsure("domains", ["finance"])
    assert not view.unsure("domains")


def test_unanswered_and_string_answers():
    facts = rules.build_facts(None, {"decisions_about_individuals": None, "chatbot": "false",
                                     "effective_date": "2025-09-15", "qualified_human_review": ""})
    assert facts["decisions_about_individuals"]["source"] == "default"
    assert facts["chatbot"] == {"value": False, "source": "answered", "uncertain": False,
                                "previous": {"value": False, "source": "missing"}}
    assert facts["effective_date"]["value"] == "2025-09-15"
    assert facts["qualified_human_review"]["value"] is None
    assert facts["audience"]["source"] == "missing"
    assert facts["audience"]["uncertain"] is True


@pytest.mark.parametrize("answers,overrides,field,message", [
    ({"colour": "red"}, None, "colour", "unknown fact"),
    ({"audience": "everyone"}, None, "audience", "is not one of"),
    ({"chatbot": "maybe"}, None, "chatbot", "expected true or false"),
    ({"vendors": []}, None, "vendors", "at least one vendor"),
    ({"vendors": "openai"}, None, "vendors", "expected a list"),
    ({"agentic_actions": ["teleport"]}, None, "agentic_actions", "is not one of"),
    ({"effective_date": "soon"}, None, "effective_date", "expected a date"),
    ({"prohibited": None}, None, "prohibited", "only a reviewer"),
    ({"chatbot_probability": 1.0}, None, "chatbot_probability", "classifier only"),
    ({"law_enforcement_use": ""}, None, "law_enforcement_use", "a value is required"),
    (None, {"chatbot": {"value": True}}, "chatbot", "needs a reason"),
    (None, {"chatbot": True}, "chatbot", "needs a value"),
    (None, {"domain_probabilities": {"value": {}, "reason": "x"}}, "domain_probabilities",
     "classifier only"),
    (None, {"nope": {"value": 1, "reason": "x"}}, "nope", "unknown fact"),
])
def test_bad_answers_raise_a_field_error(answers, overrides, field, message):
    with pytest.raises(rules.FactError) as info:
        rules.build_facts(CLASSIFICATION, answers, overrides)
    assert info.value.field == field
    assert message in info.value.message
    assert info.value.status == 400


def test_reviewer_can_set_prohibited():
    facts = rules.build_facts(CLASSIFICATION, None, {
        "prohibited": {"value": "misinformation", "reason": "fake news site", "by": "r"}})
    assert facts["prohibited"]["value"] == "misinformation"


def test_questions_list_answerable_facts_with_choices():
    assert "prohibited" not in rules.QUESTIONS
    assert "access_path" in rules.QUESTIONS
    assert rules.FACTS["law_enforcement_use"].choices == ("none", "back_office",
                                                          "missing_persons", "other")
    assert rules.FACTS["political_content"].choices == ("none", "research_or_education",
                                                        "campaigning")


@pytest.mark.parametrize("data,expected_source", [
    ({"chatbot": True}, "answered"),
    ({"classification": CLASSIFICATION, "answers": {"chatbot": False}}, "answered"),
    (CLASSIFICATION, "predicted"),
])
def test_coerce_facts_accepts_what_people_paste(data, expected_source):
    facts = rules.coerce_facts(data)
    assert facts["chatbot"]["source"] == expected_source
    assert rules.coerce_facts(facts) is facts


class View:
    """A stand-in FactView: plain values and a set of unsure paths."""

    def __init__(self, values, unsure=()):
        self.values, self.unsure_paths = values, set(unsure)

    def value(self, path):
        name, _, key = path.partition(".")
        value = self.values.get(name)
        return value.get(key) if key and isinstance(value, dict) else value

    def unsure(self, path, members=None):
        return path in self.unsure_paths


@pytest.mark.parametrize("cond,values,expected", [
    ({"fact": "audience", "equals": "consumer"}, {"audience": "consumer"}, True),
    ({"fact": "chatbot", "equals": True}, {"chatbot": 1}, False),
    ({"fact": "prohibited", "in": ["misinformation", "sexual_content"]},
     {"prohibited": "sexual_content"}, True),
    ({"fact": "domains", "contains": "legal"}, {"domains": ["legal"]}, True),
    ({"fact": "domains", "contains": "legal"}, {"domains": "legal"}, False),
    ({"fact": "agentic_actions", "contains_any": ["tools", "computer_use"]},
     {"agentic_actions": ["computer_use"]}, True),
    ({"fact": "prohibited", "present": True}, {"prohibited": None}, False),
    ({"fact": "agentic_actions", "present": False}, {"agentic_actions": []}, True),
    ({"fact": "domain_probabilities.legal", "gt": 0.5}, {"domain_probabilities": {"legal": 0.9}},
     True),
    ({"fact": "domain_probabilities.legal", "lte": 0.5}, {"domain_probabilities": {}}, False),
    ({"fact": "chatbot_probability", "gte": 0.5}, {"chatbot_probability": True}, False),
    ({"fact": "minors_probability", "lt": 0.5}, {"minors_probability": 0.1}, True),
    ({"not": {"fact": "chatbot", "equals": True}}, {"chatbot": False}, True),
    ({"all": [{"fact": "chatbot", "equals": True}, {"fact": "minors", "equals": True}]},
     {"chatbot": True, "minors": False}, False),
    ({"any": [{"fact": "chatbot", "equals": True}, {"fact": "minors", "equals": True}]},
     {"chatbot": True, "minors": False}, True),
])
def test_condition_operators(cond, values, expected):
    conditions.validate(cond)
    assert conditions.evaluate(cond, View(values)).value is expected


CHAT = {"fact": "chatbot", "equals": True}
MINORS = {"fact": "minors", "equals": True}


@pytest.mark.parametrize("cond,values,unsure,value,hinges_on", [
    # A certain false part settles "all"; a certain true part settles "any".
    ({"all": [CHAT, MINORS]}, {"chatbot": True, "minors": False}, {"chatbot"}, False, set()),
    ({"any": [CHAT, MINORS]}, {"chatbot": False, "minors": True}, {"chatbot"}, True, set()),
    ({"all": [CHAT, MINORS]}, {"chatbot": True, "minors": True}, {"chatbot"}, True, {"chatbot"}),
    ({"any": [CHAT, MINORS]}, {"chatbot": False, "minors": False}, {"chatbot", "minors"}, False,
     {"chatbot", "minors"}),
    ({"not": CHAT}, {"chatbot": True}, {"chatbot"}, False, {"chatbot"}),
])
def test_unsure_facts_only_matter_when_they_could_change_the_result(cond, values, unsure, value,
                                                                    hinges_on):
    truth = conditions.evaluate(cond, View(values, unsure))
    assert truth.value is value
    assert truth.unsure == hinges_on


@pytest.mark.parametrize("cond,message", [
    ({}, "non-empty table"),
    ("chatbot == True", "non-empty table"),
    ({"all": []}, "non-empty list"),
    ({"all": [CHAT], "any": [CHAT]}, "cannot be mixed"),
    ({"fact": "chatbot"}, "exactly one operator"),
    ({"fact": "chatbot", "matches": ".*"}, "exactly one operator"),
    ({"fact": "domain_probabilities.astrology", "gt": 0.5}, "unknown fact"),
    ({"fact": "domain_probabilities", "gt": 0.5}, "cannot be used"),
    ({"fact": "effective_date", "equals": "2025-01-01"}, "cannot be used"),
    ({"fact": "audience", "gt": 0.5}, "cannot be used"),
    ({"fact": "audience_probability", "gt": "high"}, "bad value"),
    ({"fact": "domains", "contains_any": []}, "bad value"),
    ({"not": {"fact": "minors", "equals": "yes"}}, "when.not: bad value"),
    ({"any": [CHAT, {"fakt": "x"}]}, "when.any[1]: unknown keys"),
])
def test_condition_validation_names_the_place(cond, message):
    with pytest.raises(conditions.ConditionError, match=message.replace("[", r"\[")):
        conditions.validate(cond)


def test_describe_and_leaves():
    cond = {"all": [CHAT, {"not": MINORS}]}
    assert conditions.leaves(cond) == [CHAT, MINORS]
    assert conditions.describe(cond) == '(chatbot equals true and not (minors equals true))'
