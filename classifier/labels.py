"""The label sets the classifier predicts, named as in the vendors' policies."""

DOMAINS = (
    "legal",
    "healthcare",
    "insurance",
    "finance",
    "employment_housing",
    "education_testing",
    "media",
)
AUDIENCES = ("consumer", "business")
PROHIBITED = (
    "child_safety",
    "critical_infrastructure",
    "violent_extremism_hate",
    "privacy_surveillance",
    "weapons_illegal_goods",
    "self_harm_psych",
    "misinformation",
    "election_political",
    "criminal_justice_law_enforcement",
    "fraud_scams_spam",
    "platform_abuse",
    "sexual_content",
    "cyber_malicious",
)
DECISIONS = "decisions_about_individuals"
REVIEW = "qualified_human_review"
FLAGS = (DECISIONS, "chatbot", "minors")
# The label part of a training example, in the order files and reports list it.
# Uses OpenAI's policy names that no domain or prohibited category covers; an example lists those it shows.
USES = (
    "gambling",
    "operates_critical_infrastructure",
    "military_use",
    "dating_app",
    "biometric_identification",
    "protected_characteristics",
    "pseudo_pharmaceuticals",
    "coordinated_inauthentic_behaviour",
    "diagnosis_or_treatment",
    "life_threatening_triage",
)
LABEL_FIELDS = ("domains", "audience", DECISIONS, REVIEW, "prohibited", "chatbot", "minors", "uses")
# The facts a reviewer can correct in a prediction: the labels, with each use a fact of its own.
PREDICTED_FACTS = tuple(f for f in LABEL_FIELDS if f != "uses") + USES
# Where an example's text comes from: written for the project, the US federal AI inventories, public lists of AI
# products (see data/README.md), a case a reviewer corrected.
SOURCES = ("written", "usfed", "ai-tools-list", "case")
# The binary labels named in ``uncertain`` besides the domains.
SINGLE_LABELS = ("audience", "prohibited") + FLAGS
