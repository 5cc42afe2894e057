"""The SQLite database: one connection per request, schema through migrations."""

import contextlib
import os

import click
import sqlite_utils
from flask import current_app, g
from flask.cli import with_appcontext

from .migrations import migrations

__all__ = ["get_db", "init_app", "open_db", "migrate"]


def open_db(path):
    """Open the database file at ``path`` in WAL mode with foreign keys enforced."""
    if path != ":memory:" and not os.path.exists(path):
        # Created private: it holds password hashes, personal data and webhook secrets. SQLite gives its
        # -wal and -shm files the same permissions.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA foreign_keys = ON")
    if path != ":memory:":
        db.enable_wal()
    return db


def migrate(db):
    """Apply every pending migration; returns the names applied."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


def get_db():
    """The request's database, opened on first use and closed on teardown."""
    if "db" not in g:
        g.db = open_db(current_app.config["DATABASE"])
    return g.db


def close_db(exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the database or bring its schema up to date."""
    applied = migrate(get_db())
    if applied:
        click.echo(f"Applied migrations: {', '.join(applied)}")
    else:
        click.echo("Database schema is up to date.")


def init_app(app):
    """Close the database after each request and add the ``init-db`` command."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
