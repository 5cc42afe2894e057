"""Schema history of the intake database: add a migration, never edit an applied one."""

from sqlite_utils import Migrations

migrations = Migrations("intake")


@migrations()
def m001_users(db):
    db["users"].create(
        {
            "id": int,
            "email": str,
            "name": str,
            "role": str,
            "password_hash": str,
            "active": int,
            "created_at": str,
        },
        pk="id",
        not_null={"email", "role", "password_hash"},
        defaults={"active": 1},
    )
    db["users"].create_index(["email"], unique=True)


@migrations()
def m002_cases(db):
    # The case record other parts of the service grow from: facts and the last assessment as JSON.
    db["cases"].create(
        {
            "id": int,
            "title": str,
            "description": str,
            "state": str,
            "submitter_id": int,
            "facts": str,
            "assessment": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"title", "state"},
        defaults={"state": "draft"},
        foreign_keys=[("submitter_id", "users", "id")],
    )
    db["cases"].create_index(["state"])


@migrations()
def m003_api_tokens(db):
    # Only a SHA-256 of each token is kept; the token itself is shown once, when created.
    db["api_tokens"].create(
        {
            "id": int,
            "name": str,
            "prefix": str,
            "token_hash": str,
            "scopes": str,
            "created_at": str,
            "revoked_at": str,
            "last_used_at": str,
        },
        pk="id",
        not_null={"name", "token_hash", "scopes"},
    )
    db["api_tokens"].create_index(["token_hash"], unique=True)
    db["api_usage"].create(
        {"token_id": int, "day": str, "endpoint": str, "count": int},
        pk=("token_id", "day", "endpoint"),
        foreign_keys=[("token_id", "api_tokens", "id")],
        defaults={"count": 0},
    )


@migrations()
def m004_api_cases(db):
    # Columns the ticketing API needs on cases, plus comments, the state history and idempotency keys.
    cases = db["cases"]
    for column in ("external_ref", "submitter_email", "classification", "answers", "source"):
        cases.add_column(column, str)
    cases.add_column("token_id", int)
    cases.create_index(["external_ref"])
    cases.create_index(["updated_at", "id"])
    db["case_comments"].create(
        {"id": int, "case_id": int, "author": str, "body": str, "token_id": int, "user_id": int,
         "created_at": str},
        pk="id",
        not_null={"case_id", "body"},
        foreign_keys=[("case_id", "cases", "id")],
    )
    db["case_comments"].create_index(["case_id"])
    db["case_history"].create(
        {"id": int, "case_id": int, "from_state": str, "to_state": str, "actor": str, "note": str, "at": str},
        pk="id",
        not_null={"case_id", "to_state"},
        foreign_keys=[("case_id", "cases", "id")],
    )
    db["case_history"].create_index(["case_id"])
    db["api_idempotency"].create(
        {"token_id": int, "key": str, "request_hash": str, "case_id": int, "created_at": str},
        pk=("token_id", "key"),
        foreign_keys=[("case_id", "cases", "id"), ("token_id", "api_tokens", "id")],
    )


@migrations()
def m005_webhooks(db):
    # The secret is kept as given: it signs every delivery, so it cannot be stored as a hash.
    db["webhooks"].create(
        {"id": int, "url": str, "secret": str, "token_id": int, "active": int, "created_at": str,
         "disabled_at": str},
        pk="id",
        not_null={"url", "secret"},
        defaults={"active": 1},
        foreign_keys=[("token_id", "api_tokens", "id")],
    )
    # The outbox: one row per webhook and state change, written in the transaction that changes the state.
    db["webhook_deliveries"].create(
        {"id": int, "delivery_id": str, "webhook_id": int, "case_id": int, "event": str, "payload": str,
         "status": str, "attempts": int, "created_ts": float, "next_attempt_ts": float,
         "locked_until": float, "delivered_ts": float, "last_status_code": int, "last_error": str},
        pk="id",
        not_null={"delivery_id", "webhook_id", "payload", "status"},
        defaults={"status": "pending", "attempts": 0},
        foreign_keys=[("webhook_id", "webhooks", "id"), ("case_id", "cases", "id")],
    )
    db["webhook_deliveries"].create_index(["delivery_id"], unique=True)
    db["webhook_deliveries"].create_index(["status", "next_attempt_ts"])
    db["webhook_deliveries"].create_index(["webhook_id", "case_id", "status"])
    db["webhook_attempts"].create(
        {"id": int, "delivery_id": int, "attempt": int, "at": str, "status_code": int, "error": str,
         "duration_ms": float},
        pk="id",
        not_null={"delivery_id"},
        foreign_keys=[("delivery_id", "webhook_deliveries", "id")],
    )
    db["webhook_attempts"].create_index(["delivery_id"])


@migrations()
def m006_intake_review(db):
    # The wizard's draft (raw answers per step), optimistic locking and the reviewer's decision.
    cases = db["cases"]
    for column in ("intake", "step", "assignee_email", "decision", "overrides", "submitted_at", "intake_key"):
        cases.add_column(column, str)
    cases.add_column("version", int, not_null_default=0)
    cases.create_index(["submitter_id", "state"])
    # The first step's form carries a one-off key, so a double click cannot open two drafts.
    cases.create_index(["intake_key"], unique=True)
    # Reviewer corrections, kept as labelled examples for retraining.
    db["fact_overrides"].create(
        {"id": int, "case_id": int, "fact": str, "value": str, "previous": str, "reason": str, "by": str,
         "description": str, "at": str},
        pk="id",
        not_null={"case_id", "fact", "reason"},
        foreign_keys=[("case_id", "cases", "id")],
    )
    # Append-only: each row carries the hash of the one before; triggers refuse edits through SQL.
    db["audit"].create(
        {"id": int, "at": str, "actor": str, "action": str, "case_id": int, "before": str, "after": str,
         "prev_hash": str, "hash": str},
        pk="id",
        not_null={"at", "action", "hash"},
    )
    db["audit"].create_index(["case_id"])
    db.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END")
    db.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END")


@migrations()
def m007_case_embeddings(db):
    # The description's vector when submitted, to find similar past cases; tied to the model that made it.
    db["cases"].add_column("embedding", str)
    db["cases"].add_column("embedding_model", str)


@migrations()
def m010_audit_head(db):
    # The chain alone cannot show that its newest rows were cut off; a head row kept by a trigger on every
    # insert records where the trail should end.
    db["audit_head"].create({"id": int, "last_id": int, "hash": str}, pk="id")
    last = list(db.query("select id, hash from audit order by id desc limit 1"))
    if last:
        db["audit_head"].insert({"id": 1, "last_id": last[0]["id"], "hash": last[0]["hash"]})
    db.execute("CREATE TRIGGER audit_head_follows AFTER INSERT ON audit BEGIN "
               "INSERT INTO audit_head (id, last_id, hash) VALUES (1, NEW.id, NEW.hash) "
               "ON CONFLICT(id) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash; END")


@migrations()
def m008_login_attempts(db):
    # Failed sign-ins per e-mail and per client address (keys hashed), shared by every worker.
    db["login_attempts"].create(
        {"scope": str, "key": str, "failures": int, "window_start": float, "locked_until": float},
        pk=("scope", "key"),
        not_null={"failures", "window_start", "locked_until"},
        defaults={"failures": 0, "locked_until": 0},
    )
    db["login_attempts"].create_index(["window_start"])


@migrations()
def m011_webhook_events(db):
    # One row per state change, written in the transaction that changes the state; the deliveries to each
    # webhook are fanned out from it after the commit, so the write lock is not held for every receiver.
    db["webhook_events"].create(
        {"id": int, "case_id": int, "event": str, "payload": str, "created_ts": float, "fanned_out": int},
        pk="id",
        not_null={"event", "payload", "created_ts"},
        defaults={"fanned_out": 0},
        foreign_keys=[("case_id", "cases", "id")],
    )
    db["webhook_events"].create_index(["fanned_out", "id"])
    db["webhook_deliveries"].add_column("event_id", int)
    # A token may be limited to the cases it created (reads, comments, webhook deliveries).
    db["api_tokens"].add_column("own_cases", int, not_null_default=0)
    db["webhooks"].create_index(["token_id", "active"])


@migrations()
def m012_session_epoch(db):
    # Each session carries the user's epoch from sign-in; bumping it (sign-out, new password, role change,
    # deactivation) ends every session of that user, wherever its cookie was copied.
    db["users"].add_column("session_epoch", int, not_null_default=0)


@migrations()
def m013_rate_counters(db):
    # Fixed-window request counters in the database, so every gunicorn worker counts against the same limit.
    db["rate_counters"].create({"key": str, "window_start": float, "count": int}, pk="key",
                               not_null={"window_start", "count"})
    db["rate_counters"].create_index(["window_start"])


@migrations()
def m014_notification_outbox(db):
    # E-mail notifications. One event row per state change or comment, written in the transaction that makes
    # it; the sender fans it out to one e-mail row per recipient, whose key makes the fan-out exactly once.
    db["notification_events"].create(
        {"id": int, "case_id": int, "kind": str, "data": str, "created_ts": float, "fanned_out": int},
        pk="id",
        not_null={"kind", "created_ts"},
        defaults={"fanned_out": 0},
        foreign_keys=[("case_id", "cases", "id")],
    )
    db["notification_events"].create_index(["fanned_out", "id"])
    db["notifications"].create(
        {"id": int, "key": str, "kind": str, "case_id": int, "recipient": str, "subject": str, "body": str,
         "message_id": str, "status": str, "attempts": int, "created_ts": float, "next_attempt_ts": float,
         "locked_until": float, "sent_ts": float, "last_error": str},
        pk="id",
        not_null={"key", "kind", "recipient", "subject", "body", "message_id", "status"},
        defaults={"status": "pending", "attempts": 0},
        foreign_keys=[("case_id", "cases", "id")],
    )
    db["notifications"].create_index(["key"], unique=True)
    db["notifications"].create_index(["status", "next_attempt_ts"])
    # The e-mails each user turned off; a user without a row gets every kind.
    db["notification_settings"].create(
        {"user_id": int, "submitted": int, "comment": int, "digest": int, "updated_at": str},
        pk="user_id",
        defaults={"submitted": 1, "comment": 1, "digest": 1},
        foreign_keys=[("user_id", "users", "id")],
    )
