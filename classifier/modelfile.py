"""The saved model: numbers in a NumPy archive, everything else in JSON; nothing that can run code on load.

A pickle (or skops, which also imports every scikit-learn estimator, and with it torch, just to list the types it
trusts) would make every serving process pay seconds and hundreds of megabytes before its first answer. The heads
are linear, so a model is only arrays and names: they are written as such and rebuilt on load.
"""

import json
import os
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from .features import TextFeatures
from .model import UseCaseHeads, linear_proba


class ModelFormatError(ValueError):
    """A file that is not a model this code can read."""


class LinearHead:
    """What serving needs of a fitted logistic regression: its coefficients, intercepts and classes."""

    def __init__(self, coef, intercept, classes):
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X):
        """Class probabilities, as :class:`sklearn.linear_model.LogisticRegression` gives them."""
        return linear_proba(self, X)


_TFIDF_PARAMS = ("ngram_range", "min_df", "max_df", "sublinear_tf", "strip_accents", "max_features", "lowercase",
                 "norm", "use_idf", "smooth_idf")
_HEAD_STATE = ("thresholds_", "bands_", "possible_from_", "gamma_", "prohibited_rate_", "risk_calibration_",
               "review_from_", "n_features_in_")


def _head_arrays(prefix, head, arrays):
    arrays[f"{prefix}.coef"] = head.coef_
    arrays[f"{prefix}.intercept"] = head.intercept_
    return {"classes": [c.item() if hasattr(c, "item") else c for c in head.classes_]}


def dump(path, *, version, embedder, features, heads, index, format_version):
    """Write a model atomically (a temporary file renamed into place).

    :raises ModelFormatError: for heads this format cannot hold (RBF kernels).
    """
    if heads.kernel != "linear":
        raise ModelFormatError("Only linear heads can be saved; RBF heads are for experiments.")
    arrays, linear = {}, {}
    constants = {n: h for n, h in heads.heads_.items() if isinstance(h, float)}
    for name, head in heads.heads_.items():
        if name not in constants:
            linear[name] = _head_arrays(f"head.{name}", head, arrays)
    for name in ("review_", "prohibited_"):
        head = getattr(heads, name)
        if head is not None:
            linear[name] = _head_arrays(f"head.{name}", head, arrays)
    tfidf = features.tfidf_
    arrays["tfidf.idf"] = tfidf.idf_
    arrays["index.vectors"] = np.asarray(index["vectors"], dtype=np.float32)
    meta = {
        "format": format_version, "version": version, "embedder": embedder,
        "heads": {"params": heads.get_params(), "linear": linear, "constants": constants,
                  "state": {k: getattr(heads, k) for k in _HEAD_STATE},
                  "classes": [str(c) for c in heads.classes_]},
        "features": {"max_terms": features.max_terms,
                     "tfidf": {k: getattr(tfidf, k) for k in _TFIDF_PARAMS},
                     "dtype": np.dtype(tfidf.dtype).name,
                     "vocabulary": {term: int(i) for term, i in tfidf.vocabulary_.items()}},
        "index": {"ids": index["ids"], "texts": index["texts"], "labels": index["labels"]},
    }
    arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    tmp.replace(path)
    return path


def load(path):
    """Read a model written by :func:`dump`: ``(meta, features, heads, index)``.

    :raises ModelFormatError: when the file is not such a model.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
        features = _features(meta["features"], arrays)
        heads = _heads(meta["heads"], arrays)
        index = {"vectors": arrays["index.vectors"], **meta["index"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFormatError(f"{path} is not a saved model ({exc.__class__.__name__}: {exc}).") from exc
    return meta, features, heads, index


def _features(saved, arrays):
    params = dict(saved["tfidf"])
    params["ngram_range"] = tuple(params["ngram_range"])
    tfidf = TfidfVectorizer(**params, dtype=np.dtype(saved["dtype"]).type)
    tfidf.vocabulary_ = saved["vocabulary"]
    tfidf.idf_ = arrays["tfidf.idf"]
    features = TextFeatures(max_terms=saved["max_terms"])
    features.tfidf_ = tfidf
    return features


def _heads(saved, arrays):
    heads = UseCaseHeads(**saved["params"])
    for key, value in saved["state"].items():
        setattr(heads, key, tuple(value) if key == "risk_calibration_" else value)
    heads.classes_ = np.array(saved["classes"])
    linear = {name: LinearHead(arrays[f"head.{name}.coef"], arrays[f"head.{name}.intercept"], spec["classes"])
              for name, spec in saved["linear"].items()}
    heads.review_ = linear.pop("review_", None)
    heads.prohibited_ = linear.pop("prohibited_", None)
    heads.heads_ = {**{n: float(v) for n, v in saved["constants"].items()}, **linear}
    return heads
