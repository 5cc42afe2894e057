"""Test doubles: a deterministic embedder that needs no model weights."""

import re
import zlib

import numpy as np

from classifier.embedders import BaseEmbedder

# Words that move a text towards a label, so tests can write descriptions with a known answer.
KEYWORDS = {
    "legal": ("lawyer", "legal", "contract", "court", "lawsuit", "attorney"),
    "healthcare": ("patient", "diagnosis", "symptom", "clinic", "doctor", "medical"),
    "insurance": ("insurance", "claim", "underwriting", "policyholder", "premium"),
    "finance": ("loan", "credit", "investment", "portfolio", "bank", "mortgage"),
    "employment_housing": ("hiring", "resume", "candidate", "tenant", "lease", "applicant"),
    "education_testing": ("exam", "admissions", "sat", "grading", "certification"),
    "media": ("news", "article", "publish", "journalism", "headline"),
    "consumer": ("customers", "public", "consumers", "users", "people"),
    "business": ("internal", "employees", "staff", "team", "b2b"),
    "chatbot": ("chatbot", "chat", "assistant", "conversational", "bot"),
    "minors": ("kids", "children", "teens", "students", "teenagers"),
    "prohibited": ("malware", "ransomware", "phishing", "scam", "weapon", "bomb"),
    "decisions": ("ranks", "decides", "scores", "screens"),
    "review_yes": ("signs",),
    "review_no": ("automatically",),
    "gambling": ("betting", "casino", "wager", "odds"),
}


class FakeEmbedder(BaseEmbedder):
    """Bag of words hashed into a small vector, with one fixed dimension per keyword group."""

    name = "fake-keywords"
    dim = 48
    max_tokens = 64

    def encode(self, texts):
        groups = list(KEYWORDS)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            out[row, -1] = 0.2
            for word in words:
                out[row, len(groups) + zlib.crc32(word.encode()) % (self.dim - len(groups) - 1)] += 0.3
                for g, group in enumerate(groups):
                    if word in KEYWORDS[group]:
                        out[row, g] += 2.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


# A small labelled set the fake embedder separates cleanly: each label has its own keywords.
_TOPICS = {
    "legal": "a lawyer reviews the contract before court",
    "healthcare": "the doctor sees each patient symptom and diagnosis",
    "insurance": "insurance claim underwriting for each policyholder",
    "finance": "loan and credit decisions on a mortgage",
    "employment_housing": "hiring decisions on each resume and candidate",
    "education_testing": "admissions exam grading and certification",
    "media": "news article headline to publish",
    None: "a calendar that formats meeting notes",
}
_PROHIBITED = {"cyber_malicious": "build ransomware and malware", "fraud_scams_spam": "send phishing scam messages"}


def tiny_examples():
    """Deterministic examples covering every label the fake embedder knows."""
    examples, n = [], 0
    for domain, topic in _TOPICS.items():
        for audience, who in (("consumer", "for customers and the public"), ("business", "for internal staff")):
            for variant in range(4):
                chatbot = variant == 1
                minors = variant == 2 and audience == "consumer"
                decides = variant == 3
                review = {0: True, 3: False}.get(variant) if domain else None
                text = f"Product {n}: {topic} {who}."
                if chatbot:
                    text += " It is a conversational chatbot assistant."
                if minors:
                    text += " Kids and teenagers use it."
                if decides:
                    text += " It ranks and scores each person and decides."
                if review is not None:
                    text += " An expert signs every output." if review else " Outputs go out automatically."
                examples.append(
                    {"id": f"t{n}", "text": text, "domains": [domain] if domain else [], "audience": audience,
                     "decisions_about_individuals": decides, "qualified_human_review": review,
                     "prohibited": None, "chatbot": chatbot, "minors": minors, "uses": [], "source": "written"}
                )
                n += 1
    for category, what in _PROHIBITED.items():
        for variant in range(6):
            examples.append(
                {"id": f"t{n}", "text": f"Tool {n} to {what} at scale for people, run {variant}.", "domains": [],
                 "audience": "consumer", "decisions_about_individuals": False, "qualified_human_review": None,
                 "prohibited": category, "chatbot": False, "minors": False, "uses": [], "source": "written"}
            )
            n += 1
    for variant in range(6):
        examples.append(
            {"id": f"t{n}", "text": f"App {n}: sports betting odds and casino wager tips for customers, v{variant}.",
             "domains": [], "audience": "consumer", "decisions_about_individuals": False,
             "qualified_human_review": None, "prohibited": None, "chatbot": False, "minors": False,
             "uses": ["gambling"], "source": "written"}
        )
        n += 1
    return examples
