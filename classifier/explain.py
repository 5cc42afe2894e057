"""Why the classifier said what it said: nearest training examples and supporting sentences."""

import numpy as np

from .labels import DOMAINS

SNIPPET_CHARS = 240


def nearest_examples(index, vector, k=5):
    """The ``k`` training examples most similar to ``vector``, most similar first.

    :param index: a dict with ``vectors`` (unit rows), ``ids``, ``texts`` and ``labels``.
    """
    sims = index["vectors"] @ vector
    k = min(k, len(sims))
    top = np.argpartition(-sims, k - 1)[:k]
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
    """The ``(label, value)`` pairs a result asserts: its domains, audience, prohibited category, flags."""
    pairs = [(d, True) for d in result["domains"]]
    pairs.append(("audience", result["audience"]))
    if result["prohibited"]:
        pairs.append(("prohibited", result["prohibited"]))
    pairs += [(flag, True) for flag in ("chatbot", "minors") if result[flag]]
    return pairs


def supporting_sentences(heads, result, sentences, sentence_vectors):
    """For each asserted label, the sentence of the description that its head scores highest on its own."""
    if not sentences:
        return []
    support = []
    for label, value in positive_labels(result):
        scores = heads.label_scores(sentence_vectors, label, value)
        if scores is None:
            continue
        best = int(np.argmax(scores))
        name = label if label in DOMAINS or value is True else f"{label}:{value}"
        support.append({"label": name, "sentence": sentences[best], "score": round(float(scores[best]), 3)})
    return support
