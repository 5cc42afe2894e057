"""The engine: from a case's facts to a verdict per vendor, its safeguards and the clauses behind them.

``assess`` is pure: no I/O once the packs are loaded, and the same facts, date and packs always
give the same answer.
"""

import datetime

from . import conditions
from .facts import FACT_NAMES, FactView
from .packs import VERDICTS

__all__ = ["TIERS", "VERDICTS", "assess", "assessment_day", "trace"]

# The overall tier is the strictest vendor verdict, renamed for people who read risk registers.
TIERS = {
    "allowed": "low",
    "allowed_with_safeguards": "medium",
    "needs_review": "high",
    "prohibited": "prohibited",
}


def _strictest(verdicts):
    return max(verdicts, key=VERDICTS.index, default="allowed")


def _matters(rule):
    """Whether firing the rule changes anything: an allowing rule with no safeguards only explains."""
    return rule.verdict not in (None, "allowed") or bool(rule.safeguards)


def _merge_clauses(target, clauses, pack_id):
    for clause in clauses:
        entry = clause.to_dict()
        if clause.pack != pack_id:
            # An earlier version's text the newer one did not restate: say whose wording it is.
            entry["section"] = f"{entry['section']} ({clause.pack} wording, carried into {pack_id})"
        if entry not in target:
            target.append(entry)


def _vendor(pack, view):
    outcomes = [(rule, conditions.evaluate(rule.when, view)) for rule in pack.rules]
    certain = [rule.verdict for rule, truth in outcomes if truth.value and truth.certain]
    verdict = _strictest(certain)
    unsure = set()
    for rule, truth in outcomes:
        if not truth.certain and _matters(rule):
            unsure |= truth.unsure
        elif truth.value and rule.verdict == "needs_review":
            # A rule that asks for review by itself: point the reviewer at what it read.
            unsure |= {leaf["fact"].partition(".")[0] for leaf in conditions.leaves(rule.when)}
    if unsure and verdict != "prohibited":
        verdict = _strictest([verdict, "needs_review"])
    safeguards = {}
    if verdict != "prohibited":
        for rule, truth in outcomes:
            if not truth.value:
                continue
            for name in rule.safeguards:
                measure = pack.safeguards[name]
                entry = safeguards.setdefault(name, {"id": name, "title": measure.title,
                                                     "action": measure.action, "clauses": []})
                _merge_clauses(entry["clauses"], measure.clauses, pack.id)
                _merge_clauses(entry["clauses"], rule.clauses, pack.id)
    order = {name: i for i, name in enumerate(FACT_NAMES)}
    return {
        "verdict": verdict,
        "pack": pack.id,
        "rules": [rule.id for rule, truth in outcomes if truth.value],
        "safeguards": list(safeguards.values()),
        "needs_review_on": sorted(unsure, key=lambda f: order.get(f, len(order)))
        if verdict == "needs_review" else [],
    }


def _advisories(packs, vendor, day, view, used):
    found = {}
    for pack in packs.in_force(vendor, day, kind="advisory"):
        used.append(pack.id)
        for rule in pack.rules:
            if not conditions.evaluate(rule.when, view).value:
                continue
            measure = pack.advisories[rule.advisory]
            entry = found.setdefault(rule.advisory, {
                "id": measure.id, "title": measure.title, "action": measure.action,
                "vendor": vendor, "pack": pack.id, "rules": [], "clauses": []})
            entry["rules"].append(rule.id)
            _merge_clauses(entry["clauses"], measure.clauses, pack.id)
            _merge_clauses(entry["clauses"], rule.clauses, pack.id)
    return list(found.values())


def _resolve(facts, on, packs):
    if packs is None:
        from . import current_packs

        packs = current_packs()
    view = FactView(facts)
    return view, _day(view, on), packs


def assessment_day(facts, on=None):
    """The day whose packs apply: ``on`` (a date or ISO string) when given, else the ``effective_date`` fact,
    else today. Every assessment picks its day here."""
    return _day(FactView(facts), on)


def _day(view, on):
    if isinstance(on, str):
        on = datetime.date.fromisoformat(on)
    if isinstance(on, datetime.datetime):
        on = on.date()  # a datetime does not compare with the packs' dates
    return on or view.effective_date() or datetime.date.today()


def assess(facts, on=None, packs=None):
    """Assess a case's facts against the policy packs in force.

    :param facts: a dict from :func:`rules.build_facts`; malformed entries count as missing.
    :param on: the date whose packs apply (a date or ISO string); default the
        ``effective_date`` fact, else today.
    :param packs: a :class:`rules.Packs`; default the app's packs in an app context, else the
        packs in the repo's data/policies (loaded once per process).
    :return: ``{"tier", "vendors": {vendor: {"verdict", "pack", "rules", "safeguards",
        "needs_review_on"}}, "advisories", "packs"}``.
    """
    view, day, packs = _resolve(facts, on, packs)
    vendors, used, advisories = {}, [], []
    for vendor in view.vendors():
        pack = packs.policy(vendor, day)
        if pack is None:
            # No policy version covers the date, so nobody can say what the vendor allows.
            vendors[vendor] = {"verdict": "needs_review", "pack": None, "rules": [],
                               "safeguards": [], "needs_review_on": ["effective_date"]}
        else:
            vendors[vendor] = _vendor(pack, view)
            used.append(pack.id)
    for vendor in vendors:
        advisories.extend(_advisories(packs, vendor, day, view, used))
    verdict = _strictest(v["verdict"] for v in vendors.values())
    return {"tier": TIERS[verdict], "vendors": vendors, "advisories": advisories, "packs": used}


def _tests(cond, negated=False):
    """Each fact test in ``cond`` with whether it sits under an odd number of ``not``."""
    if "fact" in cond:
        return [(cond, negated)]
    if "not" in cond:
        return _tests(cond["not"], not negated)
    return [pair for part in cond.get("all", cond.get("any", [])) for pair in _tests(part, negated)]


def trace(facts, on=None, packs=None):
    """Every rule of every pack in force, whether it fired, and the facts each test read.

    :return: a list of ``{"vendor", "pack", "rule", "verdict", "fired", "unsure", "tests"}``; each
        test is ``{"test", "fact", "value", "source", "result"}``.
    """
    view, day, packs = _resolve(facts, on, packs)
    rows = []
    for vendor in view.vendors():
        pack_list = [p for p in (packs.policy(vendor, day),) if p]
        pack_list += packs.in_force(vendor, day, kind="advisory")
        for pack in pack_list:
            for rule in pack.rules:
                truth = conditions.evaluate(rule.when, view)
                tests = []
                for leaf, negated in _tests(rule.when):
                    name = leaf["fact"].partition(".")[0]
                    label = conditions.describe(leaf)
                    tests.append({"test": f"not {label}" if negated else label, "fact": leaf["fact"],
                                  "value": view.value(leaf["fact"]),
                                  "source": view.entry(name).get("source"),
                                  "result": conditions.evaluate(leaf, view).value != negated})
                rows.append({"vendor": vendor, "pack": pack.id, "rule": rule.id,
                             "verdict": rule.verdict or f"advisory {rule.advisory}",
                             "fired": truth.value, "unsure": sorted(truth.unsure), "tests": tests})
    return rows
