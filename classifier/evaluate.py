"""Cross-validated evaluation of the classifier against two baselines, with a report and a chart."""

from collections import Counter

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .baselines import KeywordBaseline, as_array, tfidf_pipeline
from .dataset import stratify_key
from .labels import DOMAINS, PROHIBITED
from .model import UseCaseHeads
from .predictor import document_proba, labels_of

SYSTEMS = ("embedding", "tfidf", "keywords")


def fold_indices(examples, folds, random_state=0):
    """Stratified folds over the rarest label each example carries; rare strata are pooled."""
    keys = [stratify_key(e) for e in examples]
    counts = Counter(keys)
    keys = [k if counts[k] >= folds else "rare" for k in keys]
    if Counter(keys)["rare"] and Counter(keys)["rare"] < folds:
        keys = [k if k != "rare" else "none" for k in keys]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(keys)), keys))


def cross_validate(examples, embedder, folds=5, random_state=0, progress=None):
    """Out-of-fold predictions of every system, each trained on the same folds.

    The embeddings are computed once: the embedding model is fixed, so only the heads are refit per fold.
    :return: a dict system -> list of predicted label dicts, in the order of ``examples``.
    """
    docs = embedder.embed_documents([e["text"] for e in examples], progress=progress)
    vectors = np.stack([d.vector for d in docs])
    texts = as_array([e["text"] for e in examples])
    labels = [labels_of(e) for e in examples]
    preds = {name: [None] * len(examples) for name in SYSTEMS}
    keys = ("domains", "audience", "prohibited", "chatbot", "minors")
    for train, test in fold_indices(examples, folds, random_state):
        train_labels = [labels[i] for i in train]
        heads = UseCaseHeads(random_state=random_state).fit(vectors[train], train_labels)
        for i in test:
            decided = heads.decide(document_proba(heads, docs[i]))
            preds["embedding"][i] = {k: decided[k] for k in keys}
        tfidf = tfidf_pipeline().fit(texts[train], train_labels)
        keywords = KeywordBaseline().fit(texts[train], train_labels)
        for name, model in (("tfidf", tfidf), ("keywords", keywords)):
            for i, p in zip(test, model.predict(texts[test])):
                preds[name][i] = p
    return preds


def _prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "support": tp + fn}


def _binary(truth, pred):
    truth, pred = np.asarray(truth, bool), np.asarray(pred, bool)
    return _prf(int((truth & pred).sum()), int((~truth & pred).sum()), int((truth & ~pred).sum()))


def score(truth, pred):
    """Per-label precision/recall/F1, domain macro-F1, audience accuracy and prohibited figures."""
    per_label = {d: _binary([d in t["domains"] for t in truth], [d in p["domains"] for p in pred]) for d in DOMAINS}
    for flag in ("chatbot", "minors"):
        per_label[flag] = _binary([t[flag] for t in truth], [p[flag] for p in pred])
    detected = _binary([bool(t["prohibited"]) for t in truth], [bool(p["prohibited"]) for p in pred])
    tp = sum(1 for t, p in zip(truth, pred) if t["prohibited"] and p["prohibited"] == t["prohibited"])
    fp = sum(1 for t, p in zip(truth, pred) if p["prohibited"] and p["prohibited"] != t["prohibited"])
    fn = sum(1 for t, p in zip(truth, pred) if t["prohibited"] and p["prohibited"] != t["prohibited"])
    return {
        "per_label": per_label,
        "domain_macro_f1": float(np.mean([per_label[d]["f1"] for d in DOMAINS])),
        "audience_accuracy": float(np.mean([t["audience"] == p["audience"] for t, p in zip(truth, pred)])),
        "prohibited_detection": detected,
        "prohibited_category": _prf(tp, fp, fn),
        "exact_domains": float(np.mean([sorted(t["domains"]) == sorted(p["domains"]) for t, p in zip(truth, pred)])),
    }


def prohibited_confusion(truth, pred):
    """Counts of (true category, predicted category), with ``none`` for allowed."""
    names = ("none",) + PROHIBITED
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for t, p in zip(truth, pred):
        matrix[names.index(t["prohibited"] or "none"), names.index(p["prohibited"] or "none")] += 1
    return names, matrix
