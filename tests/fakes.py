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
