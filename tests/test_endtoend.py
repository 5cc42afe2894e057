import datetime

import rules
from classifier.endtoend import end_to_end
from classifier.evaluate import score

DAY = datetime.date(2026, 1, 15)
HARMLESS = {"domains": [], "audience": "business", "decisions_about_individuals": False,
            "qualified_human_review": None, "prohibited": None, "chatbot": False, "minors": False, "uses": []}
BANNED = {**HARMLESS, "prohibited": "cyber_malicious"}


def test_equal_facts_give_equal_verdicts():
    figures = end_to_end([HARMLESS, BANNED], [HARMLESS, BANNED], rules.default_packs(), DAY)
    assert set(figures) == {"anthropic", "openai"}
    for vendor in figures.values():
        assert vendor == {"agreement": 1.0, "review_from_uncertainty": 0.0, "review_needless": 0.0, "cases": 2}


def test_uncertainty_that_sends_a_clear_case_to_review_is_counted():
    unsure = {**HARMLESS, "uncertain": ["prohibited"]}
    figures = end_to_end([HARMLESS, HARMLESS], [unsure, HARMLESS], rules.default_packs(), DAY)
    for vendor in figures.values():
        assert vendor["agreement"] == 0.5
        assert vendor["review_from_uncertainty"] == 0.5 and vendor["review_needless"] == 0.5


def test_a_wrong_prediction_is_a_different_verdict():
    figures = end_to_end([BANNED], [HARMLESS], rules.default_packs(), DAY)
    assert all(v["agreement"] == 0.0 and v["review_from_uncertainty"] == 0.0 for v in figures.values())


def test_uses_are_scored_sure_and_possible_apart():
    base = {"domains": [], "audience": "business", "decisions_about_individuals": False,
            "qualified_human_review": None, "prohibited": None, "chatbot": False, "minors": False}
    truth = [{**base, "uses": ["gambling"]}, {**base, "uses": ["military_use"]}, {**base, "uses": []},
             {**base, "uses": []}]
    pred = [{**base, "uses": ["gambling"], "possible_uses": []},
            {**base, "uses": [], "possible_uses": ["military_use"]},
            {**base, "uses": [], "possible_uses": ["dating_app"]},
            {**base, "uses": [], "possible_uses": []}]
    scores = score(truth, pred)
    assert scores["uses"]["precision"] == 1.0 and scores["uses"]["recall"] == 0.5
    assert scores["uses_flagged"]["recall"] == 1.0 and scores["uses_flagged"]["precision"] == 2 / 3
    assert scores["harmless_use_flagged"] == 0.5
    assert scores["per_label"]["gambling"]["f1"] == 1.0


def test_a_possible_use_sends_the_openai_verdict_to_review_end_to_end():
    base = {"domains": [], "audience": "business", "decisions_about_individuals": False,
            "qualified_human_review": None, "prohibited": None, "chatbot": False, "minors": False, "uses": []}
    figures = end_to_end([base], [{**base, "possible_uses": ["military_use"], "uncertain": []}])
    assert figures["openai"]["agreement"] == 0.0 and figures["openai"]["review_needless"] == 1.0
    assert figures["anthropic"]["agreement"] == 1.0
