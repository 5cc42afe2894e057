"""The text of each notification e-mail: the case's number, its masked title, its ticket key and a link.

No description, note or comment text is copied into an e-mail: mail is kept and forwarded beyond this
service's access control, so the message only says what happened and where to read it.
"""

from storage.masking import mask

from .sla import waited

TITLE_MAX = 120
PREFIX = "[Intake]"
WHAT = {
    "submitted": "was submitted for review",
    "changes_requested": "was sent back to you: the reviewer asks for changes",
    "comment": "has a new comment",
}


def title(text):
    """The case title as an e-mail shows it: masked, on one line, at most ``TITLE_MAX`` characters."""
    text = " ".join(mask(text or "").split())
    return text if len(text) <= TITLE_MAX else text[:TITLE_MAX - 1] + "…"


def ticket(case):
    """The case's ticket key on one line, or None."""
    ref = " ".join((case.get("external_ref") or "").split())[:200]
    return ref or None


def base_url(config):
    return (config.get("PUBLIC_URL") or "").rstrip("/")


def case_url(config, case_id):
    """Where a signed-in submitter or reviewer reads the case (views/review.py ``case``)."""
    return f"{base_url(config)}/review/cases/{case_id}"


def settings_url(config):
    """The page where a user chooses their e-mails (views/settings.py)."""
    return f"{base_url(config)}/settings/notifications"


def _footer(config, kind):
    if kind in ("decision", "changes_requested"):
        return "Decisions on your cases are always e-mailed to you."
    return f"Choose which e-mails you get: {settings_url(config)}"


def compose(kind, case, config, to_state=None, from_submitter=None):
    """``(subject, body)`` for one event about ``case`` (a row with ``id``, ``title``, ``external_ref``).

    :param to_state: the decision (``approved`` or ``rejected``) for a ``decision``.
    :param from_submitter: for a ``comment``, whether the submitter wrote it.
    """
    name = title(case["title"])
    if kind == "decision":
        what = f"was {to_state}"
    elif kind == "comment":
        what = f"has a new comment from {'the submitter' if from_submitter else 'a reviewer'}"
    else:
        what = WHAT[kind]
    ref = ticket(case)
    subject = f"{PREFIX} Case {case['id']} {what}: {name}"
    lines = [f"Case {case['id']}, \"{name}\", {what}."]
    if ref:
        subject += f" ({ref})"
        lines.append(f"Ticket: {ref}")
    lines += ["", f"Open the case: {case_url(config, case['id'])}", "", "-- ", _footer(config, kind)]
    return subject, "\n".join(lines) + "\n"


def compose_digest(cases, config, day):
    """``(subject, body)`` of the daily digest: each case waiting longer than the SLA, longest wait first.

    :param cases: rows from :func:`storage.reviews.queue` (``id``, ``title``, ``external_ref``, ``waiting``).
    """
    sla = float(config["REVIEW_SLA_DAYS"])
    subject = f"{PREFIX} {len(cases)} case{'s' if len(cases) != 1 else ''} waiting longer than {sla:g} days"
    lines = [f"Cases waiting for a reviewer longer than the review SLA of {sla:g} days, on {day}:", ""]
    for case in sorted(cases, key=lambda c: c["waiting"], reverse=True):
        ref = ticket(case)
        lines.append(f"- Case {case['id']}, \"{title(case['title'])}\"{f' (ticket {ref})' if ref else ''}: "
                     f"waiting {waited(case['waiting'])} (SLA {sla:g} days)")
        lines.append(f"  {case_url(config, case['id'])}")
    lines += ["", "-- ", _footer(config, "digest")]
    return subject, "\n".join(lines) + "\n"
