"""A word screen for the uses OpenAI's policy names, for classifications made before the classifier read them.

The classifier predicts ``uses`` (sure) and ``possible_uses`` (could be) itself. A classification stored
by an earlier model has neither, so the API, the wizard and re-assessment put the screen's answer in
``possible_uses``: a match makes the fact unknown, so the rules it could change send the case to review
and the wizard asks the question; it never decides a use on its own. ``ADVICE`` tells the wizard when to
ask whether a qualified person reviews the outputs.
"""

import re

__all__ = ["ADVICE", "SCREENS", "advice_possible", "possible_uses"]


def _words(*patterns):
    return re.compile(r"\b(?:" + "|".join(patterns) + r")", re.IGNORECASE)


_PROTECTED = (r"(?:race|racial|ethnic\w*|religio\w*|sexual orientation|gender identity|sex life|"
              r"political (?:opinion|affiliation|view)s?|trade union|disabilit\w*|"
              r"protected (?:characteristic|attribute|class)\w*)")
_SORT = r"(?:classif\w*|categori[sz]\w*|infer\w*|predict\w*|detect\w*|guess\w*|determin\w*|label\w*|tag\w*)"

SCREENS = {
    "gambling": _words(r"gambl\w*", r"(?-i:bets|betting|bettors?)\b", r"(?:place|placing|sports?) (?:a )?bet\b",
                       r"wager\w*", r"sportsbook\w*", r"casino\w*",
                       r"bookmaker\w*", r"poker", r"roulette", r"blackjack", r"slot machines?",
                       r"lotter(?:y|ies)", r"parlay\w*", r"binary options", r"forex",
                       r"day[- ]trad\w*"),
    "operates_critical_infrastructure": _words(
        r"(?:power|electric(?:ity|al)?|energy|gas|water|rail|railway|metro) (?:grid|network|plant|station|"
        r"supply|utility|utilities|dispatch|system)s?",
        r"grid[- ](?:operat|switch|dispatch|balanc|frequenc|load|stabil|control)\w*", r"substations?", r"scada",
        r"wastewater", r"water treatment", r"air traffic", r"traffic (?:lights?|signals?|control)",
        r"nuclear (?:plant|reactor|power|station)s?", r"pipelines? (?:operat|pressure|valve|flow)\w*",
        r"critical infrastructure", r"switch(?:ing|es)? (?:feeders?|breakers?|circuits?)"),
    "military_use": _words(r"militar\w*", r"arm(?:y|ies)\b", r"armed forces", r"warfare", r"battlefield\w*",
                           r"soldiers?", r"troops?", r"nav(?:y|al)\b", r"air force",
                           r"defen[cs]e (?:ministry|department|forces|contractor)\w*",
                           r"department of defen[cs]e", r"missiles?", r"munitions?"),
    "dating_app": _words(r"dating(?! back)", r"matchmak\w*", r"romantic (?:match|partner)\w*", r"hook[- ]?ups?"),
    "biometric_identification": _words(r"biometric\w*", r"fac(?:e|ial) (?:recognition|identification|"
                                       r"matching|match|verification|id)\b", r"fingerprint\w*", r"iris scan\w*",
                                       r"voice ?prints?", r"speaker (?:identification|verification)",
                                       r"gait (?:analysis|recognition)"),
    "protected_characteristics": re.compile(
        r"\b" + _SORT + r"\W+(?:\w+\W+){0,6}?" + _PROTECTED + r"|\b" + _PROTECTED + r"\W+(?:\w+\W+){0,4}?"
        + _SORT, re.IGNORECASE),
    "pseudo_pharmaceuticals": _words(r"miracle cures?", r"homeopath\w*", r"detox\w*", r"herbal (?:remed|cure)\w*",
                                     r"nootropic\w*", r"weight[- ]loss (?:pill|supplement|tea)s?",
                                     r"cure[- ]alls?", r"alternative (?:medicine|remed\w*)",
                                     r"immun\w* boost\w*", r"unproven (?:remed|cure|treatment)\w*"),
    "coordinated_inauthentic_behaviour": _words(r"fake (?:accounts?|profiles?|personas?|followers|"
                                                r"engagement|reviews?)", r"sock ?puppets?", r"bot (?:network|farm)s?",
                                                r"troll farms?", r"inauthentic", r"astroturf\w*",
                                                r"(?:post|posting|comment\w*|engag\w*) (?:from|across|with) "
                                                r"(?:many|multiple|dozens of|hundreds of|thousands of) "
                                                r"(?:accounts|personas|profiles)",
                                                r"coordinated (?:posting|accounts|campaign|network)s?",
                                                r"engagement farm\w*"),
    "diagnosis_or_treatment": _words(
        r"(?:medical|clinical|patient|health|skin|mental|self)[- ]diagnos\w*",
        r"diagnos\w* (?:of )?(?:the )?(?:patients?|diseases?|conditions?|illness\w*|disorders?|cancer|diabetes|"
        r"infections?|people|users)",
        r"symptoms?", r"treatment (?:plan|option|advice)s?\b", r"prescri\w*", r"medical advice",
        r"cur(?:e|es|ing) (?:their|your|a|the) ",
        r"treat(?:s|ing)? (?:their|your|a|the) (?:condition|illness|disease|infection|injur\w*)",
        r"medication (?:advice|dos\w*)", r"dosage"),
    "life_threatening_triage": _words(
        r"(?:medical|patient|symptom|nurse|nursing|clinical|emergency|health) triag\w*",
        r"triag\w* (?:of )?(?:the )?(?:patients?|symptoms?|calls?|callers?)\b",
        r"triage (?:chat|bot|assistant|tool)\w*",
        r"emergency (?:room|department|care|services|medical|call|dispatch)\w*", r"medical emergenc\w*",
        r"(?:call|dial)(?:ing)? (?:911|999|112)", r"(?:go|going|head) to (?:the )?(?:er|a&e|hospital)\b",
        r"chest pain", r"overdos\w*", r"suicid\w*", r"anaphyla\w*", r"ambulance\w*", r"life[- ]threatening",
        r"crisis (?:line|hotline|support)", r"poison control", r"urgent care", r"heart attack\w*"),
}

# Words that suggest tailored legal or financial advice or an eligibility decision: the wizard then
# asks whether a qualified person reviews the outputs.
ADVICE = _words(r"legal", r"law\b", r"lawyer\w*", r"attorney\w*", r"contracts?", r"leases?", r"tenan\w*",
                r"visa\w*", r"immigration", r"lawsuit\w*", r"tax\w*", r"invest\w*", r"portfolio\w*",
                r"loans?", r"credit\w*", r"mortgage\w*", r"financial", r"retirement", r"pension\w*",
                r"insurance", r"benefits? (?:eligib|claim|application)\w*", r"eligib\w*", r"hiring",
                r"resume\w*", r"candidates?", r"admission\w*", r"underwrit\w*")


def possible_uses(text):
    """The activity facts ``text`` could describe, in ``rules.facts.ACTIVITY_FACTS`` order."""
    text = text if isinstance(text, str) else ""
    return [name for name, pattern in SCREENS.items() if pattern.search(text)]


def advice_possible(text):
    """Whether ``text`` could describe tailored legal or financial advice or an eligibility decision."""
    return bool(ADVICE.search(text if isinstance(text, str) else ""))
