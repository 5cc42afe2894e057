"""Properties of the engine over every combination of facts (Hypothesis)."""

import datetime
import json

from hypothesis import given, settings
from hypothesis import strategies as st

import rules
from rules.facts import DOMAINS, FACTS, PROHIBITED

PACKS = rules.load_packs(rules.DEFAULT_DIR)
DATES = st.dates(datetime.date(2022, 1, 1), datetime.date(2030, 12, 31))
PROBABILITY = st.floats(0, 1)
LABELS = (*DOMAINS, "audience", "prohibited", "chatbot", "minors")


ANY_PROHIBITED = st.none() | st.sampled_from(PROHIBITED)


def classifications(prohibited=ANY_PROHIBITED):
    """Classifier outputs of the documented shape, with ``prohibited`` drawn from ``prohibited``."""
    return st.fixed_dictionaries({
        "domains": st.lists(st.sampled_from(DOMAINS), unique=True),
        "domain_probabilities": st.dictionaries(st.sampled_from(DOMAINS), PROBABILITY),
        "audience": st.sampled_from(["consumer", "business"]),
        "audience_probability": PROBABILITY,
        "prohibited": prohibited,
        "prohibited_probability": PROBABILITY,
        "chatbot": st.booleans(),
        "chatbot_probability": PROBABILITY,
        "minors": st.booleans(),
        "minors_probability": PROBABILITY,
        "uncertain": st.lists(st.sampled_from(LABELS), unique=True),
    })


def _answer(fact):
    if fact.kind == "bool":
        value = st.booleans()
    elif fact.kind == "enum":
        value = st.sampled_from(fact.choices)
    elif fact.kind == "list":
        value = st.lists(st.sampled_from(fact.choices), unique=True,
                         min_size=1 if fact.name == "vendors" else 0)
    else:
        value = DATES.map(datetime.date.isoformat)
    return st.none() | value if fact.nullable else value


ANSWERS = st.fixed_dictionaries(
    {}, optional={name: _answer(FACTS[name]) for name in rules.QUESTIONS})
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)


def _check_shape(result):
    assert set(result) == {"tier", "vendors", "advisories", "packs"}
    assert result["tier"] in rules.TIERS.values()
    for answer in result["vendors"].values():
        assert answer["verdict"] in rules.VERDICTS
        assert set(answer["needs_review_on"]) <= set(rules.FACT_NAMES)
    json.dumps(result)


@settings(max_examples=300, deadline=None)
@given(st.none() | classifications(), ANSWERS, DATES)
def test_assess_never_raises_on_valid_facts(classification, answers, day):
    facts = rules.build_facts(classification, answers)
    result = rules.assess(facts, on=day, packs=PACKS)
    _check_shape(result)
    assert rules.assess(facts, on=day, packs=PACKS) == result


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(rules.FACT_NAMES) | st.text(max_size=8),
                       JSONISH | st.fixed_dictionaries({"value": JSONISH}, optional={
                           "uncertain": JSONISH, "uncertain_domains": JSONISH,
                           "source": JSONISH})),
       st.none() | DATES)
def test_assess_never_raises_on_malformed_facts(facts, day):
    _check_shape(rules.assess(facts, on=day or datetime.date(2025, 10, 1), packs=PACKS))


def _ranks(result):
    return {vendor: rules.VERDICTS.index(answer["verdict"])
            for vendor, answer in result["vendors"].items()}


@settings(max_examples=300, deadline=None)
@given(classifications(prohibited=st.none()), st.sampled_from(PROHIBITED), ANSWERS, DATES)
def test_a_prohibited_prediction_never_makes_a_verdict_more_permissive(classification, category,
                                                                       answers, day):
    before = rules.assess(rules.build_facts(classification, answers), on=day, packs=PACKS)
    flagged = {**classification, "prohibited": category}
    after = rules.assess(rules.build_facts(flagged, answers), on=day, packs=PACKS)
    for vendor, rank in _ranks(before).items():
        assert _ranks(after)[vendor] >= rank, (vendor, category)


@settings(max_examples=300, deadline=None)
@given(st.none() | classifications(), st.sampled_from(PROHIBITED), ANSWERS, DATES)
def test_a_prohibited_override_never_makes_a_verdict_more_permissive(classification, category,
                                                                     answers, day):
    def override(value):
        return {"prohibited": {"value": value, "reason": "property test", "by": "hypothesis"}}

    before = rules.assess(rules.build_facts(classification, answers, override(None)), on=day,
                          packs=PACKS)
    after = rules.assess(rules.build_facts(classification, answers, override(category)), on=day,
                         packs=PACKS)
    for vendor, rank in _ranks(before).items():
        assert _ranks(after)[vendor] >= rank, (vendor, category)
