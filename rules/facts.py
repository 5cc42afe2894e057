"""Facts: what the rules read about a case, each with a value and where that value came from.

A fact comes from the classifier (``predicted``), the submitter's questionnaire (``answered``), a
reviewer (``overridden``), or nowhere yet (``default``, or ``missing`` when a classifier fact has
no prediction). An answer beats a prediction and an override beats both.
"""

import datetime
from dataclasses import dataclass

from classifier.labels import DECISIONS, DOMAINS, LABEL_FIELDS, PROHIBITED, REVIEW

__all__ = [
    "ACTIVITY_FACTS",
    "DOMAINS",
    "FACTS",
    "FACT_NAMES",
    "QUESTIONS",
    "VENDORS",
    "Fact",
    "FactError",
    "FactView",
    "build_facts",
    "coerce_facts",
]

VENDORS = ("anthropic", "openai")
# Facts the classifier predicts; a prediction it is unsure of sends the rules that read it to review.
# Every label but qualified human review, which is read only where the text states it (never "unsure"), and the
# uses, each an activity fact of its own (ACTIVITY_FACTS).
CLASSIFIER_FACTS = tuple(name for name in LABEL_FIELDS if name not in (REVIEW, "uses"))
PROBABILITY_FACTS = (
    "domain_probabilities",
    "audience_probability",
    f"{DECISIONS}_probability",
    "prohibited_probability",
    "chatbot_probability",
    "minors_probability",
)


class FactError(ValueError):
    """An answer or override names an unknown fact or gives it a bad value."""

    status = 400

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Fact:
    """What one fact may hold: ``kind`` is enum, bool, list, number, map or date."""

    name: str
    kind: str
    label: str
    choices: tuple = ()
    nullable: bool = False
    default: object = None
    answerable: bool = True
    overridable: bool = True
    # A null nobody set is "not known", not "no": rules it could change go to review.
    unknown_unsure: bool = False


# Uses OpenAI's policy names that no domain or prohibited category covers, in the order of
# ``classifier.labels.USES``. The classifier's ``uses`` (sure) and ``possible_uses`` (could be) say
# which a text shows; "could be" makes the fact unknown, and an unknown value sends the rules it
# could change to review.
ACTIVITY_FACTS = {
    "gambling": "Gambling, betting or another activity with a high risk of financial loss",
    "operates_critical_infrastructure": "Manages or operates critical infrastructure (energy, transport, water)",
    "military_use": "Military or warfare use",
    "dating_app": "A dating app or dating service",
    "biometric_identification": "Identifies or assesses people from biometric data (face, voice, fingerprint)",
    "protected_characteristics": "Classifies people by protected characteristics (race, religion, sexual "
                                 "orientation, disability...)",
    "pseudo_pharmaceuticals": "Promotes or sells pseudo-pharmaceuticals (miracle cures, unproven remedies)",
    "coordinated_inauthentic_behaviour": "Coordinated inauthentic behaviour (networks of fake accounts or "
                                         "personas)",
    "diagnosis_or_treatment": "Tells people whether they have a health condition, or how to cure or treat it",
    "life_threatening_triage": "Triages or manages life-threatening issues that need immediate attention",
}
# The activity a predicted or answered domain makes possible, when nothing else says.
POSSIBLE_FROM_DOMAIN = {"diagnosis_or_treatment": "healthcare"}


FACTS = {
    fact.name: fact
    for fact in (
        Fact("domains", "list", "High-risk domains the use case touches", DOMAINS, default=()),
        Fact("audience", "enum", "Who receives the outputs", ("consumer", "business")),
        # The submitter cannot answer this one away; only a reviewer can change it.
        Fact("prohibited", "enum", "Prohibited-use category", PROHIBITED, nullable=True,
             answerable=False),
        Fact("chatbot", "bool", "Customer- or public-facing chatbot or interactive agent",
             default=False),
        Fact("minors", "bool", "People under 18 use the product directly", default=False),
        Fact("domain_probabilities", "map", "Classifier probability of each domain", DOMAINS,
             answerable=False, overridable=False),
        *(Fact(name, "number", f"Classifier probability ({name})", answerable=False,
               overridable=False) for name in PROBABILITY_FACTS[1:]),
        Fact("vendors", "list", "Model vendors the product uses", VENDORS, default=VENDORS),
        Fact("access_path", "enum", "How the product reaches the model",
             ("api_commercial", "consumer_plan"), nullable=True),
        Fact("decisions_about_individuals", "bool", "Outputs decide or recommend about a person",
             default=False),
        Fact("qualified_human_review", "bool",
             "A qualified professional reviews outputs before they reach people", nullable=True,
             unknown_unsure=True),
        Fact("converses_with_people", "bool",
             "People converse with it (any conversational AI or chatbot, staff-only included)",
             default=False),
        *(Fact(name, "bool", label, nullable=True, default=False)
          for name, label in ACTIVITY_FACTS.items()),
        Fact("publishes_content_externally", "bool",
             "Generated content is published automatically for outside readers", default=False),
        Fact("simulates_real_person", "bool", "The product simulates a real person",
             default=False),
        Fact("person_consent", "bool", "That person gave explicit consent", default=False),
        Fact("historical_public_figure", "bool", "The simulated person is a historical public figure",
             default=False),
        Fact("agentic_actions", "list", "Actions the model takes on its own",
             ("tools", "code_execution", "computer_use"), default=()),
        Fact("law_enforcement_use", "enum", "Use by a law-enforcement organisation",
             ("none", "back_office", "missing_persons", "other"), default="none"),
        Fact("government_decisions", "enum", "Government decisions the outputs inform",
             ("none", "public_assistance", "migration_asylum"), default="none"),
        Fact("security_testing_with_owner_consent", "bool",
             "Security testing of systems whose owner consented", default=False),
        Fact("political_content", "enum", "Political content",
             ("none", "research_or_education", "campaigning"), default="none"),
        Fact("handles_personal_data", "bool", "Customers' personal data is sent to the model",
             default=False),
        Fact("effective_date", "date", "Date the policies are applied on (default: today)",
             nullable=True),
    )
}
FACT_NAMES = tuple(FACTS)
QUESTIONS = tuple(name for name, fact in FACTS.items() if fact.answerable)


def _coerce(fact, value):
    """Return ``value`` in the fact's canonical JSON form, or raise FactError."""
    if value is None or value == "":
        if fact.nullable:
            return None
        raise FactError(fact.name, "a value is required")
    if fact.kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise FactError(fact.name, f"expected true or false, got {value!r}")
        return value
    if fact.kind == "enum":
        if value not in fact.choices:
            raise FactError(fact.name, f"{value!r} is not one of {', '.join(fact.choices)}")
        return value
    if fact.kind == "list":
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise FactError(fact.name, f"expected a list, got {value!r}")
        bad = [item for item in value if item not in fact.choices]
        if bad:
            raise FactError(fact.name, f"{bad[0]!r} is not one of {', '.join(fact.choices)}")
        if fact.name == "vendors" and not value:
            raise FactError(fact.name, "choose at least one vendor")
        return [choice for choice in fact.choices if choice in value]
    if fact.kind == "date":
        if isinstance(value, datetime.date):
            return value.isoformat()
        try:
            return datetime.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise FactError(fact.name, f"expected a date like 2025-09-15, got {value!r}") from None
    raise FactError(fact.name, "this fact comes from the classifier only")


def _predicted(classification):
    """Facts from the classifier's output; tolerant, since a missing key only means no prediction."""
    cls = classification if isinstance(classification, dict) else {}
    unsure = cls.get("uncertain") if isinstance(cls.get("uncertain"), list) else []
    facts = {}
    probs = cls.get("domain_probabilities")
    probs = {d: p for d, p in probs.items() if d in DOMAINS} if isinstance(probs, dict) else {}
    domains = cls.get("domains")
    if isinstance(domains, list):
        facts["domains"] = {"value": [d for d in DOMAINS if d in domains], "source": "predicted",
                            "uncertain": any(d in unsure for d in DOMAINS),
                            "uncertain_domains": [d for d in DOMAINS if d in unsure]}
    else:
        facts["domains"] = {"value": [], "source": "missing", "uncertain": True,
                            "uncertain_domains": list(DOMAINS)}
    facts["domain_probabilities"] = {"value": probs, "source": "predicted" if probs else "missing"}
    for name in CLASSIFIER_FACTS[1:]:
        if name == DECISIONS and name not in cls:
            # Models before this fact was predicted did not give it: it keeps its default, as it did then.
            continue
        fact = FACTS[name]
        value = cls.get(name)
        if fact.kind == "bool":
            valid = isinstance(value, bool)
        else:  # a null "prohibited" is a prediction ("none applies"); an absent key is not
            valid = value in fact.choices or (value is None and fact.nullable and name in cls)
        probability = cls.get(f"{name}_probability")
        if not isinstance(probability, (int, float)) or isinstance(probability, bool):
            probability = None
        facts[f"{name}_probability"] = {"value": probability,
                                        "source": "predicted" if valid else "missing"}
        if valid:
            facts[name] = {"value": value, "source": "predicted", "probability": probability,
                           "uncertain": name in unsure}
        else:
            # No prediction is as good as an uncertain one: a human (or an answer) must settle it.
            facts[name] = {"value": fact.default, "source": "missing", "uncertain": True}
    # Predicted only where the text says whether a qualified person checks the outputs; else it stays unknown.
    if isinstance(cls.get(REVIEW), bool):
        facts[REVIEW] = {"value": cls[REVIEW], "source": "predicted", "uncertain": False}
    sure, possible = cls.get("uses"), cls.get("possible_uses")
    for name in ACTIVITY_FACTS:
        if isinstance(sure, list) and name in sure:
            facts[name] = {"value": True, "source": "predicted", "uncertain": False}
        elif isinstance(possible, list) and name in possible:
            facts[name] = {"value": None, "source": "predicted", "uncertain": True}
        elif isinstance(sure, list):
            # A model that reads the uses and names neither this one nor its possibility read it as absent.
            facts[name] = {"value": False, "source": "predicted", "uncertain": False}
    return facts


def _possible_from_domains(facts):
    """An activity a domain makes possible is unknown, not false, until someone answers it."""
    domains = facts["domains"]["value"]
    for name, domain in POSSIBLE_FROM_DOMAIN.items():
        if facts[name]["source"] == "default" and isinstance(domains, list) and domain in domains:
            facts[name] = {"value": None, "source": "default", "uncertain": True, "because": "domains"}


def _answer(entry, fact, value):
    """The entry an answer gives; an answer that denies a sure prediction of a use stays unsure."""
    answered = {"value": value, "source": "answered", "uncertain": False, "previous": _previous(entry)}
    if (fact.name in ACTIVITY_FACTS and value is False and entry.get("source") == "predicted"
            and entry.get("value") is True):
        # The submitter cannot talk a finding away: a reviewer settles the disagreement.
        answered.update(uncertain=True, disputed=True)
    return answered


def _previous(entry):
    return {key: entry[key] for key in ("value", "source", "probability") if key in entry}


def build_facts(classification, answers=None, overrides=None):
    """Build a case's facts from the classifier output, questionnaire answers and reviewer overrides.

    :param classification: the classifier's output dict, or None when nothing was classified.
    :param answers: ``{fact: value}`` from the submitter; a None value means "not answered".
    :param overrides: ``{fact: {"value", "reason", "by"}}`` from a reviewer.
    :return: a JSON-serialisable ``{fact: {"value", "source", ...}}`` for every fact in FACTS.
    :raises FactError: an answer or override names an unknown fact or gives it a bad value.
    """
    facts = _predicted(classification)
    for name, fact in FACTS.items():
        if name not in facts:
            default = list(fact.default) if isinstance(fact.default, tuple) else fact.default
            facts[name] = {"value": default, "source": "default", "uncertain": False}
    for name, value in (answers or {}).items():
        fact = FACTS.get(name)
        if fact is None:
            raise FactError(name, "unknown fact")
        if not fact.answerable:
            raise FactError(name, "only a reviewer can set this fact" if fact.overridable
                            else "this fact comes from the classifier only")
        if value is None:
            continue
        facts[name] = _answer(facts[name], fact, _coerce(fact, value))
    for name, override in (overrides or {}).items():
        fact = FACTS.get(name)
        if fact is None:
            raise FactError(name, "unknown fact")
        if not fact.overridable:
            raise FactError(name, "this fact comes from the classifier only")
        if not isinstance(override, dict) or "value" not in override:
            raise FactError(name, "an override needs a value")
        reason = override.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise FactError(name, "an override needs a reason")
        facts[name] = {"value": _coerce(fact, override["value"]), "source": "overridden",
                       "uncertain": False, "reason": reason.strip(), "by": override.get("by"),
                       "previous": _previous(facts[name])}
    _possible_from_domains(facts)
    return facts


def coerce_facts(data):
    """Turn what a user hands the CLI into facts.

    Accepts a facts dict (entries with a ``value``), ``{"classification", "answers", "overrides"}``,
    a bare classifier output, or bare answers.

    :raises FactError: the answers or overrides are invalid.
    """
    if not isinstance(data, dict):
        raise FactError("facts", "expected a JSON object")
    if data and all(isinstance(v, dict) and "value" in v for v in data.values()):
        return data
    if data and set(data) <= {"classification", "answers", "overrides"}:
        return build_facts(data.get("classification"), data.get("answers"), data.get("overrides"))
    if "domain_probabilities" in data:
        return build_facts(data)
    return build_facts(None, data)


class FactView:
    """Read-only access to facts for the evaluator; never raises on malformed facts."""

    def __init__(self, facts):
        self.facts = facts if isinstance(facts, dict) else {}

    def entry(self, name):
        """The fact's entry, or a missing one when absent or malformed."""
        entry = self.facts.get(name)
        if isinstance(entry, dict) and "value" in entry:
            return entry
        fact = FACTS.get(name)
        default = fact.default if fact else None
        return {"value": list(default) if isinstance(default, tuple) else default,
                "source": "missing", "uncertain": name in CLASSIFIER_FACTS}

    def value(self, path):
        """The value at ``path``: a fact name, or ``domain_probabilities.<domain>``."""
        name, _, key = path.partition(".")
        value = self.entry(name)["value"]
        if key:
            return value.get(key) if isinstance(value, dict) else None
        return value

    def unsure(self, path, members=None):
        """Whether the value at ``path`` is a prediction the classifier is unsure of.

        For ``domains`` only the named ``members`` count: being unsure about "legal" says
        nothing about "healthcare".
        """
        name = path.partition(".")[0]
        entry = self.entry(name)
        if name not in CLASSIFIER_FACTS:
            fact = FACTS.get(name)
            if (fact is not None and fact.unknown_unsure and entry.get("value") is None
                    and entry.get("source") in ("default", "missing")):
                return True
            return bool(entry.get("uncertain"))
        if name == "domains" and members is not None and entry.get("source") == "predicted":
            labels = entry.get("uncertain_domains")
            labels = labels if isinstance(labels, list) else []
            return any(m in labels for m in members if isinstance(m, str))
        return bool(entry.get("uncertain"))

    def vendors(self):
        """The vendors asked about, in canonical order; all of them when unset or malformed."""
        value = self.entry("vendors")["value"]
        chosen = [v for v in VENDORS if isinstance(value, list) and v in value]
        return chosen or list(VENDORS)

    def effective_date(self):
        """The ``effective_date`` fact as a date, or None."""
        value = self.entry("effective_date")["value"]
        try:
            return datetime.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
