from sqlite_utils import Database

from storage import migrate, open_db
from storage.migrations import migrations


def test_migrations_create_the_schema_once():
    db = Database(memory=True)
    applied = migrate(db)
    assert applied == [m.name for m in migrations._migrations]
    assert {"users", "cases"} <= set(db.table_names())
    assert migrate(db) == []


def test_file_database_uses_wal_and_foreign_keys(tmp_path):
    db = open_db(str(tmp_path / "x.db"))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    migrate(db)
    assert db["cases"].foreign_keys[0].other_table == "users"


def test_init_db_command(runner, app):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "up to date" in result.output


def test_a_new_database_file_is_private(tmp_path):
    from storage import open_db

    db = open_db(str(tmp_path / "new.db"))
    db["t"].insert({"x": 1})
    db.close()
    assert (tmp_path / "new.db").stat().st_mode & 0o077 == 0
