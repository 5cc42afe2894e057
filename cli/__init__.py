"""Operator commands that belong to no one package: ``flask audit``, ``flask db``, ``flask users`` (users.py)
and ``flask review`` (review.py, the reviewers' corrections as training data).

Each package adds its own commands in its ``init_app`` (``init-db``, ``policies``, ``classifier``, ``tokens``,
``webhooks``); :func:`init_app` adds these.
"""

import sqlite3

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from storage import audit, backup, get_db

from .review import review_cli
from .users import users_cli

db_cli = AppGroup("db", help="Back up and restore the database.")


@click.group("audit")
def audit_cli():
    """Inspect the audit trail."""


@audit_cli.command("verify")
@click.option("--expect-head", metavar="HASH",
              help="A head hash recorded earlier outside the database (admin page, a ticket); the trail must "
                   "still contain it.")
@with_appcontext
def verify_command(expect_head):
    """Check that no audit row was edited or deleted; exits 1 when one was."""
    db = get_db()
    if "audit" not in db.table_names():
        raise click.ClickException("There is no audit table yet: run `flask init-db` first.")
    problems = audit.verify(db)
    if expect_head:
        problems += audit.check_anchor(db, expect_head)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise SystemExit(1)
    current = audit.head(db)
    anchor = f"; head {current['hash']}" if current else ""
    click.echo(f"Audit trail intact: {db['audit'].count} rows{anchor}.")


@db_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path):
    """Copy the database to PATH while the service runs (a consistent snapshot, checked)."""
    try:
        target = backup.backup(current_app.config["DATABASE"], path)
    except (backup.BackupError, sqlite3.Error, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up {current_app.config['DATABASE']} to {target}.")


@db_cli.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that already holds cases (stop the service first).")
def restore_command(path, force):
    """Restore the database from the backup at PATH, after checking it; then run `flask audit verify`."""
    try:
        applied = backup.restore(path, current_app.config["DATABASE"], force)
    except (backup.BackupError, sqlite3.Error, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    extra = f"; applied migrations {', '.join(applied)}" if applied else ""
    click.echo(f"Restored {current_app.config['DATABASE']} from {path}{extra}.")


def init_app(app):
    """Add the ``audit``, ``db``, ``users`` and ``review`` commands."""
    app.cli.add_command(audit_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(review_cli)
