"""Concurrency and crash safety: short loads on the real server (gunicorn, two workers) and the storage
behaviour they found wanting.

The live tests share one server per module: the load check runs against it, the crash check SIGKILLs it
mid-load and starts it again on the same database.
"""

import threading
import time

import pytest
from cryptography.fernet import Fernet

from bench import loadgen
from bench.live_server import LiveServer, prepare_database
from config import Config
from storage import migrate, open_db, write_transaction
from storage import webhooks as outbox
from storage.cases import create_case

LOAD_SECONDS = 10


def _file_db(path):
    db = open_db(str(path))
    migrate(db)
    return db


def _case(db):
    case, _ = create_case(db, title="t", description="A chatbot for customers.", external_ref="R-1",
                          submitter_email="pm@example.com", classification={}, answers={}, facts={},
                          assessment={}, actor="test")
    return case


def _hold_write_lock(path, seconds, held):
    other = open_db(str(path))
    with write_transaction(other):
        held.set()
        time.sleep(seconds)
        other.execute("update cases set title = 'held'")
    other.close()


def test_recording_a_delivery_attempt_waits_for_a_concurrent_writer(tmp_path):
    # The insert reads the schema before it writes; in a deferred transaction SQLite refuses that upgrade
    # at once ("database is locked") instead of waiting out busy_timeout as an immediate one does.
    path = tmp_path / "t.db"
    db = _file_db(path)
    key = Fernet.generate_key()
    outbox.create_webhook(db, "http://127.0.0.1:9/hook", key=key)
    _case(db)
    delivery = outbox.claim_due(db, key=key)[0]
    held = threading.Event()
    writer = threading.Thread(target=_hold_write_lock, args=(path, 0.5, held))
    writer.start()
    held.wait(5)
    assert outbox.record_attempt(db, delivery, error="refused", base=Config.WEBHOOK_BACKOFF_SECONDS,
                                 cap=Config.WEBHOOK_BACKOFF_MAX_SECONDS,
                                 give_up_seconds=Config.WEBHOOK_GIVE_UP_HOURS * 3600) == "pending"
    assert db["webhook_attempts"].count == 1
    writer.join()
    assert db.execute("select title from cases").fetchone()[0] == "held"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A two-worker server with 16 API tokens and a webhook to a dead URL, so deliveries stay queued."""
    folder = tmp_path_factory.mktemp("live")
    prepare_database(folder / "intake.db")
    tokens = loadgen.create_tokens(folder / "intake.db", 16)
    server = LiveServer(folder, fake_model=True, workers=2, env=loadgen.UNLIMITED)
    server.start()
    try:
        server.webhook = loadgen.register_dead_webhook(server.url, tokens[0])
        server.tokens = tokens
        yield server
    finally:
        server.kill()  # a throwaway database: a graceful stop would only cost seconds


def test_concurrent_load_stores_every_acknowledged_case_once(live):
    load = loadgen.Load(live.url, live.tokens).run(LOAD_SECONDS)
    figures = loadgen.summary(load)
    assert figures["server_errors"] == 0, (figures, live.log()[-3000:])
    assert figures["errors"] == {}, figures
    assert figures["created"] > 20 and figures["approved"] > 0, figures
    assert loadgen.check(live.database, load, live.webhook) == []
    assert "database is locked" not in live.log()


def test_sigkill_mid_load_loses_nothing_acknowledged(live):
    load = loadgen.Load(live.url, live.tokens).start(LOAD_SECONDS)
    crash = loadgen.crash_and_restart(live, load, LOAD_SECONDS / 2, resume=3)
    figures = loadgen.summary(load)
    assert figures["server_errors"] == 0, (figures, live.log()[-3000:])
    assert figures["created"] > 10, figures
    # Requests cut off by the kill were retried with their Idempotency-Key once the server was back; the
    # check finds any that were stored twice.
    assert loadgen.check(live.database, load, live.webhook) == []
    assert crash["acknowledged_after_restart"] > 0, crash
    assert "database is locked" not in live.log()
