"""Whether a description is something the classifier can read: English, and long enough to say what it does.

The embedding model only knows English; a Spanish or Chinese description lands somewhere meaningless in its
space, and a two-word description says too little. Either way every label would be a guess, so the classifier
marks them all uncertain instead and says why.
"""

import functools
import re
import unicodedata

LANGUAGE_NOT_SUPPORTED = "language not supported"
TOO_LITTLE = "too little to go on"
# Fewer words than this cannot say what a product does and for whom ("HR copilot", "chatbot").
MIN_WORDS = 3
MIN_LETTERS = 12
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _is_latin(ch):
    return "LATIN" in unicodedata.name(ch, "")


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@functools.cache
def _english_vocabulary():
    """Whole words of the embedding model's (English, uncased) vocabulary; empty when it cannot be found."""
    from .embedders import ModelMissingError, default_model_path

    try:
        path = default_model_path() / "vocab.txt"
        words = path.read_text(encoding="utf-8").split()
    except (ModelMissingError, OSError):
        return frozenset()
    return frozenset(w for w in words if w.isalpha() and len(w) > 1)


def _known_share(words):
    vocabulary = _english_vocabulary()
    if not vocabulary:
        return 0.0
    # Acronyms (ONRR, KYC) belong to no language; very short words are shared by too many.
    plain = [w.lower() for w in words if len(w) > 2 and not w.isupper()]
    if not plain:
        return 1.0
    return sum(w in vocabulary for w in plain) / len(plain)


def unreadable_reason(text):
    """Why ``text`` cannot be classified (:data:`LANGUAGE_NOT_SUPPORTED` or :data:`TOO_LITTLE`), or None."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(map(_is_latin, letters)) / len(letters) < 0.5:
        return LANGUAGE_NOT_SUPPORTED
    words = _WORD.findall(text)
    if len(words) < MIN_WORDS or len(letters) < MIN_LETTERS:
        return TOO_LITTLE
    ranked = dict(_identifier().rank(text))
    top = max(ranked, key=ranked.get)
    # Unless the identifier is sure, both must agree: alone it calls terse English jargon ("Open Metadata") Latin or
    # Romanian, and the vocabulary alone cannot tell English from a language sharing many of its words.
    if top != "en" and ranked.get("en", 0.0) < 0.05:
        if ranked[top] >= 0.5 or _known_share(words) < 0.6:
            return LANGUAGE_NOT_SUPPORTED
    return None
