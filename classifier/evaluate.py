"""Cross-validated evaluation of the classifier against two baselines, with a report and a chart."""

from collections import Counter

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .baselines import KeywordBaseline, as_array, tfidf_pipeline
from .dataset import DatasetError, read_jsonl, stratify_key
from .labels import DECISIONS, DOMAINS, FLAGS, LABEL_FIELDS, PROHIBITED, USES
from .predictor import document_proba, fit_heads, labels_of

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


def cross_validate(examples, embedder, folds=5, random_state=0, progress=None, docs=None, systems=SYSTEMS):
    """Out-of-fold predictions of every system, each trained on the same folds.

    The embeddings are computed once: the embedding model is fixed, so only the heads are refit per fold.
    :param docs: the examples' document embeddings when already computed (see :func:`embed_by_text`).
    :param systems: the systems to run; the embedding classifier always runs.
    :return: a dict system -> list of predicted label dicts, in the order of ``examples``; the embedding
        classifier's also carry ``uncertain``.
    """
    if docs is None:
        docs = embedder.embed_documents([e["text"] for e in examples], progress=progress)
    texts = as_array([e["text"] for e in examples])
    labels = [labels_of(e) for e in examples]
    baselines = [name for name in ("tfidf", "keywords") if name in systems]
    preds = {name: [None] * len(examples) for name in ("embedding", *baselines)}
    for train, test in fold_indices(examples, folds, random_state):
        fitted = _fit_systems([docs[i] for i in train], list(texts[train]), [labels[i] for i in train], baselines,
                              random_state)
        for name, predicted in _predict_systems(fitted, [docs[i] for i in test], list(texts[test])).items():
            for i, p in zip(test, predicted):
                preds[name][i] = p
    return preds


def _fit_systems(docs, texts, labels, baselines, random_state=0):
    fitted = {"embedding": fit_heads(docs, texts, labels, random_state=random_state)}
    for name in baselines:
        model = tfidf_pipeline() if name == "tfidf" else KeywordBaseline()
        fitted[name] = model.fit(as_array(texts), labels)
    return fitted


def _predict_systems(fitted, docs, texts):
    features, heads = fitted["embedding"]
    out = {"embedding": []}
    for doc, text in zip(docs, texts):
        decided = heads.decide(document_proba(features, heads, doc, text))
        out["embedding"].append({k: decided[k] for k in (*LABEL_FIELDS, "possible_uses", "uncertain")})
    for name, model in fitted.items():
        if name != "embedding":
            out[name] = model.predict(as_array(texts))
    return out


def held_out(train, test, docs_by_text, systems=SYSTEMS, random_state=0):
    """Every system trained on all of ``train``, predicting ``test`` (a set that never enters training).

    :return: a dict system -> list of predicted label dicts, in the order of ``test``.
    """
    baselines = [name for name in ("tfidf", "keywords") if name in systems]
    fitted = _fit_systems([docs_by_text[e["text"]] for e in train], [e["text"] for e in train],
                          [labels_of(e) for e in train], baselines, random_state)
    return _predict_systems(fitted, [docs_by_text[e["text"]] for e in test], [e["text"] for e in test])


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
    for flag in FLAGS:
        per_label[flag] = _binary([t[flag] for t in truth], [p[flag] for p in pred])
    for use in USES:
        per_label[use] = _binary([use in t["uses"] for t in truth], [use in p["uses"] for p in pred])
    # A use the system names as possible reaches a person (the rules ask or send the case to review).
    flagged = [set(p["uses"]) | set(p.get("possible_uses", ())) for p in pred]
    detected = _binary([bool(t["prohibited"]) for t in truth], [bool(p["prohibited"]) for p in pred])
    tp = sum(1 for t, p in zip(truth, pred) if t["prohibited"] and p["prohibited"] == t["prohibited"])
    fp = sum(1 for t, p in zip(truth, pred) if p["prohibited"] and p["prohibited"] != t["prohibited"])
    fn = sum(1 for t, p in zip(truth, pred) if t["prohibited"] and p["prohibited"] != t["prohibited"])
    return {
        "per_label": per_label,
        "domain_macro_f1": float(np.mean([per_label[d]["f1"] for d in DOMAINS])),
        "audience_accuracy": float(np.mean([t["audience"] == p["audience"] for t, p in zip(truth, pred)])),
        "decisions_accuracy": float(np.mean([t[DECISIONS] == p[DECISIONS] for t, p in zip(truth, pred)])),
        "harmless_called_prohibited": _share([bool(p["prohibited"]) for t, p in zip(truth, pred)
                                              if not t["prohibited"]]),
        "prohibited_detection": detected,
        "prohibited_category": _prf(tp, fp, fn),
        "exact_domains": float(np.mean([sorted(t["domains"]) == sorted(p["domains"]) for t, p in zip(truth, pred)])),
        "uses": _binary([u in t["uses"] for t in truth for u in USES], [u in p["uses"] for p in pred for u in USES]),
        "uses_flagged": _binary([u in t["uses"] for t in truth for u in USES], [u in f for f in flagged for u in USES]),
        "harmless_use_flagged": _share([bool(f) for t, f in zip(truth, flagged) if not t["uses"]]),
    }


def _share(flags):
    return float(np.mean(flags)) if flags else 0.0


def prohibited_confusion(truth, pred):
    """Counts of (true category, predicted category), with ``none`` for allowed."""
    names = ("none",) + PROHIBITED
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for t, p in zip(truth, pred):
        matrix[names.index(t["prohibited"] or "none"), names.index(p["prohibited"] or "none")] += 1
    return names, matrix


def embed_by_text(example_lists, embedder, progress=None):
    """The document embedding of each distinct text in the lists, so shared texts are embedded once."""
    texts = list(dict.fromkeys(e["text"] for examples in example_lists for e in examples))
    return dict(zip(texts, embedder.embed_documents(texts, progress=progress)))


def agreement(truth, pred):
    """Share of cases whose prediction equals the label, per fact and for all five facts at once."""
    same = [{k: sorted(t[k]) == sorted(p[k]) if k in ("domains", "uses") else t[k] == p[k] for k in LABEL_FIELDS}
            for t, p in zip(truth, pred)]
    shares = {k: float(np.mean([s[k] for s in same])) for k in LABEL_FIELDS}
    shares["all"] = float(np.mean([all(s.values()) for s in same]))
    return shares


def correction_effect(shipped, merged, docs_by_text, folds=5, random_state=0):
    """What training on the reviewers' corrections changes.

    :param merged: the dict returned by :func:`classifier.overrides.merge`, with at least one correction.
    :param docs_by_text: embeddings of every text in both sets (see :func:`embed_by_text`).
    :return: ``scores`` (the embedding classifier's cross-validated scores on the merged set), ``preds`` (its
        out-of-fold predictions) and, on the corrected cases only, ``before`` (agreement of a model trained on
        every shipped example) and ``after`` (agreement of the out-of-fold predictions with the corrections in
        training).
    """
    examples, corrected = merged["examples"], merged["corrected"]
    docs = [docs_by_text[e["text"]] for e in examples]
    preds = cross_validate(examples, None, folds=folds, random_state=random_state, docs=docs, systems=())
    truth = [labels_of(e) for e in examples]
    scores = score(truth, preds["embedding"])
    before = held_out(shipped, [examples[i] for i in corrected], docs_by_text, systems=(),
                      random_state=random_state)["embedding"]
    corrected_truth = [truth[i] for i in corrected]
    return {"scores": scores, "preds": preds["embedding"],
            "before": agreement(corrected_truth, before),
            "after": agreement(corrected_truth, [preds["embedding"][i] for i in corrected])}


def read_predictions(path, examples):
    """Another model's ``predict`` output on ``examples``, in their order, as predicted label dicts.

    A fact the other model does not predict takes the value the rules would default it to.
    :raises DatasetError: when a line is not JSON or an example has no prediction.
    """
    by_id = {record.get("id"): record for _, record in read_jsonl(path) if isinstance(record, dict)}
    missing = [e["id"] for e in examples if e["id"] not in by_id or "error" in by_id[e["id"]]]
    if missing:
        raise DatasetError(f"{path}: no prediction for {len(missing)} examples (first: {missing[0]}).")
    defaults = {DECISIONS: False, "qualified_human_review": None, "uses": [], "possible_uses": [], "uncertain": []}
    return [{k: by_id[e["id"]].get(k, defaults.get(k)) for k in (*LABEL_FIELDS, "possible_uses", "uncertain")}
            for e in examples]
