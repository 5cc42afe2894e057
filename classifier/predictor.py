"""The trained classifier: embeddings, heads and the training index, with save and load."""

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import skops.io

from .dataset import examples_hash
from .explain import nearest_examples, supporting_sentences
from .model import BINARY_HEADS, COLUMNS, UseCaseHeads
from .text import MAX_CHARS, clean_text

FORMAT = 3
# Types a saved model may contain beyond what skops trusts by default; anything else is refused.
TRUSTED_TYPES = [
    "classifier.model.UseCaseHeads",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]
_PRESENCE = [i for i, name in enumerate(COLUMNS) if name in BINARY_HEADS and name != "consumer"]
_PROHIBITED = [i for i, name in enumerate(COLUMNS) if name.startswith("prohibited:")]
_NONE = COLUMNS.index("prohibited:none")


class ModelFileError(RuntimeError):
    """A saved model that is missing, unreadable or made for other data."""

    status = 503


def model_version(examples, embedder_name, heads_params):
    """A short hash naming the training data, the embedding model and the head settings."""
    settings = json.dumps({"embedder": embedder_name, "heads": heads_params, "format": FORMAT}, sort_keys=True)
    return hashlib.sha256((examples_hash(examples) + settings).encode()).hexdigest()[:12]


def document_proba(heads, doc):
    """One ``predict_proba`` row for a whole document (see :func:`combine_rows`)."""
    return combine_rows(heads.predict_proba(np.vstack([doc.vector[None, :], doc.windows])))


def combine_rows(rows):
    """Merge the rows of the whole document (first) and of each window into one.

    A label present in any window counts, so a domain named at the end of a long text is not diluted;
    the audience comes from the whole document.
    """
    if len(rows) <= 2:
        # One window: it is the whole document.
        return rows[0]
    proba = rows[0].copy()
    proba[_PRESENCE] = rows[:, _PRESENCE].max(axis=0)
    riskiest = int(np.argmin(rows[:, _NONE]))
    proba[_PROHIBITED] = rows[riskiest, _PROHIBITED]
    return proba


def labels_of(example):
    """The label part of a training example."""
    return {k: example[k] for k in ("domains", "audience", "prohibited", "chatbot", "minors")}


class Classifier:
    """Classifies use-case descriptions and explains each answer.

    :param embedder: the embedder the heads were trained on.
    :param heads: a fitted :class:`UseCaseHeads`.
    :param index: training vectors with their ids, texts and labels, for nearest-example explanations.
    :param version: the model version string.
    """

    # Document vectors of the last descriptions classified, so storing a case's vector right after
    # classifying it costs no second forward pass.
    RECENT_VECTORS = 64

    def __init__(self, embedder, heads, index, version, max_chars=MAX_CHARS):
        self.embedder = embedder
        self.heads = heads
        self.index = index
        self.version = version
        self.max_chars = max_chars
        self._recent = OrderedDict()
        self._recent_lock = threading.Lock()

    @classmethod
    def train(cls, examples, embedder, progress=None, **heads_params):
        """Embed ``examples`` and fit the heads on them."""
        docs = embedder.embed_documents([e["text"] for e in examples], progress=progress)
        vectors = np.stack([d.vector for d in docs]).astype(np.float32)
        labels = [labels_of(e) for e in examples]
        heads = UseCaseHeads(**heads_params).fit(vectors, labels)
        index = {
            "vectors": vectors,
            "ids": [e["id"] for e in examples],
            "texts": [e["text"] for e in examples],
            "labels": labels,
        }
        version = model_version(examples, embedder.name, heads.get_params())
        return cls(embedder, heads, index, version)


    def classify_many(self, texts):
        """Classify several descriptions; each must be valid (see :meth:`classify`)."""
        cleaned = [clean_text(t, self.max_chars) for t in texts]
        docs = self.embedder.embed_documents(cleaned)
        self._remember(cleaned, [doc.vector for doc in docs])
        results = []
        for doc in docs:
            # One call scores the document, its windows and its sentences together.
            rows = self.heads.predict_proba(np.vstack([doc.vector[None, :], doc.windows, doc.sentence_vectors]))
            split = 1 + len(doc.windows)
            result = self.heads.decide(combine_rows(rows[:split]))
            result["explanation"] = {
                "nearest": nearest_examples(self.index, doc.vector),
                "sentences": supporting_sentences(result, doc.sentences, rows[split:]),
            }
            result["model_version"] = self.version
            results.append(result)
        return results

    def classify(self, text):
        """Classify one description.

        :raises DescriptionError: for empty, whitespace-only, non-text or over-long input.
        """
        return self.classify_many([text])[0]

    def document_vector(self, text):
        """The vector a classification of ``text`` used: remembered when it was just classified, else embedded.

        :raises DescriptionError: for input :meth:`classify` would refuse.
        """
        cleaned = clean_text(text, self.max_chars)
        with self._recent_lock:
            vector = self._recent.get(cleaned)
        if vector is None:
            vector = self.embedder.embed_documents([cleaned])[0].vector
            self._remember([cleaned], [vector])
        return vector

    def _remember(self, texts, vectors):
        with self._recent_lock:
            for text, vector in zip(texts, vectors):
                self._recent[text] = vector
                self._recent.move_to_end(text)
            while len(self._recent) > self.RECENT_VECTORS:
                self._recent.popitem(last=False)

    def save(self, path):
        """Write the model to ``path`` in skops format (no pickle), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "version": self.version,
            "embedder": self.embedder.name,
            "heads": self.heads,
            "index_vectors": self.index["vectors"],
            "index_ids": self.index["ids"],
            "index_texts": self.index["texts"],
            "index_labels": json.dumps(self.index["labels"]),
        }
        tmp = path.with_name(path.name + ".tmp")
        skops.io.dump(payload, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path, embedder):
        """Read a model saved by :meth:`save`.

        :raises ModelFileError: when the file is missing, corrupt, holds untrusted types or was trained
            with another embedder.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"No saved model at {path}.")
        try:
            untrusted = skops.io.get_untrusted_types(file=path)
            unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
            if unexpected:
                raise ModelFileError(f"{path} holds types that are not trusted: {', '.join(unexpected)}.")
            payload = skops.io.load(path, trusted=untrusted)
        except ModelFileError:
            raise
        except Exception as exc:  # skops reports corrupt archives through several exception types
            raise ModelFileError(f"The saved model {path} could not be read ({exc.__class__.__name__}).") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ModelFileError(f"{path} is not a model file of format {FORMAT}.")
        if payload["embedder"] != embedder.name:
            raise ModelFileError(f"{path} was trained with {payload['embedder']}, not {embedder.name}.")
        index = {
            "vectors": np.asarray(payload["index_vectors"], dtype=np.float32),
            "ids": list(payload["index_ids"]),
            "texts": list(payload["index_texts"]),
            "labels": json.loads(payload["index_labels"]),
        }
        return cls(embedder, payload["heads"], index, payload["version"])
