"""The wizard's drafts: a case's answers saved step by step until the submitter submits them.

A draft is a ``cases`` row in state ``draft`` whose ``intake`` column holds the raw answers of each wizard
step, so a closed tab loses nothing. The same row becomes the submitted case: submitting twice cannot
create a second one.
"""

import json

from . import audit, json_column, write_transaction
from .cases import CaseNotFound, TransitionError, set_state
from .clock import now_iso
from .masking import mask

# States in which the submitter may edit the answers.
EDITABLE = ("draft", "changes_requested")


# Free-text fields, masked before they reach the database; structured ones (the owner's e-mail) are kept.
FREE_TEXT = ("description",)


def _clean(step_data):
    return {k: mask(v) if k in FREE_TEXT and isinstance(v, str) else v for k, v in step_data.items()}


def create_draft(db, user, step, step_data, next_step, key=None):
    """Start a draft for ``user`` with the first step's answers; returns its id.

    :param key: the one-off key of the form; the same key again returns the draft it created.
    """
    now = now_iso()
    # Masked before the write lock is taken: no other writer waits on the regexes.
    intake = {step: _clean(step_data)}
    with write_transaction(db):
        if key:
            seen = list(db.query("select id, submitter_id from cases where intake_key = ?", [key]))
            if seen and seen[0]["submitter_id"] == user["id"]:
                return seen[0]["id"]
            if seen:
                # Another user's key (keys come from the form): start an unkeyed draft rather than fail.
                key = None
        table = db["cases"]
        table.insert({"title": step_data.get("name") or "Untitled", "state": "draft", "submitter_id": user["id"],
                      "submitter_email": user["email"], "source": "web", "intake": json.dumps(intake),
                      "step": next_step, "answers": "{}", "version": 0, "created_at": now, "updated_at": now,
                      "intake_key": key})
        case_id = table.last_pk
        audit.record(db, user["email"], "create_draft", case_id, None, {"state": "draft"})
    return case_id


def save_step(db, case_id, step, step_data, next_step, actor=None):
    """Store one step's answers on an editable case and remember where the user goes next.

    Edits of a case sent back for changes, and the submitter's corrections of the predictions (the confirm
    step), are audited: they change what a reviewer already saw or what the verdict rests on.

    :raises CaseNotFound: no such case.
    :raises TransitionError: the case is no longer editable (already submitted).
    """
    # Masked before the write lock is taken: no other writer waits on the regexes.
    cleaned = _clean(step_data)
    with write_transaction(db):
        rows = list(db.query("select state, intake from cases where id = ?", [case_id]))
        if not rows:
            raise CaseNotFound(f"No case {case_id}.")
        if rows[0]["state"] not in EDITABLE:
            raise TransitionError(f"This case is {rows[0]['state']}; its answers can no longer be changed.")
        intake = json_column(rows[0]["intake"], {})
        previous = intake.get(step)
        intake[step] = cleaned
        # The wizard's confirm step, stored under the key "review" (forms/wizard.py CONFIRM).
        corrected = step == "review" and any(v is not None for v in cleaned.values())
        if actor and previous != cleaned and (rows[0]["state"] == "changes_requested" or corrected):
            audit.record(db, actor, "edit_answers", case_id, {"step": step, "answers": previous},
                         {"step": step, "answers": cleaned})
        changes = {"intake": json.dumps(intake), "step": next_step, "updated_at": now_iso()}
        if step == "product" and step_data.get("name"):
            changes["title"] = step_data["name"]
        if step == "description":
            changes["description"] = intake[step].get("description")
        db["cases"].update(case_id, changes)


def submit(db, case_id, actor, fields):
    """Store the final answers and assessment and move the case to ``submitted``, in one transaction.

    :param fields: ``title``, ``description``, ``answers``, ``classification``, ``facts``, ``assessment``.
    :raises TransitionError: the case was already submitted (e.g. a double click).
    """
    columns = {k: json.dumps(v) if k in ("answers", "classification", "facts", "assessment") else v
               for k, v in fields.items()}
    columns["step"] = None
    with write_transaction(db):
        rows = list(db.query("select state from cases where id = ?", [case_id]))
        if not rows:
            raise CaseNotFound(f"No case {case_id}.")
        if rows[0]["state"] not in EDITABLE:
            raise TransitionError("This case was already submitted.")
        return set_state(db, case_id, "submitted", actor, changes=columns)
