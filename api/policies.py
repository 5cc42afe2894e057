"""Policy packs as GET /policies and GET /health show them."""



def _ref(clause):
    return f"{clause.pack}:{clause.id}"


def _measures(table):
    return [{"id": m.id, "title": m.title, "action": m.action, "clauses": [_ref(c) for c in m.clauses]}
            for m in table.values()]


def pack_view(pack):
    """A pack as GET /policies shows it; clause references are ``pack:clause``."""
    return {
        "id": pack.id, "vendor": pack.vendor, "kind": pack.kind, "title": pack.title,
        # Flask would write dates as HTTP dates; the schema says ISO 8601.
        "effective_from": pack.effective_from.isoformat(),
        "effective_until": pack.effective_until.isoformat() if pack.effective_until else None,
        "source": pack.source, "language": pack.language,
        "clauses": [{"id": c.id, "section": c.section, "quote": c.quote} for c in pack.clauses.values()],
        "rules": [{"id": r.id, "description": r.description, "when": r.when, "verdict": r.verdict,
                   "safeguards": list(r.safeguards), "advisory": r.advisory, "clauses": [_ref(c) for c in r.clauses]}
                  for r in pack.rules],
        "safeguards": _measures(pack.safeguards), "advisories": _measures(pack.advisories),
    }


def packs_in_force(packs, day):
    """Every pack in force on ``day``: each vendor's policy and its advisory packs."""
    found = []
    for vendor in packs.vendors:
        found += packs.in_force(vendor, day) + packs.in_force(vendor, day, kind="advisory")
    return found
