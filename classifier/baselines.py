"""Simple baselines the embedding classifier is measured against."""

import re
from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from .labels import DECISIONS, DOMAINS, PROHIBITED, REVIEW, USES
from .model import UseCaseHeads, binary_targets, prohibited_targets

_WORD = re.compile(r"[a-z][a-z'-]+")
_STOP = set(
    "a an and are as at be by for from has have in into is it its of on or our that the their them they this to "
    "we will with who which what when where can may also not any all each so than then there these those was were "
    "you your us i my me do does be been being if but about over per via using use used uses".split()
)


def tfidf_pipeline():
    """TF-IDF word and bigram features under the same heads as the embedding classifier."""
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode")),
            ("clf", UseCaseHeads(kernel="linear")),
        ]
    )


def _words(text):
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


class KeywordBaseline(ClassifierMixin, BaseEstimator):
    """A keyword list learned from the training fold: a label is predicted when one of its words appears.

    For each label the words kept are those that occur in at least ``min_count`` positive examples with
    precision at least ``min_precision``, best first, at most ``k`` of them.
    """

    def __init__(self, k=25, min_count=3, min_precision=0.6):
        self.k = k
        self.min_count = min_count
        self.min_precision = min_precision

    def _select(self, docs, target):
        pos, total = Counter(), Counter()
        for words, t in zip(docs, target):
            total.update(words)
            if t:
                pos.update(words)
        scored = [
            (pos[w] / total[w], pos[w], w)
            for w in pos
            if pos[w] >= self.min_count and pos[w] / total[w] >= self.min_precision
        ]
        return [w for _, _, w in sorted(scored, reverse=True)[: self.k]]

    def fit(self, X, y):
        """Pick the keywords of every label from texts ``X`` and label dicts ``y``."""
        docs = [_words(t) for t in X]
        y = list(y)
        targets = binary_targets(y)
        self.keywords_ = {name: self._select(docs, t) for name, t in targets.items()}
        self.keywords_["business"] = self._select(docs, 1 - targets["consumer"])
        cats = prohibited_targets(y)
        for cat in PROHIBITED:
            self.keywords_[f"prohibited:{cat}"] = self._select(docs, cats == cat)
        return self

    def predict(self, X):
        """A label dict per text."""
        out = []
        for text in X:
            words = _words(text)
            hits = {name: len(words.intersection(kw)) for name, kw in self.keywords_.items()}
            cats = [(hits[f"prohibited:{c}"], c) for c in PROHIBITED if hits[f"prohibited:{c}"]]
            out.append(
                {
                    "domains": [d for d in DOMAINS if hits[d]],
                    "audience": "consumer" if hits["consumer"] >= hits["business"] else "business",
                    DECISIONS: bool(hits[DECISIONS]),
                    # A keyword list cannot tell "a clinician signs off" from "no clinician signs off".
                    REVIEW: None,
                    "prohibited": max(cats)[1] if cats else None,
                    "chatbot": bool(hits["chatbot"]),
                    "minors": bool(hits["minors"]),
                    "uses": [u for u in USES if hits[u]],
                }
            )
        return out


def as_array(texts):
    """Texts as a numpy object array, the form the scikit-learn steps index by fold."""
    return np.array(texts, dtype=object)
