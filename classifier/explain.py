"""Why the classifier said what it said: nearest training examples and supporting sentences."""

import numpy as np

from .labels import DOMAINS, FLAGS, REVIEW
from .model import COLUMNS

SNIPPET_CHARS = 240


# Ids of training examples taken from reviewer-corrected cases (storage.reviews.labelled_examples).
CASE_PREFIX = "case-"


def nearest_examples(index, vector, k=5):
    """The ``k`` shipped training examples most similar to ``vector``, most similar first.

    Examples from reviewer-corrected cases train the model but are never shown: their text is another team's
    confidential description, and explanations reach any signed-in user and any ``classify`` token.
    :param index: a dict with ``vectors`` (unit rows), ``ids``, ``texts`` and ``labels``.
    """
    shown = np.flatnonzero([not str(i).startswith(CASE_PREFIX) for i in index["ids"]])
    k = min(k, len(shown))
    if k == 0:
        return []
    sims = index["vectors"] @ vector
    top = shown[np.argpartition(-sims[shown], k - 1)[:k]]
    top = top[np.argsort(-sims[top])]
    out = []
    for i in top:
        text = index["texts"][i]
        out.append(
            {
                "id": index["ids"][i],
                "text": text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…",
                "labels": index["labels"][i],
                "similarity": round(float(sims[i]), 4),
            }
        )
    return out


def positive_labels(result):
    """The ``(label, value)`` pairs a result asserts: its domains, audience, prohibited category, flags, uses."""
    pairs = [(d, True) for d in result["domains"]]
    pairs.append(("audience", result["audience"]))
    if result["prohibited"]:
        pairs.append(("prohibited", result["prohibited"]))
    pairs += [(flag, True) for flag in FLAGS if result[flag]]
    pairs += [(use, True) for use in result.get("uses", ())]
    if result[REVIEW] is not None:
        pairs.append((REVIEW, result[REVIEW]))
    return pairs


def label_scores(proba, label, value=True):
    """The column of ``predict_proba`` rows that measures support for ``label`` = ``value``."""
    if label == "audience":
        column = proba[:, COLUMNS.index("consumer")]
        return column if value == "consumer" else 1 - column
    if label == REVIEW:
        return proba[:, COLUMNS.index("review:yes" if value else "review:no")]
    name = f"prohibited:{value}" if label == "prohibited" else label
    return proba[:, COLUMNS.index(name)]


def supporting_sentences(result, sentences, sentence_proba):
    """For each asserted label, the sentence its head scores highest when reading that sentence alone.

    :param sentence_proba: the heads' ``predict_proba`` rows for the sentence vectors.
    """
    if not sentences:
        return []
    support = []
    for label, value in positive_labels(result):
        scores = label_scores(sentence_proba, label, value)
        best = int(np.argmax(scores))
        name = label if label in DOMAINS or (value is True and label != REVIEW) else f"{label}:{str(value).lower()}"
        support.append({"label": name, "sentence": sentences[best], "score": round(float(scores[best]), 3)})
    return support
