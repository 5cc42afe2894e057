"""`flask db backup` while the service writes, `flask db restore` with its checks, and `flask audit verify
--expect-head` against a head hash kept outside the database."""

import sqlite3
import threading

import pytest

from app import create_app
from storage import get_db, migrate, open_db
from storage.audit import head
from storage.backup import BackupError, backup, check_restorable, restore
from storage.cases import create_case


def _write_cases(path, stop, acknowledged):
    """Open cases one after another on a connection of its own (another worker), noting each committed id."""
    db = open_db(path)
    try:
        n = 0
        while not stop.is_set():
            n += 1
            case, _ = create_case(db, title=f"t{n}", description=f"marker{n}", external_ref=f"R-{n}",
                                  submitter_email=None, classification={}, answers={}, facts={}, assessment={},
                                  actor="writer")
            acknowledged.append(case["id"])
    finally:
        db.close()


def test_a_backup_taken_during_writes_restores_every_acknowledged_case(app, tmp_path, fake_classifier):
    stop, acknowledged = threading.Event(), []
    writer = threading.Thread(target=_write_cases, args=(app.config["DATABASE"], stop, acknowledged))
    writer.start()
    try:
        while len(acknowledged) < 20:
            stop.wait(0.01)
        before = list(acknowledged)  # every case acknowledged before the backup starts
        result = app.test_cli_runner().invoke(args=["db", "backup", str(tmp_path / "copy.db")])
        assert result.exit_code == 0, result.output
        while len(acknowledged) < len(before) + 10:  # the service kept writing during and after it
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert (tmp_path / "copy.db").stat().st_mode & 0o077 == 0
    fresh = create_app({"TESTING": True, "DATABASE": str(tmp_path / "fresh" / "new.db"),
                        "CLASSIFIER": fake_classifier})
    runner = fresh.test_cli_runner()
    result = runner.invoke(args=["db", "restore", str(tmp_path / "copy.db")])
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        stored = {row["id"]: row["description"] for row in get_db()["cases"].rows}
    assert all(stored.get(i, "").startswith("marker") for i in before)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output, result.output


def test_a_backup_never_overwrites_a_file(app, tmp_path):
    (tmp_path / "taken.db").write_text("keep me")
    result = app.test_cli_runner().invoke(args=["db", "backup", str(tmp_path / "taken.db")])
    assert result.exit_code != 0 and "never overwrites" in result.output
    assert (tmp_path / "taken.db").read_text() == "keep me"


def _backup(app, tmp_path, name="b.db"):
    with app.app_context():
        migrate(get_db())
    return backup(app.config["DATABASE"], tmp_path / name)


def test_restore_refuses_a_file_that_is_not_a_database(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    with pytest.raises(BackupError, match="not an SQLite database|integrity"):
        check_restorable(junk)


def test_restore_refuses_a_file_that_fails_the_integrity_check(app, tmp_path):
    path = _backup(app, tmp_path)
    conn = sqlite3.connect(path)
    conn.executemany("insert into users (email, role, password_hash) values (?, 'submitter', 'x')",
                     [(f"u{i}@example.com",) for i in range(50)])
    conn.commit()
    # Rows the e-mail index does not hold: what a torn write or a disk fault leaves behind.
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("update sqlite_master set sql = 'CREATE INDEX idx_users_email ON users (role)' "
                 "where name = 'idx_users_email'")
    conn.commit()
    conn.close()
    with pytest.raises(BackupError, match="integrity_check|not an SQLite database"):
        check_restorable(path)


def test_restore_refuses_a_backup_made_by_newer_code(app, tmp_path):
    path = _backup(app, tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("insert into _sqlite_migrations (migration_set, name, applied_at) values ('intake', "
                 "'m999_from_the_future', '2030-01-01')")
    conn.commit()
    conn.close()
    result = create_app({"TESTING": True, "DATABASE": str(tmp_path / "x.db")}).test_cli_runner().invoke(
        args=["db", "restore", str(path)])
    assert result.exit_code != 0 and "newer code" in result.output and "m999_from_the_future" in result.output


def test_restore_does_not_replace_cases_without_force(app, tmp_path):
    path = _backup(app, tmp_path)
    with app.app_context():
        create_case(get_db(), title="t", description="d", external_ref="R", submitter_email=None,
                    classification={}, answers={}, facts={}, assessment={}, actor="x")
    with pytest.raises(BackupError, match="--force"):
        restore(path, app.config["DATABASE"])
    restore(path, app.config["DATABASE"], force=True)
    with app.app_context():
        assert get_db()["cases"].count == 0


def test_audit_verify_checks_a_head_hash_kept_elsewhere(app, runner, users):
    with app.app_context():
        db = get_db()
        create_case(db, title="t", description="d", external_ref="R", submitter_email=None, classification={},
                    answers={}, facts={}, assessment={}, actor="x")
        anchor = head(db)["hash"]
        create_case(db, title="t2", description="d", external_ref="R2", submitter_email=None, classification={},
                    answers={}, facts={}, assessment={}, actor="x")
    result = runner.invoke(args=["audit", "verify", "--expect-head", anchor])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["audit", "verify", "--expect-head", "ab" * 32])
    assert result.exit_code == 1 and "expected head hash" in result.output


def test_the_admin_page_shows_the_audit_head(app, users):
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.com", "password": "correct horse battery"})
    with app.app_context():
        create_case(get_db(), title="t", description="d", external_ref="R", submitter_email=None,
                    classification={}, answers={}, facts={}, assessment={}, actor="x")
        anchor = head(get_db())["hash"]
    page = client.get("/admin/").data.decode()
    assert anchor in page and "--expect-head" in page


def test_the_db_commands_have_help(runner):
    for args in (["db", "--help"], ["db", "backup", "--help"], ["db", "restore", "--help"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0 and result.output.strip()
