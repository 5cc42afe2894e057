"""Golden cases: every rule fires on one case written from its clause and not on a near miss."""

import datetime
import json

import pytest

import rules
from rules.facts import DOMAINS

A24, A25, OAI = "anthropic-2024-06-06", "anthropic-2025-09-15", "openai-2023-02-15"
ADV = "anthropic-consumer-terms-2025-09-28"
CLASSIFIER_KEYS = {"domains", "audience", "prohibited", "chatbot", "minors", "uncertain", "uses",
                   "possible_uses"}
SIMPLE_CATEGORIES = ("child_safety", "critical_infrastructure", "violent_extremism_hate",
                     "privacy_surveillance", "weapons_illegal_goods", "self_harm_psych",
                     "misinformation", "fraud_scams_spam", "sexual_content")


def classification(**labels):
    """A confident classifier output: an internal business tool with no flags unless told."""
    out = {"domains": [], "audience": "business", "prohibited": None, "chatbot": False,
           "minors": False, "uncertain": []}
    out.update(labels)
    out["domain_probabilities"] = {d: 0.95 if d in out["domains"] else 0.02 for d in DOMAINS}
    out.update(audience_probability=0.9, prohibited_probability=0.9,
               chatbot_probability=0.9 if out["chatbot"] else 0.05,
               minors_probability=0.9 if out["minors"] else 0.05)
    return out


def facts_for(case):
    """Facts from a case written as classifier labels plus questionnaire answers."""
    labels = {k: v for k, v in case.items() if k in CLASSIFIER_KEYS}
    answers = {k: v for k, v in case.items() if k not in CLASSIFIER_KEYS}
    return rules.build_facts(classification(**labels), answers)


@pytest.fixture(scope="module")
def packs():
    return rules.load_packs(rules.DEFAULT_DIR)


def run(packs, pack_id, case):
    pack = packs[pack_id]
    facts = facts_for({"vendors": [pack.vendor], **case})
    return pack, rules.assess(facts, on=pack.effective_from, packs=packs)


def fired(pack, result):
    if pack.kind == "advisory":
        return [r for a in result["advisories"] if a["pack"] == pack.id for r in a["rules"]]
    answer = result["vendors"][pack.vendor]
    assert answer["pack"] == pack.id
    return answer["rules"]


# (pack, rule, a case that fires it, a near miss that does not)
GOLDEN = []
for _pack in (A24, A25):
    GOLDEN += [(_pack, f"prohibited_{c}", {"prohibited": c}, {}) for c in SIMPLE_CATEGORIES]
    GOLDEN += [
        (_pack, "prohibited_platform_abuse", {"prohibited": "platform_abuse"}, {}),
        # Malware vs. a penetration test the system owner agreed to.
        (_pack, "prohibited_cyber_malicious", {"prohibited": "cyber_malicious"},
         {"prohibited": "cyber_malicious", "security_testing_with_owner_consent": True}),
        # Parole scoring vs. a police department's document summariser.
        (_pack, "prohibited_criminal_justice_law_enforcement",
         {"prohibited": "criminal_justice_law_enforcement"},
         {"law_enforcement_use": "back_office"}),
        (_pack, "law_enforcement_other", {"law_enforcement_use": "other"},
         {"law_enforcement_use": "back_office"}),
        (_pack, "law_enforcement_back_office", {"law_enforcement_use": "back_office"},
         {"law_enforcement_use": "other"}),
        (_pack, "law_enforcement_missing_persons", {"law_enforcement_use": "missing_persons"},
         {"law_enforcement_use": "back_office"}),
        (_pack, "law_enforcement_exception_disputed",
         {"prohibited": "criminal_justice_law_enforcement", "law_enforcement_use": "back_office"},
         {"law_enforcement_use": "back_office"}),
        (_pack, "impersonation_without_consent", {"simulates_real_person": True},
         {"simulates_real_person": True, "person_consent": True}),
        (_pack, "chatbot_disclosure", {"chatbot": True}, {"chatbot": False}),
        (_pack, "minors_disclosure", {"minors": True}, {"audience": "consumer"}),
    ]
# 2024: every listed integration discloses, whoever it serves.
GOLDEN += [(A24, f"high_risk_{d}", {"domains": [d]}, {}) for d in DOMAINS]
GOLDEN += [
    # A resume screener deciding about candidates vs. the same domain used business-to-business.
    (A24, "high_risk_human_review",
     {"domains": ["employment_housing"], "decisions_about_individuals": True},
     {"domains": ["employment_housing"]}),
    # A benefits-eligibility assistant vs. a caseworker tool deciding nothing of the kind.
    (A24, "government_decisions_high_risk", {"government_decisions": "public_assistance"},
     {"government_decisions": "none"}),
    (A24, "high_risk_media", {"publishes_content_externally": True}, {"audience": "consumer"}),
    (A24, "security_testing_claimed",
     {"prohibited": "cyber_malicious", "security_testing_with_owner_consent": True},
     {"prohibited": "cyber_malicious"}),
    (A24, "political_campaigns", {"political_content": "campaigning"},
     {"political_content": "research_or_education"}),
    (A24, "political_campaigns", {"prohibited": "election_political"}, {}),
    (A24, "political_research", {"political_content": "research_or_education"},
     {"political_content": "campaigning"}),
]
# 2025: only consumer-facing outputs carry the high-risk requirements.
# A decision about a person that only staff see is business-to-business.
GOLDEN += [(A25, f"high_risk_{d}", {"domains": [d], "audience": "consumer"},
            {"domains": [d], "decisions_about_individuals": True}) for d in DOMAINS]
GOLDEN += [
    (A25, "high_risk_human_review", {"domains": ["employment_housing"], "audience": "consumer"},
     {"domains": ["employment_housing"], "decisions_about_individuals": True}),
    (A25, "government_decisions_high_risk",
     {"government_decisions": "migration_asylum", "audience": "consumer"},
     {"government_decisions": "migration_asylum"}),
    # Claimed consent against a malicious-operation flag: review, not an allowance.
    (A25, "security_testing_claimed",
     {"prohibited": "cyber_malicious", "security_testing_with_owner_consent": True},
     {"security_testing_with_owner_consent": True}),
    (A25, "high_risk_media", {"publishes_content_externally": True, "audience": "consumer"},
     {"publishes_content_externally": True}),
    (A25, "agentic_same_prohibitions",
     {"agentic_actions": ["computer_use"], "prohibited": "weapons_illegal_goods"},
     {"agentic_actions": ["computer_use"]}),
    (A25, "security_testing_with_consent", {"security_testing_with_owner_consent": True},
     {"prohibited": "cyber_malicious", "security_testing_with_owner_consent": True}),
    (A25, "political_deception_or_targeting", {"prohibited": "election_political"},
     {"prohibited": "election_political", "political_content": "research_or_education"}),
    (A25, "political_flag_disputed",
     {"prohibited": "election_political", "political_content": "research_or_education"},
     {"political_content": "research_or_education"}),
    (A25, "political_campaigning", {"political_content": "campaigning"},
     {"political_content": "research_or_education"}),
    (A25, "political_research", {"political_content": "research_or_education"},
     {"political_content": "campaigning"}),
]
GOLDEN += [(OAI, f"prohibited_{c}", {"prohibited": c}, {}) for c in SIMPLE_CATEGORIES]
GOLDEN += [
    (OAI, "platform_abuse_unlisted", {"prohibited": "platform_abuse"}, {}),
    (OAI, "prohibited_cyber_malicious", {"prohibited": "cyber_malicious"},
     {"prohibited": "cyber_malicious", "security_testing_with_owner_consent": True}),
    (OAI, "security_testing_claimed",
     {"prohibited": "cyber_malicious", "security_testing_with_owner_consent": True},
     {"security_testing_with_owner_consent": True}),
    (OAI, "political_campaigning", {"political_content": "campaigning"},
     {"political_content": "research_or_education"}),
    (OAI, "prohibited_criminal_justice_law_enforcement",
     {"prohibited": "criminal_justice_law_enforcement"}, {"law_enforcement_use": "back_office"}),
    (OAI, "law_enforcement_decisions",
     {"law_enforcement_use": "other", "decisions_about_individuals": True},
     {"law_enforcement_use": "other"}),
    (OAI, "law_enforcement_other_review", {"law_enforcement_use": "other"},
     {"law_enforcement_use": "other", "decisions_about_individuals": True}),
    (OAI, "missing_persons_tracking", {"law_enforcement_use": "missing_persons"},
     {"law_enforcement_use": "back_office"}),
    (OAI, "migration_asylum_decisions", {"government_decisions": "migration_asylum"},
     {"government_decisions": "none"}),
    # An automated loan decision vs. the same decision signed off by a credit officer.
    (OAI, "automated_eligibility_decisions",
     {"domains": ["finance"], "decisions_about_individuals": True,
      "qualified_human_review": False},
     {"domains": ["finance"], "decisions_about_individuals": True,
      "qualified_human_review": True}),
    (OAI, "automated_eligibility_decisions",
     {"government_decisions": "public_assistance", "qualified_human_review": False},
     {"government_decisions": "public_assistance"}),
    (OAI, "eligibility_decisions_reviewed",
     {"domains": ["employment_housing"], "decisions_about_individuals": True,
      "qualified_human_review": True},
     {"domains": ["employment_housing"], "decisions_about_individuals": True}),
    # Tailored advice without review is disallowed whoever receives it: a B2B contract bot too.
    (OAI, "legal_advice_without_review", {"domains": ["legal"], "qualified_human_review": False},
     {"domains": ["legal"], "qualified_human_review": True}),
    (OAI, "legal_advice_review", {"domains": ["legal"], "qualified_human_review": True},
     {"domains": ["legal"]}),
    (OAI, "financial_advice_without_review",
     {"domains": ["finance"], "qualified_human_review": False}, {"domains": ["finance"]}),
    (OAI, "financial_advice_review", {"domains": ["finance"], "qualified_human_review": True},
     {"domains": ["finance"], "qualified_human_review": False}),
    # Telling someone they have a condition vs. a health service that does not.
    (OAI, "health_diagnosis_or_treatment",
     {"domains": ["healthcare"], "diagnosis_or_treatment": True, "qualified_human_review": True},
     {"domains": ["healthcare"], "audience": "consumer", "diagnosis_or_treatment": False}),
    (OAI, "life_threatening_triage", {"life_threatening_triage": True},
     {"domains": ["healthcare"], "diagnosis_or_treatment": False, "life_threatening_triage": False}),
    (OAI, "political_chatbot", {"chatbot": True, "political_content": "research_or_education"},
     {"political_content": "research_or_education"}),
    (OAI, "political_chatbot",
     {"converses_with_people": True, "political_content": "research_or_education"},
     {"converses_with_people": True}),
    (OAI, "consumer_disclaimer", {"domains": ["healthcare"], "audience": "consumer"},
     {"domains": ["healthcare"]}),
    (OAI, "consumer_disclaimer", {"domains": ["media"]}, {"publishes_content_externally": True}),
    (OAI, "ai_interaction_disclosure", {"chatbot": True}, {}),
    # An internal assistant staff talk to must disclose too.
    (OAI, "ai_interaction_disclosure", {"converses_with_people": True}, {"chatbot": False}),
    (OAI, "simulated_person_label", {"simulates_real_person": True},
     {"simulates_real_person": True, "historical_public_figure": True, "chatbot": True}),
    # Synthetic speeches of a deceased president are no chatbot: the exemption does not apply.
    (OAI, "simulated_person_label", {"simulates_real_person": True, "historical_public_figure": True},
     {"simulates_real_person": True, "historical_public_figure": True,
      "converses_with_people": True}),
    (OAI, "simulated_person_label", {"simulates_real_person": True},
     {"simulates_real_person": True, "person_consent": True}),
    (ADV, "consumer_plan_training", {"access_path": "consumer_plan"},
     {"access_path": "api_commercial"}),
    (ADV, "consumer_plan_personal_data",
     {"access_path": "consumer_plan", "handles_personal_data": True},
     {"access_path": "api_commercial", "handles_personal_data": True}),
]


# Uses the policy names that no classifier label covers: each fires when known, not when denied.
ACTIVITY_RULES = {"gambling": "gambling", "critical_infrastructure_operation": "operates_critical_infrastructure",
                  "military_and_warfare": "military_use", "dating_app": "dating_app",
                  "biometric_identification": "biometric_identification",
                  "protected_characteristics": "protected_characteristics",
                  "pseudo_pharmaceuticals": "pseudo_pharmaceuticals",
                  "coordinated_inauthentic_behaviour": "coordinated_inauthentic_behaviour"}
GOLDEN += [(OAI, rule, {fact: True}, {fact: False}) for rule, fact in ACTIVITY_RULES.items()]
GOLDEN += [(OAI, rule, {"uses": [fact]}, {"possible_uses": [fact], fact: False})
           for rule, fact in ACTIVITY_RULES.items()]


def _case_id(case):
    return f"{case[0]}:{case[1]}"


@pytest.mark.parametrize("pack_id,rule_id,fires,near_miss", GOLDEN,
                         ids=[_case_id(c) for c in GOLDEN])
def test_rule_fires_and_near_miss_does_not(packs, pack_id, rule_id, fires, near_miss):
    pack, result = run(packs, pack_id, fires)
    assert rule_id in fired(pack, result)
    rule = next(r for r in pack.rules if r.id == rule_id)
    if rule.verdict:
        verdict = result["vendors"][pack.vendor]["verdict"]
        assert rules.VERDICTS.index(verdict) >= rules.VERDICTS.index(rule.verdict)
    pack, result = run(packs, pack_id, near_miss)
    assert rule_id not in fired(pack, result)


def test_every_rule_has_a_golden_case(packs):
    covered = {(pack_id, rule_id) for pack_id, rule_id, _, _ in GOLDEN}
    missing = {(p.id, r.id) for p in packs for r in p.rules} - covered
    assert not missing


HIRING = {"domains": ["employment_housing"]}
SCREENER = {**HIRING, "audience": "consumer", "decisions_about_individuals": True}


@pytest.mark.parametrize("pack_id,case,verdict,safeguards", [
    (A24, SCREENER, "allowed_with_safeguards", ["ai_use_disclosure", "human_in_the_loop"]),
    (A25, SCREENER, "allowed_with_safeguards", ["ai_use_disclosure", "human_in_the_loop"]),
    # The B2B tool still discloses in 2024; in 2025 the requirements no longer reach it.
    (A24, HIRING, "allowed_with_safeguards", ["ai_use_disclosure"]),
    (A25, HIRING, "allowed", []),
    # 2025: deciding about candidates is still B2B when only the employer sees the outputs.
    (A24, {**HIRING, "decisions_about_individuals": True}, "allowed_with_safeguards",
     ["ai_use_disclosure", "human_in_the_loop"]),
    (A25, {**HIRING, "decisions_about_individuals": True}, "allowed", []),
    (OAI, {**SCREENER, "qualified_human_review": True}, "allowed_with_safeguards",
     ["human_in_the_loop"]),
    (OAI, {**SCREENER, "qualified_human_review": False}, "prohibited", []),
])
def test_same_hiring_tool_consumer_and_b2b(packs, pack_id, case, verdict, safeguards):
    pack, result = run(packs, pack_id, case)
    answer = result["vendors"][pack.vendor]
    assert answer["verdict"] == verdict
    assert [s["id"] for s in answer["safeguards"]] == safeguards


@pytest.mark.parametrize("day,pack_id", [
    (datetime.date(2024, 6, 6), A24),
    (datetime.date(2025, 9, 14), A24),
    (datetime.date(2025, 9, 15), A25),
    (datetime.date(2031, 1, 1), A25),
])
def test_pack_in_force_is_picked_by_date(packs, day, pack_id):
    result = rules.assess(facts_for({}), on=day, packs=packs)
    assert result["vendors"]["anthropic"]["pack"] == pack_id
    assert result["packs"][0] == pack_id


def test_no_pack_in_force_needs_review_on_the_date(packs):
    result = rules.assess(facts_for({}), on=datetime.date(2024, 1, 1), packs=packs)
    assert result["vendors"]["anthropic"] == {"verdict": "needs_review", "pack": None, "rules": [],
                                              "safeguards": [],
                                              "needs_review_on": ["effective_date"]}
    assert result["vendors"]["openai"]["verdict"] == "allowed"
    assert result["tier"] == "high"


def test_effective_date_fact_is_used_and_on_beats_it(packs):
    facts = facts_for({"effective_date": "2024-12-01"})
    assert rules.assess(facts, packs=packs)["vendors"]["anthropic"]["pack"] == A24
    on = datetime.date(2025, 10, 1)
    assert rules.assess(facts, on=on, packs=packs)["vendors"]["anthropic"]["pack"] == A25


@pytest.mark.parametrize("day,vendors,expected", [
    (datetime.date(2025, 9, 27), ["anthropic"], []),
    (datetime.date(2025, 9, 28), ["anthropic"], ["consumer_plan_data_advisory"]),
    (datetime.date(2025, 9, 28), ["openai"], []),
])
def test_consumer_plan_advisory(packs, day, vendors, expected):
    facts = facts_for({"access_path": "consumer_plan", "handles_personal_data": True,
                       "vendors": vendors})
    result = rules.assess(facts, on=day, packs=packs)
    assert [a["id"] for a in result["advisories"]] == expected
    for advisory in result["advisories"]:
        assert advisory["rules"] == ["consumer_plan_training", "consumer_plan_personal_data"]
        assert {c["id"] for c in advisory["clauses"]} >= {"training", "retention"}
    assert (ADV in result["packs"]) == (day >= datetime.date(2025, 9, 28) and "anthropic" in vendors)
    assert all(v["verdict"] == "allowed" for v in result["vendors"].values())


ON = datetime.date(2025, 10, 1)


@pytest.mark.parametrize("case,verdict,review_on", [
    # Predicted chatbot, unsure: a human decides whether the disclosure is needed.
    ({"chatbot": True, "uncertain": ["chatbot"]}, "needs_review", ["chatbot"]),
    # ...also when the unsure prediction is "no".
    ({"chatbot": False, "uncertain": ["chatbot"]}, "needs_review", ["chatbot"]),
    # The submitter's answer settles it.
    ({"chatbot": True, "uncertain": ["chatbot"], "chatbot_answer": False}, "allowed", []),
    # A certain prohibition wins over any doubt elsewhere.
    ({"prohibited": "child_safety", "chatbot": True, "uncertain": ["chatbot"]}, "prohibited", []),
    # An unsure prohibition is not a prohibition yet.
    ({"prohibited": "child_safety", "uncertain": ["prohibited"]}, "needs_review", ["prohibited"]),
    ({"uncertain": ["prohibited"]}, "needs_review", ["prohibited"]),
    # Unsure about a domain that cannot matter: a B2B tool is outside 2025's high-risk scope.
    ({"uncertain": ["media"]}, "allowed", []),
    ({"audience": "consumer", "uncertain": ["media"]}, "needs_review", ["domains"]),
    ({"uncertain": ["audience"], "domains": ["legal"]}, "needs_review", ["audience"]),
    # A rule that asks for review by itself names the fact it read.
    ({"political_content": "campaigning"}, "needs_review", ["political_content"]),
])
def test_uncertainty_gives_needs_review_with_the_fact(packs, case, verdict, review_on):
    labels = {k: v for k, v in case.items() if k in CLASSIFIER_KEYS}
    answers = {k: v for k, v in case.items() if k not in CLASSIFIER_KEYS}
    if "chatbot_answer" in answers:
        answers["chatbot"] = answers.pop("chatbot_answer")
    facts = rules.build_facts(classification(**labels), {"vendors": ["anthropic"], **answers})
    answer = rules.assess(facts, on=ON, packs=packs)["vendors"]["anthropic"]
    assert answer["verdict"] == verdict
    assert answer["needs_review_on"] == review_on


def test_no_classification_needs_review_on_every_classifier_fact(packs):
    answer = rules.assess(rules.build_facts(None), on=ON, packs=packs)["vendors"]["anthropic"]
    assert answer["verdict"] == "needs_review"
    assert answer["needs_review_on"] == ["domains", "audience", "prohibited", "chatbot", "minors"]


def test_override_settles_an_uncertain_prohibition(packs):
    cls = classification(prohibited="weapons_illegal_goods", uncertain=["prohibited"])
    override = {"prohibited": {"value": None, "reason": "a museum catalogue", "by": "rev"}}
    facts = rules.build_facts(cls, {"vendors": ["anthropic"]}, override)
    assert rules.assess(facts, on=ON, packs=packs)["vendors"]["anthropic"]["verdict"] == "allowed"


@pytest.mark.parametrize("case,tier", [
    ({}, "low"),
    ({"chatbot": True}, "medium"),
    ({"political_content": "campaigning"}, "prohibited"),  # OpenAI forbids it; Anthropic reviews
    ({"uncertain": ["prohibited"]}, "high"),
])
def test_tier_is_the_strictest_vendor_verdict(packs, case, tier):
    assert rules.assess(facts_for(case), on=ON, packs=packs)["tier"] == tier


def test_assessment_shape_and_clause_quotes(packs):
    facts = facts_for({"domains": ["legal"], "audience": "consumer", "chatbot": True})
    result = rules.assess(facts, on=ON, packs=packs)
    assert set(result) == {"tier", "vendors", "advisories", "packs"}
    assert result["packs"] == [A25, OAI, ADV]
    for answer in result["vendors"].values():
        assert set(answer) == {"verdict", "pack", "rules", "safeguards", "needs_review_on"}
        for guard in answer["safeguards"]:
            assert set(guard) == {"id", "title", "action", "clauses"}
            assert guard["clauses"]
            for clause in guard["clauses"]:
                assert packs[clause["pack"]].clauses[clause["id"]].quote == clause["quote"]
    assert json.loads(json.dumps(result)) == result
    assert rules.assess(facts, on=ON, packs=packs) == result


def test_prohibited_verdict_lists_no_safeguards(packs):
    facts = facts_for({"prohibited": "fraud_scams_spam", "chatbot": True})
    answer = rules.assess(facts, on=ON, packs=packs)["vendors"]["anthropic"]
    assert answer["verdict"] == "prohibited"
    assert "chatbot_disclosure" in answer["rules"]
    assert answer["safeguards"] == []


def test_default_packs_are_used_without_an_app():
    result = rules.assess(facts_for({"chatbot": True}), on=ON)
    assert result["vendors"]["anthropic"]["pack"] == A25
    assert rules.default_packs() is rules.default_packs()


def test_on_accepts_a_datetime_or_iso_string(packs):
    facts = facts_for({})
    by_date = rules.assess(facts, on=datetime.date(2025, 1, 1), packs=packs)
    assert rules.assess(facts, on=datetime.datetime(2025, 1, 1, 12), packs=packs) == by_date
    assert rules.assess(facts, on="2025-01-01", packs=packs) == by_date


CONSENTED_ATTACK = {"prohibited": "cyber_malicious", "security_testing_with_owner_consent": True}


@pytest.mark.parametrize("pack_id", [A24, A25, OAI])
@pytest.mark.parametrize("agentic", [[], ["code_execution", "computer_use"]])
def test_claimed_consent_never_clears_a_malicious_cyber_flag(packs, pack_id, agentic):
    pack, result = run(packs, pack_id, {**CONSENTED_ATTACK, "agentic_actions": agentic})
    answer = result["vendors"][pack.vendor]
    assert answer["verdict"] == "needs_review"
    assert "prohibited" in answer["needs_review_on"]
    override = {"prohibited": {"value": None, "reason": "authorised pen test", "by": "rev"}}
    facts = rules.build_facts(classification(prohibited="cyber_malicious"),
                              {"vendors": [pack.vendor], "security_testing_with_owner_consent": True},
                              override)
    answer = rules.assess(facts, on=pack.effective_from, packs=packs)["vendors"][pack.vendor]
    assert answer["verdict"] != "needs_review"


def quotes(pack, rule_id):
    rule = next(r for r in pack.rules if r.id == rule_id)
    return " ".join(c.quote for c in rule.clauses)


@pytest.mark.parametrize("pack_id", [A24, A25])
@pytest.mark.parametrize("rule_id,words", [
    ("prohibited_criminal_justice_law_enforcement",
     ["facial recognition", "trustworthiness or social behavior", "infer people's emotions", "censor",
      "biometric categorization", "parole"]),
    ("prohibited_privacy_surveillance", ["Impersonate a human", "biometric or neural data"]),
    ("prohibited_fraud_scams_spam", ["counterfeit", "spam", "multi-level marketing", "payday loans",
                                     "academic dishonesty", "fake reviews"]),
    ("prohibited_self_harm_psych", ["self-harm", "bully", "gore", "body image"]),
])
def test_a_flag_cites_the_bullets_its_category_covers(packs, pack_id, rule_id, words):
    text = quotes(packs[pack_id], rule_id)
    for word in words:
        assert word in text, word


@pytest.mark.parametrize("pack_id", [A24, A25])
def test_healthcare_shows_the_wellness_exclusion(packs, pack_id):
    pack, result = run(packs, pack_id, {"domains": ["healthcare"], "audience": "consumer"})
    cited = [c["quote"] for s in result["vendors"]["anthropic"]["safeguards"] for c in s["clauses"]]
    assert any(q.startswith("Wellness advice") for q in cited)


def test_2025_assessment_labels_2024_wording(packs):
    pack, result = run(packs, A25, {"law_enforcement_use": "missing_persons",
                                    "domains": ["legal"], "audience": "consumer"})
    clauses = [c for s in result["vendors"]["anthropic"]["safeguards"] for c in s["clauses"]]
    older = [c for c in clauses if c["pack"] == A24]
    assert older and all(f"{A24} wording" in c["section"] for c in older)
    assert all("wording" not in c["section"] for c in clauses if c["pack"] == A25)
    pack, result = run(packs, A24, {"domains": ["legal"]})
    assert all("wording" not in c["section"]
               for s in result["vendors"]["anthropic"]["safeguards"] for c in s["clauses"])


def test_2025_human_review_no_longer_cites_the_2024_scope_sentence(packs):
    rule = next(r for r in packs[A25].rules if r.id == "high_risk_human_review")
    assert "human_in_the_loop_scope" not in [c.id for c in rule.clauses]
    assert "decisions_about_individuals" not in json.dumps(rule.when)


def test_consumer_terms_advice_says_no_more_than_its_clauses(packs):
    pack = packs[ADV]
    advisory = pack.advisories["consumer_plan_data_advisory"]
    text = advisory.action + " ".join(r.description for r in pack.rules)
    assert "exclude" not in text and "send customer data" not in text
    assert "preference" in [c.id for c in advisory.clauses]


@pytest.mark.parametrize("fact", list(ACTIVITY_RULES.values()) + ["diagnosis_or_treatment",
                                                                   "life_threatening_triage"])
def test_a_possible_use_is_unknown_and_sends_openai_to_review_on_it(packs, fact):
    pack, result = run(packs, OAI, {"possible_uses": [fact]})
    answer = result["vendors"]["openai"]
    assert answer["verdict"] == "needs_review"
    assert answer["needs_review_on"] == [fact]
    # Anthropic does not read these facts.
    pack, result = run(packs, A25, {"possible_uses": [fact]})
    assert result["vendors"]["anthropic"]["verdict"] == "allowed"
    # Nothing flagged: an ordinary tool stays allowed.
    pack, result = run(packs, OAI, {})
    assert result["vendors"]["openai"]["verdict"] == "allowed"


@pytest.mark.parametrize("fact", ACTIVITY_RULES.values())
def test_a_submitter_cannot_deny_a_sure_use(packs, fact):
    pack, result = run(packs, OAI, {"uses": [fact], fact: False})
    answer = result["vendors"]["openai"]
    assert answer["verdict"] == "needs_review"
    assert answer["needs_review_on"] == [fact]
    override = {fact: {"value": False, "reason": "no such use", "by": "rev"}}
    facts = rules.build_facts(classification(uses=[fact]), {"vendors": ["openai"]}, override)
    assert rules.assess(facts, on=pack.effective_from, packs=packs)["vendors"]["openai"]["verdict"] == "allowed"


@pytest.mark.parametrize("case,verdict,review_on", [
    # Unknown is not "no": the answer decides between allowed and prohibited, so it is asked.
    ({"domains": ["legal"]}, "needs_review", ["qualified_human_review"]),
    ({"domains": ["finance"], "audience": "consumer"}, "needs_review", ["qualified_human_review"]),
    ({"domains": ["finance"], "decisions_about_individuals": True}, "needs_review",
     ["qualified_human_review"]),
    ({"government_decisions": "public_assistance"}, "needs_review", ["qualified_human_review"]),
    # Unless the classifier read it from the text.
    ({"domains": ["legal"], "qualified_human_review_predicted": True}, "allowed_with_safeguards", []),
    ({"domains": ["legal"], "qualified_human_review_predicted": False}, "prohibited", []),
    # Where it decides nothing, it is not asked.
    ({"domains": ["media"]}, "allowed_with_safeguards", []),
    ({}, "allowed", []),
    # Health: review does not allow diagnosis; whether it diagnoses is unknown until said.
    ({"domains": ["healthcare"], "audience": "consumer"}, "needs_review", ["diagnosis_or_treatment"]),
    ({"domains": ["healthcare"], "audience": "consumer", "diagnosis_or_treatment": True,
      "qualified_human_review": True}, "prohibited", []),
    ({"domains": ["healthcare"], "audience": "consumer", "diagnosis_or_treatment": False},
     "allowed_with_safeguards", []),
    # A chatbot giving civic information may be giving campaign information.
    ({"chatbot": True, "political_content": "research_or_education"}, "needs_review",
     ["chatbot", "converses_with_people", "political_content"]),
])
def test_openai_unknowns_need_review_on_the_question(packs, case, verdict, review_on):
    case = dict(case)
    labels = {k: v for k, v in case.items() if k in CLASSIFIER_KEYS}
    if "qualified_human_review_predicted" in case:
        labels["qualified_human_review"] = case.pop("qualified_human_review_predicted")
    answers = {k: v for k, v in case.items() if k not in CLASSIFIER_KEYS}
    facts = rules.build_facts(classification(**labels), {"vendors": ["openai"], **answers})
    answer = rules.assess(facts, on=ON, packs=packs)["vendors"]["openai"]
    assert answer["verdict"] == verdict
    assert answer["needs_review_on"] == review_on
