"""The trained classifier: embeddings, heads and the training index, with save and load."""

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from . import modelfile
from .dataset import examples_hash
from .explain import nearest_examples, supporting_sentences
from .features import TextFeatures
from .labels import DECISIONS, DOMAINS, LABEL_FIELDS, PROHIBITED, REVIEW, SINGLE_LABELS, USES
from .model import BINARY_HEADS, COLUMNS, UseCaseHeads
from .readable import unreadable_reason
from .text import MAX_CHARS, clean_text

FORMAT = 7
# Labels that hold when any part of a long text shows them; the audience is read from the whole.
_PRESENCE = [i for i, name in enumerate(COLUMNS)
             if (name in BINARY_HEADS and name != "consumer") or name in ("review:yes", "review:no")]
_PROHIBITED = [i for i, name in enumerate(COLUMNS) if name.startswith("prohibited:")]
_NONE = COLUMNS.index("prohibited:none")


class ModelFileError(RuntimeError):
    """A saved model that is missing, unreadable or made for other data."""

    status = 503


def model_version(examples, embedder_name, heads_params):
    """A short hash naming the training data, the embedding model and the head settings."""
    settings = json.dumps({"embedder": embedder_name, "heads": heads_params, "format": FORMAT}, sort_keys=True)
    return hashlib.sha256((examples_hash(examples) + settings).encode()).hexdigest()[:12]


def fit_heads(docs, texts, labels, **heads_params):
    """Fit the features and the heads on embedded documents, their texts and their labels."""
    features = TextFeatures().fit(texts)
    vectors = np.stack([d.vector for d in docs])
    heads = UseCaseHeads(**heads_params).fit(features.transform(vectors, texts), labels)
    return features, heads


def document_rows(features, heads, doc, text):
    """``predict_proba`` rows of the whole document, each of its windows, then each of its sentences."""
    vectors = np.vstack([doc.vector[None, :], doc.windows, doc.sentence_vectors])
    texts = [text, *doc.window_texts, *doc.sentences]
    return heads.predict_proba(features.transform(vectors, texts))


def document_proba(features, heads, doc, text):
    """One ``predict_proba`` row for a whole document (see :func:`combine_rows`)."""
    return combine_rows(document_rows(features, heads, doc, text)[: 1 + len(doc.windows)])


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
    return {k: example[k] for k in LABEL_FIELDS}


def unreadable_result(reason):
    """The classification of a text the model cannot read: no label, every one uncertain, and why."""
    return {
        "domains": [], "domain_probabilities": {d: 0.0 for d in DOMAINS},
        "audience": "business", "audience_probability": 0.0,
        DECISIONS: False, f"{DECISIONS}_probability": 0.0, REVIEW: None, f"{REVIEW}_probability": 0.0,
        "prohibited": None, "prohibited_probability": 0.0, "prohibited_category": PROHIBITED[0],
        "prohibited_category_share": 0.0,
        "chatbot": False, "chatbot_probability": 0.0, "minors": False, "minors_probability": 0.0,
        "uses": [], "possible_uses": list(USES), "use_probabilities": {u: 0.0 for u in USES},
        "uncertain": list(DOMAINS) + list(SINGLE_LABELS), "unreadable": reason,
    }


class Classifier:
    """Classifies use-case descriptions and explains each answer.

    :param embedder: the embedder the heads were trained on.
    :param heads: a fitted :class:`UseCaseHeads`.
    :param features: the fitted :class:`TextFeatures` the heads read.
    :param index: training vectors with their ids, texts and labels, for nearest-example explanations.
    :param version: the model version string.
    """

    # Document vectors of the last descriptions classified, so storing a case's vector right after
    # classifying it costs no second forward pass.
    RECENT_VECTORS = 64

    def __init__(self, embedder, heads, index, version, features, max_chars=MAX_CHARS):
        self.embedder = embedder
        self.heads = heads
        self.features = features
        self.index = index
        self.version = version
        self.max_chars = max_chars
        self._recent = OrderedDict()
        self._recent_lock = threading.Lock()

    @classmethod
    def train(cls, examples, embedder, progress=None, **heads_params):
        """Embed ``examples`` and fit the heads on them."""
        texts = [e["text"] for e in examples]
        docs = embedder.embed_documents(texts, progress=progress)
        vectors = np.stack([d.vector for d in docs]).astype(np.float32)
        labels = [labels_of(e) for e in examples]
        features, heads = fit_heads(docs, texts, labels, **heads_params)
        index = {
            "vectors": vectors,
            "ids": [e["id"] for e in examples],
            "texts": [e["text"] for e in examples],
            "labels": labels,
        }
        version = model_version(examples, embedder.name, heads.get_params())
        return cls(embedder, heads, index, version, features)

    def classify_many(self, texts):
        """Classify several descriptions; each must be valid (see :meth:`classify`)."""
        cleaned = [clean_text(t, self.max_chars) for t in texts]
        reasons = [unreadable_reason(t) for t in cleaned]
        readable = [t for t, why in zip(cleaned, reasons) if why is None]
        embedded = self.embedder.embed_documents(readable) if readable else []
        self._remember(readable, [doc.vector for doc in embedded])
        docs = iter(embedded)
        results = []
        for text, why in zip(cleaned, reasons):
            if why is not None:
                results.append({**unreadable_result(why), "explanation": {"nearest": [], "sentences": []},
                                "model_version": self.version})
                continue
            doc = next(docs)
            # One call scores the document, its windows and its sentences together.
            rows = document_rows(self.features, self.heads, doc, text)
            split = 1 + len(doc.windows)
            result = self.heads.decide(combine_rows(rows[:split]))
            result["explanation"] = {
                "nearest": nearest_examples(self.index, doc.vector),
                "sentences": supporting_sentences(result, doc.sentences, rows[split:]),
            }
            result["unreadable"] = None
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
        """Write the model to ``path`` (arrays and JSON, no pickle), atomically."""
        return modelfile.dump(path, version=self.version, embedder=self.embedder.name, features=self.features,
                              heads=self.heads, index=self.index, format_version=FORMAT)

    @classmethod
    def load(cls, path, embedder):
        """Read a model saved by :meth:`save`.

        :raises ModelFileError: when the file is missing or unreadable, of another format, or was trained with
            another embedder.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"No saved model at {path}.")
        try:
            meta, features, heads, index = modelfile.load(path)
        except modelfile.ModelFormatError as exc:
            raise ModelFileError(f"The saved model {path} could not be read: {exc}") from exc
        if meta.get("format") != FORMAT:
            raise ModelFileError(f"{path} is not a model file of format {FORMAT}.")
        if meta["embedder"] != embedder.name:
            raise ModelFileError(f"{path} was trained with {meta['embedder']}, not {embedder.name}.")
        index["vectors"] = np.asarray(index["vectors"], dtype=np.float32)
        return cls(embedder, heads, index, meta["version"], features)
