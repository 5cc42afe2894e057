"""E-mail notifications: composed from the outbox in storage/notifications.py and sent over SMTP.

Off while ``SMTP_HOST`` is empty: no event is queued and no thread runs.
"""

from flask import current_app

from .sla import against_sla

__all__ = ["init_app"]


def check_settings(config):
    """Refuse settings that would fail every e-mail or every queue page, naming the setting.

    :raises ValueError: a bad ``SMTP_*`` value or a ``REVIEW_SLA_DAYS`` that is not a positive number.
    """
    from .smtp import check_settings as check_smtp

    sla = config.get("REVIEW_SLA_DAYS")
    if isinstance(sla, bool) or not isinstance(sla, (int, float)) or sla <= 0:
        raise ValueError(f"INTAKE_REVIEW_SLA_DAYS is {sla!r}; use a positive number of days.")
    check_smtp(config)


def sla_wait(case):
    """For templates: a queue row's wait against ``REVIEW_SLA_DAYS`` (see :func:`notify.sla.against_sla`)."""
    return against_sla(case["state"], case["waiting"], current_app.config["REVIEW_SLA_DAYS"])


def init_app(app):
    """Check the settings, add the ``sla_wait`` template helper, the ``notify`` commands and the sender."""
    from .cli import notify_cli
    from .worker import start_worker

    check_settings(app.config)
    app.add_template_global(sla_wait)
    app.cli.add_command(notify_cli)

    @app.before_request
    def _start_notify_worker():
        # gunicorn starts the thread before the first request (gunicorn.conf.py); this covers `flask run`.
        if "notify_worker" not in app.extensions:
            start_worker(app)
