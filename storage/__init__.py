"""The SQLite database: one connection per request, schema through migrations."""

import contextlib
import json
import logging
import os
import sqlite3

import click
import sqlite_utils
from flask import current_app, g
from flask.cli import with_appcontext

from .migrations import migrations

__all__ = ["after_commit", "get_db", "init_app", "json_column", "migrate", "open_db", "write_transaction"]

log = logging.getLogger(__name__)


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


@contextlib.contextmanager
def write_transaction(db):
    """A transaction that takes the write lock at once, so what it reads stays true until it commits."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        db.__dict__.pop("_after_commit", None)
        raise
    db.execute("COMMIT")
    # Work that must follow the commit, outside the lock (e.g. fanning a state change out to webhooks).
    for callback in db.__dict__.pop("_after_commit", []):
        try:
            callback(db)
        except sqlite3.Error:
            # The change is committed; the delivery worker fans out what is left on its next pass.
            log.warning("after-commit step %s failed; left to the delivery worker", callback.__name__, exc_info=True)


def after_commit(db, callback):
    """Run ``callback(db)`` once the outermost write transaction on ``db`` has committed."""
    pending = db.__dict__.setdefault("_after_commit", [])
    if callback not in pending:
        pending.append(callback)


def json_column(text, default=None):
    """The value a JSON column holds: ``default`` when it is empty or not valid JSON."""
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


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
