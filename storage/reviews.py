"""The reviewer's side of cases: the queue, assignment, fact overrides and decisions.

Every action checks the case ``version`` the reviewer saw, so when two reviewers act on the same case at
once the second is refused with :class:`~storage.cases.VersionConflict` and nothing is overwritten.
"""

import datetime
import json
import statistics

from classifier.labels import DECISIONS, PREDICTED_FACTS, USES

from . import audit, clock, write_transaction
from .cases import CaseError, CaseNotFound, TransitionError, check_version, set_state
from .clock import now_iso
from .masking import mask

QUEUE_STATES = ("submitted", "in_review", "changes_requested")
ALL_STATES = ("submitted", "in_review", "changes_requested", "approved", "rejected")


def queue(db, state=None, domain=None, verdict=None, vendor=None, older_than=None, now=None, states=QUEUE_STATES):
    """Cases waiting for review, oldest submission first, each with ``waiting`` (a timedelta).

    :param state: one state; default all of ``states``.
    :param domain: only cases whose facts name this domain.
    :param verdict: only cases where some vendor (or ``vendor``) has this verdict.
    :param vendor: only cases assessed for this vendor.
    :param older_than: only cases waiting at least this many days.
    """
    where, args = [], []
    states = [state] if state else list(states)
    where.append(f"state in ({', '.join('?' for _ in states)})")
    args += states
    if domain:
        where.append("exists (select 1 from json_each(cases.facts, '$.domains.value') where value = ?)")
        args.append(domain)
    if vendor:
        where.append("json_extract(cases.assessment, ?) is not null")
        args.append(f'$.vendors."{vendor}"')
    if verdict:
        where.append("exists (select 1 from json_each(cases.assessment, '$.vendors') "
                     "where json_extract(value, '$.verdict') = ? and (? is null or key = ?))")
        args += [verdict, vendor, vendor]
    # Only fixed SQL and "?" placeholders are formatted in; every value is bound.
    sql = ("select id, title, external_ref, state, submitter_email, assignee_email, submitted_at, created_at, "
           "assessment, facts, decision "
           f"from cases where {' and '.join(where)} order by coalesce(submitted_at, created_at), id")  # nosec B608
    now = now or clock.now()
    items = []
    for row in db.query(sql, args):
        assessment = json.loads(row.pop("assessment") or "{}")
        facts = json.loads(row.pop("facts") or "{}")
        since = datetime.datetime.fromisoformat(row["submitted_at"] or row["created_at"])
        row["decision"] = json.loads(row["decision"]) if row["decision"] else None
        row.update({"tier": assessment.get("tier"), "domains": facts.get("domains", {}).get("value", []),
                    "verdicts": {v: a.get("verdict") for v, a in assessment.get("vendors", {}).items()},
                    "waiting": now - since})
        if older_than is None or row["waiting"] >= datetime.timedelta(days=older_than):
            items.append(row)
    return items


def _row(db, case_id):
    rows = list(db.query("select * from cases where id = ?", [case_id]))
    if not rows:
        raise CaseNotFound(f"No case {case_id}.")
    return rows[0]


class DutiesError(CaseError):
    """Separation of duties: the reviewer may not act on this case (they submitted it, or another holds it)."""

    status = 403


def _check_duties(row, reviewer_email, reviewer_id=None, admin=False, allow_self_review=False, holder=True):
    """Refuse an action that would let one person both submit and review a case; returns True for the submitter.

    The submitter is matched by account and by e-mail, since an API client names the submitter by e-mail.
    :param holder: the action needs the case's reviewer: another reviewer's case is refused unless ``admin``.
    """
    email = (reviewer_email or "").strip().lower()
    own = ((reviewer_id is not None and row.get("submitter_id") == reviewer_id)
           or (row.get("submitter_email") or "").strip().lower() == email)
    if own and not allow_self_review:
        raise DutiesError("You submitted this case, so someone else must review it.")
    assignee = (row.get("assignee_email") or "").strip().lower()
    if holder and assignee and assignee != email and not admin:
        raise DutiesError(f"This case is assigned to {row['assignee_email']}; only they or an admin may act on it.")
    return own


def assign(db, case_id, reviewer_email, version, *, reviewer_id=None, admin=False, allow_self_review=False):
    """Make ``reviewer_email`` the case's reviewer; a submitted case moves to ``in_review``.

    :raises DutiesError: the reviewer submitted the case, or (unless ``admin``) another reviewer holds it.
    """
    with write_transaction(db):
        row = _row(db, case_id)
        check_version(row, version)
        if row["state"] not in ("submitted", "in_review"):
            raise TransitionError(f"A {row['state'].replace('_', ' ')} case cannot be assigned; only submitted "
                                  "cases and cases in review can.")
        _check_duties(row, reviewer_email, reviewer_id, admin, allow_self_review)
        audit.record(db, reviewer_email, "assign", case_id, {"assignee": row["assignee_email"]},
                     {"assignee": reviewer_email})
        if row["state"] == "submitted":
            return set_state(db, case_id, "in_review", reviewer_email, version=version,
                             changes={"assignee_email": reviewer_email})
        db.execute("update cases set assignee_email = ?, version = version + 1, updated_at = ? where id = ?",
                   [reviewer_email, now_iso(), case_id])


def decide(db, case_id, new_state, reviewer_email, version, note=None, conditions=None, *, reviewer_id=None,
           admin=False, allow_self_review=False):
    """Approve (with ``conditions``), reject or request changes (with ``note``).

    The decision (repeated in the audit row) says who decided, and whether they had submitted the case
    themselves (allowed only with ``allow_self_review``) or decided a case another reviewer held (admins).
    :raises DutiesError: as :func:`assign`.
    """
    note_masked = mask(note)
    with write_transaction(db):
        row = _row(db, case_id)
        own = _check_duties(row, reviewer_email, reviewer_id, admin, allow_self_review)
        decision = {"state": new_state, "by": reviewer_email, "at": now_iso(), "note": note_masked,
                    "conditions": conditions or []}
        if own:
            decision["self_review"] = True
        if row.get("assignee_email") and row["assignee_email"].lower() != reviewer_email.lower():
            decision["assignee"] = row["assignee_email"]
        return set_state(db, case_id, new_state, reviewer_email, note=note, version=version,
                         changes={"decision": json.dumps(decision)})


def override_fact(db, case_id, fact, value, reason, reviewer_email, version, *, reassess, reviewer_id=None,
                  admin=False, allow_self_review=False):
    """Override one fact, re-run the rules and keep the correction as a labelled example.

    :param reassess: ``reassess(classification, answers, overrides) -> (facts, assessment)``, i.e.
        :func:`assessment.reassess`: storage keeps the new assessment, it does not make it.
    :raises assessment.AssessmentError: from ``reassess``: the fact cannot be overridden or the value is not
        one it may take.
    :raises DutiesError: as :func:`assign`.
    """
    reason = mask(reason)
    with write_transaction(db):
        row = _row(db, case_id)
        check_version(row, version)
        _check_duties(row, reviewer_email, reviewer_id, admin, allow_self_review)
        overrides = json.loads(row["overrides"] or "{}")
        overrides[fact] = {"value": value, "reason": reason, "by": reviewer_email}
        classification = json.loads(row["classification"] or "null")
        answers = json.loads(row["answers"] or "{}")
        facts, assessment = reassess(classification, answers, overrides)
        old_facts = json.loads(row["facts"] or "{}")
        before = old_facts.get(fact, {}).get("value")
        db.execute("update cases set overrides = ?, facts = ?, assessment = ?, version = version + 1, "
                   "updated_at = ? where id = ?",
                   [json.dumps(overrides), json.dumps(facts), json.dumps(assessment), now_iso(), case_id])
        db["fact_overrides"].insert({"case_id": case_id, "fact": fact, "value": json.dumps(facts[fact]["value"]),
                                     "previous": json.dumps(before), "reason": reason, "by": reviewer_email,
                                     "description": row["description"], "at": now_iso()})
        audit.record(db, reviewer_email, "override", case_id, {"fact": fact, "value": before},
                     {"fact": fact, "value": facts[fact]["value"], "reason": reason,
                      "tier": assessment["tier"]})


def similar(db, case_id, k=5, scan=2000):
    """The ``k`` other submitted cases whose descriptions are nearest to this one's, with their decisions.

    Only vectors made by the same model are compared; a case without one has no neighbours.
    :param scan: compare with at most this many other cases, the newest: every vector is decoded on each
        case page, so the cost of a page must not grow with the whole history.
    """
    rows = list(db.query("select embedding, embedding_model from cases where id = ?", [case_id]))
    if not rows or not rows[0]["embedding"]:
        return []
    import numpy as np

    target = np.asarray(json.loads(rows[0]["embedding"]), dtype=np.float32)
    others = list(db.query("select id, title, state, decision, embedding from cases where id != ? and "
                           "embedding_model = ? and state != 'draft' order by id desc limit ?",
                           [case_id, rows[0]["embedding_model"], scan]))
    if not others:
        return []
    matrix = np.asarray([json.loads(o["embedding"]) for o in others], dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(target) or 1.0)
    scores = matrix @ target / np.where(norms == 0, 1.0, norms)
    found = []
    for i in np.argsort(-scores)[:k]:
        other = others[int(i)]
        decision = json.loads(other["decision"]) if other["decision"] else None
        found.append({"id": other["id"], "title": other["title"], "state": other["state"],
                      "similarity": float(scores[i]), "decision": decision})
    return found


DECIDED = ("approved", "rejected")


def stats(cases, db):
    """Counts by state, domain, vendor verdict; median days from submission to decision; disagreement.

    :param cases: rows from :func:`queue` (already filtered).
    """
    by_state, by_domain, by_verdict = {}, {}, {}
    for case in cases:
        by_state[case["state"]] = by_state.get(case["state"], 0) + 1
        for domain in case["domains"]:
            by_domain[domain] = by_domain.get(domain, 0) + 1
        for vendor, verdict in case["verdicts"].items():
            key = f"{vendor}: {verdict}"
            by_verdict[key] = by_verdict.get(key, 0) + 1
    durations = []
    for case in cases:
        decision = case.get("decision")
        if case["state"] in DECIDED and decision and case["submitted_at"]:
            start = datetime.datetime.fromisoformat(case["submitted_at"])
            durations.append((datetime.datetime.fromisoformat(decision["at"]) - start).total_seconds() / 86400)
    overridden, per_fact = set(), {}
    for row in _overrides(db, cases):
        overridden.add(row["case_id"])
        per_fact[row["fact"]] = per_fact.get(row["fact"], 0) + 1
    reviewed = _taken_up(cases, overridden)
    return {"total": len(cases), "by_state": by_state, "by_domain": by_domain, "by_verdict": by_verdict,
            "median_days_to_decision": statistics.median(durations) if durations else None,
            "disagreement_rate": len(overridden) / len(reviewed) if reviewed else None,
            "overrides_by_fact": per_fact}


def _overrides(db, cases):
    """The ``(case_id, fact)`` rows of every override on ``cases``."""
    ids = [c["id"] for c in cases]
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    # Only fixed SQL and "?" placeholders are formatted in; every value is bound.
    return list(db.query(f"select case_id, fact from fact_overrides where case_id in ({marks})", ids))  # nosec B608


def _taken_up(cases, overridden):
    """Cases a reviewer took up: past ``submitted``, assigned, or overridden.

    A case sent back and resubmitted is ``submitted`` again but was reviewed; counting it keeps rates at most 1.
    """
    return [c for c in cases if c["state"] != "submitted" or c.get("assignee_email") or c["id"] in overridden]


def fact_disagreement(cases, db):
    """How often reviewers disagreed with each predicted fact: cases with it overridden / cases taken up.

    :param cases: rows from :func:`queue` (already filtered).
    :return: ``{"reviewed": n, "facts": [{"fact", "overridden", "rate"}, ...]}`` in
        :data:`classifier.labels.PREDICTED_FACTS` order; a rate is None while no case was taken up.
    """
    pairs = {(row["case_id"], row["fact"]) for row in _overrides(db, cases)}
    reviewed = len(_taken_up(cases, {case_id for case_id, _ in pairs}))
    facts = []
    for name in PREDICTED_FACTS:
        count = sum(1 for _, fact in pairs if fact == name)
        facts.append({"fact": name, "overridden": count, "rate": count / reviewed if reviewed else None})
    return {"reviewed": reviewed, "facts": facts}


def labelled_examples(db):
    """Each case a reviewer corrected, as a training example in the format of ``data/training/examples.jsonl``.

    The labels are the case's final facts (answers and overrides applied), so a reviewer's correction becomes
    the label the classifier should have predicted. Only overrides of a predicted fact count: a case where a
    reviewer changed, say, the vendors holds no correction of the classifier, only its own predictions.
    """
    marks = ", ".join("?" for _ in PREDICTED_FACTS)
    # Only fixed SQL and "?" placeholders are formatted in; every value is bound.
    rows = db.query("select id, description, facts from cases where id in "  # nosec B608
                    f"(select case_id from fact_overrides where fact in ({marks})) order by id", list(PREDICTED_FACTS))
    examples = []
    for row in rows:
        facts = json.loads(row["facts"] or "{}")
        example = {"id": f"case-{row['id']}", "text": row["description"], "source": "case"}
        example.update({name: facts.get(name, {}).get("value") for name in PREDICTED_FACTS if name not in USES})
        example["uses"] = [name for name in USES if facts.get(name, {}).get("value") is True]
        # Cases assessed before this fact was predicted hold no value for it; the rules read it as false.
        example[DECISIONS] = bool(example[DECISIONS])
        examples.append(example)
    return examples
