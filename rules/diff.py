"""What changes between two packs, and which stored cases a new pack would answer differently."""

import json

from .engine import assess
from .facts import build_facts, coerce_facts
from .screen import possible_uses

__all__ = ["REASSESS_COLUMNS", "diff_packs", "reassess_cases"]

REASSESS_COLUMNS = ("case", "title", "vendor", "old_verdict", "new_verdict", "old_pack",
                    "new_pack", "safeguards_added", "safeguards_removed", "advisories_added",
                    "advisories_removed")


def _shape(rule):
    # Clauses compare by text, so citing the 2024 clause or a copy of it is no change.
    return {"when": rule.when, "verdict": rule.verdict or f"advisory {rule.advisory}",
            "safeguards": list(rule.safeguards),
            "clauses": [f"{c.section}: {c.quote}" for c in rule.clauses]}


def diff_packs(old, new):
    """Rules (by id) and safeguards added, removed and changed from pack ``old`` to pack ``new``.

    :return: ``{"added": [rule ids], "removed": [...], "changed": [{"id", "fields": {field:
        [old, new]}}], "unchanged": [...], "safeguards_added": [...], "safeguards_removed": [...]}``
    """
    before = {rule.id: _shape(rule) for rule in old.rules}
    after = {rule.id: _shape(rule) for rule in new.rules}
    changed, unchanged = [], []
    for rid, shape in after.items():
        if rid not in before:
            continue
        fields = {key: [before[rid][key], value] for key, value in shape.items()
                  if before[rid][key] != value}
        if fields:
            changed.append({"id": rid, "fields": fields})
        else:
            unchanged.append(rid)
    old_measures = {**old.safeguards, **old.advisories}
    new_measures = {**new.safeguards, **new.advisories}
    return {
        "added": [rid for rid in after if rid not in before],
        "removed": [rid for rid in before if rid not in after],
        "changed": changed,
        "unchanged": unchanged,
        "safeguards_added": [m for m in new_measures if m not in old_measures],
        "safeguards_removed": [m for m in old_measures if m not in new_measures],
    }


def _ids(items):
    return [item.get("id") for item in items if isinstance(item, dict)]


def _compare(case, vendor, old, new):
    """One report row when ``new`` answers ``vendor`` differently from ``old``, else None."""
    was = (old.get("vendors") or {}).get(vendor) or {}
    now = new["vendors"].get(vendor) or {}
    if not now:
        return None
    old_guards, new_guards = _ids(was.get("safeguards") or []), _ids(now.get("safeguards") or [])
    old_adv = [a.get("id") for a in old.get("advisories") or [] if a.get("vendor") == vendor]
    new_adv = [a["id"] for a in new["advisories"] if a["vendor"] == vendor]
    row = {
        "case": case.get("id"), "title": case.get("title") or "", "vendor": vendor,
        "old_verdict": was.get("verdict") or "", "new_verdict": now["verdict"],
        "old_pack": was.get("pack") or "", "new_pack": now["pack"] or "",
        "safeguards_added": [g for g in new_guards if g not in old_guards],
        "safeguards_removed": [g for g in old_guards if g not in new_guards],
        "advisories_added": [a for a in new_adv if a not in old_adv],
        "advisories_removed": [a for a in old_adv if a not in new_adv],
    }
    if row["old_verdict"] == row["new_verdict"] and not any(
            row[key] for key in REASSESS_COLUMNS[7:]):
        return None
    return row


def _load(text):
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _facts(case):
    """The case's facts as the rules build them today, or None when they cannot be read.

    A case that keeps its classification, answers and overrides is rebuilt from them, so changes in
    how facts are read (a new fact, an unknown that now counts) show up; otherwise its stored facts.
    """
    classification = _load(case.get("classification"))
    try:
        if classification is not None:
            if "possible_uses" not in classification and isinstance(case.get("description"), str):
                classification = {**classification, "possible_uses": possible_uses(case["description"])}
            return build_facts(classification, _load(case.get("answers")), _load(case.get("overrides")))
        facts = _load(case.get("facts"))
        return coerce_facts(facts) if facts is not None else None
    except ValueError:
        return None


def reassess_cases(cases, packs, pack, on, baseline=None):
    """Assess stored cases under ``packs`` (which include ``pack``) and report what would change.

    :param cases: dicts with ``id``, ``title``, ``facts`` and ``assessment`` (JSON text or dicts), and
        when kept ``classification``, ``answers``, ``overrides`` and ``description`` to rebuild the facts.
    :param pack: the new :class:`~rules.packs.Pack`; only its vendor's answers are compared.
    :param on: the date to assess on, normally the new pack's ``effective_from``.
    :param baseline: packs for cases that have no stored assessment to compare with.
    :return: ``(rows, skipped)``: one row per changed case (keys REASSESS_COLUMNS), and the ids
        of cases whose facts could not be read.
    """
    rows, skipped = [], []
    for case in cases:
        facts = _facts(case)
        if facts is None:
            skipped.append(case.get("id"))
            continue
        new = assess(facts, on=on, packs=packs)
        old = _load(case.get("assessment"))
        if old is None and baseline is not None:
            old = assess(facts, on=on, packs=baseline)
        row = _compare(case, pack.vendor, old or {}, new)
        if row:
            rows.append(row)
    return rows, skipped
