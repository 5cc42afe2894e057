"""The word screen: which uses OpenAI's policy names a description could describe, and which it cannot."""

import pytest

import rules
from rules.facts import ACTIVITY_FACTS
from rules.screen import SCREENS


def test_every_activity_fact_has_a_screen():
    assert list(SCREENS) == list(ACTIVITY_FACTS)


@pytest.mark.parametrize("text,uses", [
    ("An assistant in our app that suggests sports bets and parlays from the live odds.", ["gambling"]),
    ("An online casino's VIP host bot.", ["gambling"]),
    ("An agent that switches feeders on the regional power grid to balance load at peak hours.",
     ["operates_critical_infrastructure"]),
    ("Optimises chemical dosing at our water treatment plant.", ["operates_critical_infrastructure"]),
    ("A logistics planner for the army that schedules convoys and supplies for the troops.", ["military_use"]),
    ("A dating app that writes opening lines for matches.", ["dating_app"]),
    ("Matches visitors' faces against a watch list using facial recognition.", ["biometric_identification"]),
    ("Our model infers each user's religion and sexual orientation from their posts.",
     ["protected_characteristics"]),
    ("Writes product pages for our homeopathic miracle cures.", ["pseudo_pharmaceuticals"]),
    ("Runs sock puppet accounts that post from hundreds of accounts to boost our brand.",
     ["coordinated_inauthentic_behaviour"]),
    ("A symptom checker that tells parents whether to watch at home or go to the ER.",
     ["diagnosis_or_treatment", "life_threatening_triage"]),
    ("A crisis line chatbot for people thinking about suicide.", ["life_threatening_triage"]),
])
def test_a_use_the_text_could_describe_is_found(text, uses):
    assert rules.possible_uses(text) == uses


@pytest.mark.parametrize("text", [
    "A chatbot that helps customers track their parcels and change delivery addresses.",
    "Summarise internal meeting notes for the sales team and draft follow-up emails.",
    "A CSS grid layout generator for our web designers.",
    "Our bet is on long-tail search for small-town travel guides.",
    "Case law search covering opinions dating back to 1791.",
    "HR onboarding tool that stores employees' emergency contacts.",
    "Malware triage for our security operations centre analysts.",
    "Diagnose failing CI builds and suggest fixes to developers.",
    "A sleep and stress coach with breathing exercises.",
    "",
    None,
])
def test_ordinary_text_is_not_flagged(text):
    assert rules.possible_uses(text) == []


@pytest.mark.parametrize("text,advice", [
    ("Answers tenants' questions about their lease and deposit.", True),
    ("Suggests a portfolio of index funds for each customer.", True),
    ("Formats meeting notes for the design team.", False),
])
def test_advice_possible(text, advice):
    assert rules.advice_possible(text) is advice
