"""Online backups and checked restores of the SQLite database (``flask db backup`` / ``flask db restore``).

A backup uses SQLite's backup API: it copies a consistent snapshot while the service keeps reading and
writing (in WAL mode writers do not wait for it), then checks the copy before putting it in place. A restore
refuses a file that fails ``PRAGMA integrity_check`` or holds migrations this code does not know (it was made
by newer code), then copies it into the configured database and applies the migrations it lacks.
"""

import contextlib
import os
import sqlite3
from pathlib import Path

from . import migrate, open_db
from .migrations import migrations


class BackupError(ValueError):
    """A backup or restore that cannot be done as asked; the message says why."""


def _integrity(conn):
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def _unknown_migrations(conn):
    """Migrations recorded in ``conn`` that this code does not define: the file was made by newer code."""
    known = {m.name for m in migrations._migrations}
    try:
        applied = [r[0] for r in conn.execute("select name from _sqlite_migrations where migration_set = ?",
                                              [migrations.name])]
    except sqlite3.DatabaseError:
        return []
    return [name for name in applied if name not in known]


def backup(source_path, target_path):
    """Copy the database at ``source_path`` to ``target_path`` while it is in use; returns the target's path.

    The copy is written beside the target, checked, made private (0600) and renamed into place, so a
    failed backup never leaves a half-written file under the target's name.
    :raises BackupError: the target exists, or the copy fails its integrity check.
    """
    target = Path(target_path)
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name (a backup never overwrites one).")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            # One step: the copy is the database as of a single read transaction, never a mix of two moments.
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
            problems = _integrity(copy)
        if problems:
            raise BackupError(f"The copy failed its integrity check: {'; '.join(problems[:5])}")
        os.replace(partial, target)
    finally:
        source.close()
        partial.unlink(missing_ok=True)
    return target


def check_restorable(path):
    """Refuse a file that is not a sound database of this service, or one made by newer code.

    :raises BackupError: naming what is wrong.
    """
    if not Path(path).is_file():
        raise BackupError(f"{path} is not a file.")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            problems = _integrity(conn)
            if problems:
                raise BackupError(f"{path} fails PRAGMA integrity_check: {'; '.join(problems[:5])}")
            newer = _unknown_migrations(conn)
            tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an SQLite database this service can read: {exc}") from None
    if newer:
        raise BackupError(f"{path} was made by newer code: its migrations {', '.join(newer)} are not known here. "
                          "Upgrade the code first.")
    if "_sqlite_migrations" not in tables or "cases" not in tables:
        raise BackupError(f"{path} is not a database of this service (no cases or migrations table).")


def restore(path, target_path, force=False):
    """Replace the database at ``target_path`` with the backup at ``path``; returns the migrations applied.

    :param force: replace a database that already holds cases (otherwise only a fresh one is replaced).
    :raises BackupError: the backup fails :func:`check_restorable`, or the target holds cases without ``force``.
    """
    check_restorable(path)
    target = Path(target_path)
    if target.exists() and not force:
        with contextlib.closing(sqlite3.connect(target)) as conn:
            tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
            held = conn.execute("select count(*) from cases").fetchone()[0] if "cases" in tables else 0
        if held:
            raise BackupError(f"{target} already holds {held} cases; stop the service and pass --force to "
                              "replace them.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as source:
        with contextlib.closing(sqlite3.connect(target)) as dest:
            # The backup API writes through SQLite, so the target's WAL and locks stay consistent.
            source.backup(dest)
    os.chmod(target, 0o600)
    db = open_db(str(target))
    try:
        return migrate(db)
    finally:
        db.close()
