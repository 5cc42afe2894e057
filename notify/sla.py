"""How long a case has waited for a reviewer, against ``REVIEW_SLA_DAYS``."""

import datetime

# States in which the case waits for a reviewer; a case sent back for changes waits for its submitter.
AWAITING_REVIEW = ("submitted", "in_review")


def waited(delta):
    """A wait as people say it: ``6 days 2 h``, ``1 day 0 h``, ``3 h 20 min``."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h {minutes} min"


def over(delta, sla_days):
    """True when a wait of ``delta`` is longer than the SLA."""
    return delta > datetime.timedelta(days=float(sla_days))


def against_sla(state, delta, sla_days):
    """``{"text", "over"}`` for a queue row: the wait, the SLA, and whether it is past it."""
    if state not in AWAITING_REVIEW:
        return {"text": f"{waited(delta)} (with the submitter)", "over": False}
    return {"text": f"{waited(delta)} (SLA {sla_days:g} days)", "over": over(delta, sla_days)}
