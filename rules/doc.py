"""The rule-by-rule table of docs/policies.md, written from the packs so it cannot drift from them.

``make docs`` runs cog, which calls :func:`rule_table`; ``make test`` checks the page is current.
"""

__all__ = ["rule_table"]


def _ref(clause, pack):
    """A clause as a pack file cites it: bare when local, ``other-pack:clause`` when quoted from an older pack."""
    return f"`{clause.id}`" if clause.pack == pack.id else f"`{clause.pack}:{clause.id}`"


def _emits(rule):
    if rule.advisory:
        return f"advisory `{rule.advisory}`"
    said = rule.verdict
    if rule.safeguards:
        said += " + " + ", ".join(f"`{name}`" for name in rule.safeguards)
    return said


def _pack_table(pack):
    note = "; quotes translated from Chinese" if pack.language == "zh" else ""
    lines = [f"**`{pack.id}`** (`{pack.source}`{note})", "",
             "| rule | emits | cites |", "| --- | --- | --- |"]
    lines += [f"| `{rule.id}` | {_emits(rule)} | {', '.join(_ref(c, pack) for c in rule.clauses)} |"
              for rule in pack.rules]
    measures = {**pack.safeguards, **pack.advisories}
    if measures:
        label = "Safeguards and advisories cite" if pack.advisories else "Safeguards cite"
        cites = "; ".join(
            f"`{m.id}` → " + (", ".join(_ref(c, pack) for c in m.clauses) or "the rules' clauses")
            for m in measures.values())
        lines += ["", f"{label}: {cites}."]
    return "\n".join(lines)


def rule_table(packs):
    """Markdown: per pack, policy packs first, each rule with what it emits and the clauses it cites.

    :param packs: a :class:`rules.Packs`, e.g. ``rules.load_packs()``.
    """
    ordered = sorted(packs, key=lambda p: (p.kind != "policy", p.vendor, p.effective_from))
    return "\n\n".join(_pack_table(pack) for pack in ordered) + "\n"
