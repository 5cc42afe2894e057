"""The audit trail: one row per action, chained by hashes; `flask audit verify` finds edits and deletions."""

import pytest

from storage import audit, get_db
from storage.cases import add_comment, set_state


def _fill(db, n=4):
    for i in range(n):
        with db.atomic():
            audit.record(db, f"user{i}@example.com", "comment", 1, None, {"body": f"note {i}"})


def _tamper(db, sql, args=()):
    # Someone with the file in hand can drop the triggers; the chain still gives them away.
    db.execute("drop trigger audit_no_update")
    db.execute("drop trigger audit_no_delete")
    db.execute(sql, args)
    db.conn.commit()


def test_rows_chain_and_verify_clean(memory_db):
    _fill(memory_db)
    rows = list(memory_db["audit"].rows_where(order_by="id"))
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:]))
    assert audit.verify(memory_db) == []


def test_sql_updates_and_deletes_are_refused(memory_db):
    _fill(memory_db, 1)
    with pytest.raises(Exception, match="append-only"):
        memory_db.execute("update audit set actor = 'x'")
    with pytest.raises(Exception, match="append-only"):
        memory_db.execute("delete from audit")


def test_an_edited_row_is_found(memory_db):
    _fill(memory_db)
    _tamper(memory_db, "update audit set after = ? where id = 2", ['{"body": "nothing to see"}'])
    assert audit.verify(memory_db) == ["row 2: its content does not match its hash (edited)"]


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(memory_db):
    _fill(memory_db)
    row = memory_db["audit"].get(2)
    row["actor"] = "someone-else"
    forged = audit.row_hash(row["prev_hash"], row)
    _tamper(memory_db, "update audit set actor = ?, hash = ? where id = 2", [row["actor"], forged])
    problems = audit.verify(memory_db)
    assert problems and problems[0].startswith("row 3: does not follow")


def test_a_deleted_row_is_found(memory_db):
    _fill(memory_db)
    _tamper(memory_db, "delete from audit where id = 2")
    problems = audit.verify(memory_db)
    assert "rows 2..2 are missing (deleted)" in problems and any("row 3: does not follow" in p for p in problems)


def test_state_changes_and_comments_write_audit_rows(app, users, client, auth):
    from tests.intake_support import submit

    auth.login()
    case_id = submit(client)
    with app.app_context():
        db = get_db()
        set_state(db, case_id, "in_review", "reviewer@example.com")
        add_comment(db, case_id, "looks fine", "reviewer@example.com")
        actions = [(r["action"], r["actor"]) for r in audit.entries(db, case_id)]
    assert actions == [("create_draft", "submitter@example.com"), ("state", "submitter@example.com"),
                       ("state", "reviewer@example.com"), ("comment", "reviewer@example.com")]


def test_verify_command(app, runner):
    with app.app_context():
        db = get_db()
        _fill(db)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "Audit trail intact: 4 rows; head " in result.output
    with app.app_context():
        _tamper(get_db(), "update audit set actor = 'mallory' where id = 3")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "row 3: its content does not match its hash (edited)" in result.output


def test_commands_have_help(runner):
    for args in (["audit", "--help"], ["audit", "verify", "--help"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0 and "audit" in result.output.lower()


def test_verify_before_migrating_says_what_to_do(tmp_path, fake_classifier):
    from app import create_app

    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "new.db"), "CLASSIFIER": fake_classifier})
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "run `flask init-db` first" in result.output


def test_deleting_the_newest_row_is_found(memory_db):
    _fill(memory_db)
    _tamper(memory_db, "delete from audit where id = 4")
    assert audit.verify(memory_db) == [
        "the newest rows are missing: the trail ends at row 3, its head records row 4 (deleted)"
    ]


def test_deleting_every_row_is_found(memory_db):
    _fill(memory_db)
    _tamper(memory_db, "delete from audit")
    assert audit.verify(memory_db) == ["the trail is empty but its head records row 4 (deleted)"]


def test_the_head_follows_each_new_row(memory_db):
    _fill(memory_db, 3)
    head = audit.head(memory_db)
    last = memory_db["audit"].get(3)
    assert head == {"last_id": 3, "hash": last["hash"]}


def test_verify_command_prints_the_head_to_keep_elsewhere(app, runner):
    with app.app_context():
        db = get_db()
        _fill(db, 2)
        expected = db["audit"].get(2)["hash"]
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"head {expected}" in result.output


def test_a_deleted_head_is_found(memory_db):
    _fill(memory_db, 2)
    _tamper(memory_db, "delete from audit_head")
    assert audit.verify(memory_db) == ["the head row is missing (deleted)"]


def _actions(app):
    with app.app_context():
        return [(r["action"], r["actor"]) for r in get_db().query("select action, actor from audit order by id")]


def test_sign_in_failures_sign_out_tokens_webhooks_and_cli_accounts_are_audited(app, users, client, runner):
    from tests.api_support import bearer

    client.post("/auth/login", data={"email": "submitter@example.com", "password": "wrong password"})
    client.post("/auth/login", data={"email": "submitter@example.com", "password": "correct horse battery"})
    client.post("/auth/logout")
    result = runner.invoke(args=["tokens", "create", "--name", "jira", "--scopes", "cases:read,webhooks"])
    token = result.output.strip().splitlines()[-1]
    hook = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=bearer(token)).get_json()
    client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bearer(token))
    runner.invoke(args=["tokens", "revoke", "jira"])
    runner.invoke(args=["users", "create", "--email", "new@example.com", "--role", "submitter",
                        "--password", "a long password"])
    runner.invoke(args=["users", "set-password", "--email", "new@example.com", "--password", "another password"])
    actions = _actions(app)
    assert actions == [
        ("sign_in_failed", "submitter@example.com"), ("sign_in", "submitter@example.com"),
        ("sign_out", "submitter@example.com"), ("create_token", "cli"),
        ("create_webhook", "token:jira#1"), ("disable_webhook", "token:jira#1"), ("revoke_token", "cli"),
        ("create_user", "cli"), ("set_password", "cli"),
    ]
    with app.app_context():
        assert audit.verify(get_db()) == []


def test_edits_after_changes_were_requested_are_audited(app, users, client, auth):
    from storage.cases import set_state
    from tests.intake_support import USERS, submit

    auth.login()
    case_id = submit(client)
    with app.app_context():
        for state in ("in_review", "changes_requested"):
            set_state(get_db(), case_id, state, "reviewer@example.com")
    client.post(f"/intake/{case_id}/users", data={**USERS, "end_users": "employees"})
    with app.app_context():
        [row] = [r for r in audit.entries(get_db(), case_id) if r["action"] == "edit_answers"]
    assert row["actor"] == "submitter@example.com"
    assert (row["before"]["answers"]["end_users"], row["after"]["answers"]["end_users"]) == ("public", "employees")
