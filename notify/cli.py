"""``flask notify``: queue the daily digest and send queued e-mails by hand."""

import click
from flask import current_app
from flask.cli import with_appcontext

from storage import get_db
from storage import notifications as outbox

from . import outbox as sender


@click.group("notify")
def notify_cli():
    """E-mail notifications."""


def _require_smtp():
    if not current_app.config.get("SMTP_HOST"):
        raise click.ClickException("E-mail is not configured: set INTAKE_SMTP_HOST.")


@notify_cli.command("digest")
@with_appcontext
def digest_command():
    """Queue today's digest of cases over the review SLA; a recipient gets at most one a day."""
    _require_smtp()
    queued, cases = sender.enqueue_digest(get_db(), current_app.config)
    sla = current_app.config["REVIEW_SLA_DAYS"]
    click.echo(f"{len(cases)} cases wait longer than {sla:g} days; queued {queued} digests "
               "(recipients who already have today's are skipped).")


@notify_cli.command("send")
@with_appcontext
def send_command():
    """Send the queued e-mails that are due now (serving processes do this on their own)."""
    _require_smtp()
    stats = sender.run_once(get_db(), current_app.config)
    given_up = f", {stats['given_up']} given up" if stats["given_up"] else ""
    click.echo(f"Sent {stats['sent']}; {stats['failed_attempts']} failed attempts{given_up}; "
               f"{outbox.count_pending(get_db())} still pending.")
