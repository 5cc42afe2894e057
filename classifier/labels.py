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
FLAGS = ("chatbot", "minors")
# The binary labels named in ``uncertain`` besides the domains.
SINGLE_LABELS = ("audience", "prohibited") + FLAGS
