"""The thread that sends e-mail from the outbox in each serving process, and queues the daily digest."""

import datetime
import logging
import threading

from storage import open_db

from .outbox import enqueue_digest, run_once

log = logging.getLogger(__name__)


class NotifyWorker(threading.Thread):
    """A daemon thread that fans out events and sends due e-mails every ``NOTIFY_POLL_SECONDS``."""

    def __init__(self, config):
        super().__init__(name="notify-sender", daemon=True)
        self.config = dict(config)
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.digest_day = None

    def digest_due(self, now):
        """Queue today's digest once this thread reaches ``NOTIFY_DIGEST_HOUR`` (UTC)."""
        day = now.date()
        if self.digest_day != day and now.hour >= int(self.config.get("NOTIFY_DIGEST_HOUR", 8)):
            return day
        return None

    def run(self):
        poll = float(self.config.get("NOTIFY_POLL_SECONDS", 2.0))
        db = None
        while not self.stopping.is_set():
            try:
                db = db or open_db(self.config["DATABASE"])
                now = datetime.datetime.now(datetime.UTC)
                day = self.digest_due(now)
                if day is not None:
                    # Other processes may queue it too: the key lets one digest a day through per recipient.
                    enqueue_digest(db, self.config, now)
                    self.digest_day = day
                run_once(db, self.config)
            except Exception:  # the thread must outlive a locked or not yet migrated database
                log.exception("notification pass failed")
                if db is not None:
                    db.close()
                db = None
            self.wake.wait(poll)
            self.wake.clear()
        if db is not None:
            db.close()

    def stop(self, timeout=5.0):
        """Ask the thread to finish its pass and wait for it."""
        self.stopping.set()
        self.wake.set()
        self.join(timeout)


def worker_enabled(app):
    """``NOTIFY_WORKER``: true or false; unset means on when e-mail is configured and not under TESTING."""
    setting = app.config.get("NOTIFY_WORKER")
    if setting is None:
        return bool(app.config.get("SMTP_HOST")) and not app.testing
    return bool(setting) and bool(app.config.get("SMTP_HOST"))


_start_lock = threading.Lock()


def start_worker(app):
    """Start the app's sending thread in this process once, if enabled; returns it or None."""
    if not worker_enabled(app):
        return None
    with _start_lock:
        worker = app.extensions.get("notify_worker")
        if worker is None or not worker.is_alive():
            worker = NotifyWorker(app.config)
            worker.start()
            app.extensions["notify_worker"] = worker
    return worker


def stop_worker(app):
    """Stop the app's sending thread, if one runs."""
    worker = app.extensions.pop("notify_worker", None)
    if worker is not None:
        worker.stop()
