"""Cleaning and splitting descriptions before they are embedded."""

import re
import unicodedata

from config import Config

# The default limit; the app sets its classifier's from MAX_DESCRIPTION_CHARS (classifier.service).
MAX_CHARS = Config.MAX_DESCRIPTION_CHARS


class DescriptionError(ValueError):
    """A description the classifier cannot take."""

    status = 422


_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s+")


def clean_text(text, max_chars=MAX_CHARS):
    """Return ``text`` normalised for the model, or raise if there is nothing to classify.

    Control characters are dropped (they carry no meaning and upset tokenizers); line breaks stay.

    :raises DescriptionError: when the text is not a string, is empty or whitespace only, or is too long.
    """
    if not isinstance(text, str):
        raise DescriptionError("The description must be text.")
    if len(text) > max_chars:
        raise DescriptionError(f"The description has {len(text):,} characters; the limit is {max_chars:,}.")
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in text
    )
    if not any(ch.isalnum() for ch in text):
        raise DescriptionError("The description is empty: describe what the product does and who uses it.")
    return text.strip()


def split_sentences(text):
    """Split ``text`` into sentences and list items, dropping empty pieces."""
    sentences = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        for piece in _SENTENCE_END.split(line):
            piece = piece.strip()
            if piece:
                sentences.append(piece)
    return sentences


def pack_windows(sentences, lengths, budget):
    """Group consecutive sentences into windows of at most ``budget`` tokens.

    A sentence longer than the budget is cut into word chunks first, so nothing is lost to truncation.
    :param lengths: the token count of each sentence.
    :return: a list of windows, each a list of sentence strings.
    """
    windows, current, used = [], [], 0
    for sentence, length in zip(sentences, lengths):
        pieces = [(sentence, length)] if length <= budget else _chunk(sentence, length, budget)
        for piece, piece_len in pieces:
            if current and used + piece_len > budget:
                windows.append(current)
                current, used = [], 0
            current.append(piece)
            used += piece_len
    if current:
        windows.append(current)
    return windows


def _chunk(sentence, length, budget):
    # Cut by characters, at a space where there is one, so text without spaces (Chinese, Japanese) is cut too.
    n_chunks = -(-length // max(1, int(budget * 0.9)))
    size = -(-len(sentence) // n_chunks)
    chunks, start = [], 0
    while start < len(sentence):
        end = min(len(sentence), start + size)
        if end < len(sentence):
            space = sentence.rfind(" ", start + size // 2, end)
            end = space if space > start else end
        piece = sentence[start:end].strip()
        if piece:
            chunks.append(piece)
        start = end
    return [(c, min(budget, max(1, length * len(c) // len(sentence)))) for c in chunks]
