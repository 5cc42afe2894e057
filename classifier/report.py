"""The evaluation report: a Markdown file and a PNG chart."""

import datetime
from pathlib import Path

import numpy as np

from .evaluate import SYSTEMS, prohibited_confusion
from .labels import DOMAINS, FLAGS, USES

_NAMES = {"embedding": "Embedding classifier", "tfidf": "TF-IDF + logistic regression", "keywords": "Keyword list"}


# The summary figures, each read from a dict returned by :func:`classifier.evaluate.score`.
ROWS = (
    ("Domain macro-F1", lambda s: s["domain_macro_f1"]),
    ("Domains exactly right", lambda s: s["exact_domains"]),
    ("Audience accuracy", lambda s: s["audience_accuracy"]),
    ("Prohibited detection precision", lambda s: s["prohibited_detection"]["precision"]),
    ("Prohibited detection recall", lambda s: s["prohibited_detection"]["recall"]),
    ("Prohibited category precision", lambda s: s["prohibited_category"]["precision"]),
    ("Prohibited category recall", lambda s: s["prohibited_category"]["recall"]),
    ("Chatbot F1", lambda s: s["per_label"]["chatbot"]["f1"]),
    ("Minors F1", lambda s: s["per_label"]["minors"]["f1"]),
    ("Uses micro-F1 (sure)", lambda s: s["uses"]["f1"]),
    ("Uses named sure or possible, recall", lambda s: s["uses_flagged"]["recall"]),
    ("Cases showing no use given one, sure or possible", lambda s: s["harmless_use_flagged"]),
)
AGREEMENT_ROWS = (("domains", "Domains (exact)"), ("audience", "Audience"), ("prohibited", "Prohibited"),
                  ("chatbot", "Chatbot"), ("minors", "Minors"), ("all", "All five facts"))


def _pct(x):
    return f"{100 * x:.1f}"


def render_markdown(scores, meta, overrides=None, real=None):
    """The report text.

    :param scores: system -> the dict returned by :func:`classifier.evaluate.score`.
    :param meta: a dict with ``examples``, ``folds``, ``model_version``, ``embedder``, ``seconds`` and ``chart``.
    :param overrides: when the reviewers' corrections were evaluated, the dict :func:`render_overrides` takes.
    :param real: the real-text validation figures: ``examples``, ``systems``, ``scores`` and ``end_to_end``.
    """
    lines = [
        "# Classifier evaluation",
        "",
        f"Stratified {meta['folds']}-fold cross-validation on {meta['examples']} labelled examples "
        f"(`data/training/examples.jsonl`), run {datetime.date.today().isoformat()} in {meta['seconds']:.0f} s. "
        f"Embedder: {meta['embedder']}; model version `{meta['model_version']}`. "
        "All three systems are trained and tested on the same folds. Figures are percentages.",
        "",
        "## Summary",
        "",
        "| figure | " + " | ".join(_NAMES[s] for s in SYSTEMS) + " |",
        "| --- | " + " | ".join("---:" for _ in SYSTEMS) + " |",
    ]
    for name, get in ROWS:
        lines.append(f"| {name} | " + " | ".join(_pct(get(scores[s])) for s in SYSTEMS) + " |")
    best = max(SYSTEMS, key=lambda s: scores[s]["domain_macro_f1"])
    lines += ["", f"Best domain macro-F1: **{_NAMES[best]}**.", "", "## Per label", ""]
    lines.append("| label | support | " + " | ".join(f"{_NAMES[s]} P / R / F1" for s in SYSTEMS) + " |")
    lines.append("| --- | ---: | " + " | ".join("---" for _ in SYSTEMS) + " |")
    for label in DOMAINS + ("chatbot", "minors") + USES:
        cells = []
        for s in SYSTEMS:
            m = scores[s]["per_label"][label]
            cells.append(f"{_pct(m['precision'])} / {_pct(m['recall'])} / {_pct(m['f1'])}")
        support = scores[SYSTEMS[0]]["per_label"][label]["support"]
        lines.append(f"| {label} | {support} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Prohibited detection counts any prohibited category as a hit; category figures count a hit only "
        "when the category is the right one.",
        "",
        f"![per-label F1 and prohibited confusion matrix]({meta['chart']})",
        "",
    ]
    if real is not None:
        lines += render_real(real)
    if overrides is not None:
        lines += render_overrides(scores["embedding"], overrides, meta["folds"])
    return "\n".join(lines)


REAL_ROWS = ROWS[:3] + (
    ("Decisions about individuals accuracy", lambda s: s["decisions_accuracy"]),
    ("Decisions about individuals F1", lambda s: s["per_label"]["decisions_about_individuals"]["f1"]),
    ("Harmless cases called prohibited", lambda s: s["harmless_called_prohibited"]),
) + ROWS[3:]


def render_real(real):
    """The section on the real-text validation set, as a list of Markdown lines."""
    systems = real["systems"]
    names = [_NAMES.get(s, s) for s in systems]
    lines = [
        "## Real descriptions (validation set)",
        "",
        f"{real['examples']} hand-labelled real descriptions (`data/validation/real.jsonl`) that never enter "
        "training. The three systems above are trained on every training example and tested here once.",
        "",
        "| figure | " + " | ".join(names) + " |",
        "| --- | " + " | ".join("---:" for _ in systems) + " |",
    ]
    for name, get in REAL_ROWS:
        lines.append(f"| {name} | " + " | ".join(_pct(get(real["scores"][s])) for s in systems) + " |")
    lines += ["", "| label | support | " + " | ".join(f"{n} P / R / F1" for n in names) + " |",
              "| --- | ---: | " + " | ".join("---" for _ in systems) + " |"]
    for label in DOMAINS + FLAGS + USES:
        cells = []
        for s in systems:
            m = real["scores"][s]["per_label"][label]
            cells.append(f"{_pct(m['precision'])} / {_pct(m['recall'])} / {_pct(m['f1'])}")
        support = real["scores"][systems[0]]["per_label"][label]["support"]
        lines.append(f"| {label} | {support} | " + " | ".join(cells) + " |")
    lines += ["", "### End to end", "",
              "Each case is assessed by the policy packs in force today twice: on the predicted facts (with the "
              "classifier's uncertainty) and on the labelled facts, with no questionnaire answers, as through the "
              "API with only a description.", "",
              "| system | vendor | verdict equal | needs_review from uncertainty | needs_review where the labels "
              "give a clear verdict |", "| --- | --- | ---: | ---: | ---: |"]
    for s, name in zip(systems, names):
        for vendor, e in real["end_to_end"][s].items():
            lines.append(f"| {name} | {vendor} | {_pct(e['agreement'])} | {_pct(e['review_from_uncertainty'])} | "
                         f"{_pct(e['review_needless'])} |")
    return lines + [""]


def render_overrides(shipped, overrides, folds):
    """The section on reviewers' corrections, as a list of Markdown lines.

    :param shipped: the embedding classifier's cross-validated scores on the shipped examples only.
    :param overrides: ``source`` and ``corrections``; with corrections also ``replaced``, ``added``, ``examples``,
        ``model_version`` and the ``scores``, ``before`` and ``after`` of :func:`classifier.evaluate.correction_effect`.
    """
    lines = ["## Reviewer corrections", ""]
    if not overrides["corrections"]:
        return lines + [f"No reviewer corrections in `{overrides['source']}`: the figures above are the only ones.",
                        ""]
    n, merged = overrides["corrections"], overrides["scores"]
    lines += [
        f"{n} corrections from `{overrides['source']}` ({overrides['replaced']} relabelling shipped examples, "
        f"{overrides['added']} new cases); {overrides['examples']} examples in all, model version "
        f"`{overrides['model_version']}`. Embedding classifier, figures are percentages.",
        "",
        f"| figure | (a) shipped only, {folds}-fold CV | (b) shipped + corrections, {folds}-fold CV |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {_pct(get(shipped))} | {_pct(get(merged))} |" for name, get in ROWS]
    lines += [
        "",
        "(a) and (b) are tested on different sets: (b) also holds the corrected cases, which reviewers picked "
        "because the classifier got them wrong.",
        "",
        f"On the {n} corrected cases, the share whose prediction equals the reviewer's label:",
        "",
        "| fact | (c) model trained without corrections | (c) cross-validated, corrections in training |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {label} | {_pct(overrides['before'][key])} | {_pct(overrides['after'][key])} |"
              for key, label in AGREEMENT_ROWS]
    lines += [
        "",
        "The first column is the model served before the corrections, trained on every shipped example; a "
        "correction that relabels a shipped example was in its training data with the old labels. The second "
        "predicts each corrected case with a model that saw the other corrections but not that case.",
        "",
    ]
    return lines


def render_chart(scores, truth, embedding_pred, path):
    """Per-label F1 of every system beside the embedding classifier's prohibited confusion matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = DOMAINS + ("chatbot", "minors")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(16, 6.5), gridspec_kw={"width_ratios": [1.1, 1]})
    width = 0.27
    x = np.arange(len(labels))
    for i, system in enumerate(SYSTEMS):
        values = [scores[system]["per_label"][label]["f1"] for label in labels]
        ax1.bar(x + (i - 1) * width, values, width, label=_NAMES[system])
    ax1.set_xticks(x, labels, rotation=35, ha="right")
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("F1 (cross-validated)")
    ax1.set_title("Per-label F1", pad=34)
    ax1.legend(loc="lower center", bbox_to_anchor=(0.5, 1.07), ncol=3, frameon=False)
    names, matrix = prohibited_confusion(truth, embedding_pred)
    ax2.imshow(matrix, cmap="Blues")
    ax2.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax2.set_yticks(range(len(names)), names, fontsize=7)
    ax2.set_xlabel("predicted")
    ax2.set_ylabel("true")
    ax2.set_title("Prohibited category, embedding classifier")
    for (r, c), v in np.ndenumerate(matrix):
        if v:
            colour = "black" if v < matrix.max() / 2 else "white"
            ax2.text(c, r, str(v), ha="center", va="center", fontsize=6, color=colour)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
