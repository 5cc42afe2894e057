"""End-to-end figures: what the rules conclude from predicted facts against what they conclude from the labels."""

import datetime

import numpy as np

import rules

from .labels import LABEL_FIELDS


def _facts(labels, uncertain, possible_uses):
    return rules.build_facts({**{k: labels[k] for k in LABEL_FIELDS}, "uncertain": list(uncertain),
                              "possible_uses": list(possible_uses)})


def verdicts(labels, packs, on, uncertain=(), possible_uses=()):
    """Each vendor's verdict, and the facts it asked review on, for one case described only by its text."""
    assessment = rules.assess(_facts(labels, uncertain, possible_uses), on=on, packs=packs)
    return {vendor: (v["verdict"], v["needs_review_on"]) for vendor, v in assessment["vendors"].items()}


def end_to_end(truth, pred, packs=None, on=None):
    """Per vendor: how often the verdict from predicted facts equals the verdict from the labelled facts, the share
    of cases sent to ``needs_review`` by the classifier's uncertainty, and the share sent there although the
    labelled facts give a clear verdict.

    :param truth: labelled facts per case.
    :param pred: predicted facts per case, with ``uncertain`` where the system reports it.
    """
    packs = packs or rules.default_packs()
    on = on or datetime.date.today()
    rows = {}
    for t, p in zip(truth, pred):
        right = verdicts(t, packs, on)
        got = verdicts(p, packs, on, p.get("uncertain", ()), p.get("possible_uses", ()))
        # Sent to review by uncertainty: the same predictions, taken as certain, would not have been.
        sure = verdicts(p, packs, on)
        for vendor, (verdict, _) in got.items():
            row = rows.setdefault(vendor, {"same": [], "uncertain": [], "needless": []})
            row["same"].append(verdict == right[vendor][0])
            row["uncertain"].append(verdict == "needs_review" and sure[vendor][0] != "needs_review")
            row["needless"].append(verdict == "needs_review" and right[vendor][0] != "needs_review")
    return {vendor: {"agreement": float(np.mean(r["same"])), "review_from_uncertainty": float(np.mean(r["uncertain"])),
                     "review_needless": float(np.mean(r["needless"])), "cases": len(r["same"])}
            for vendor, r in sorted(rows.items())}
