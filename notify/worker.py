"""The thread that sends e-mail from the outbox in each serving process, and queues the daily digest."""

import outbox_worker
from outbox_worker import OutboxWorker
from storage import clock

from .outbox import enqueue_digest, run_once


class NotifyWorker(OutboxWorker):
    """A daemon thread that fans out events and sends due e-mails every ``NOTIFY_POLL_SECONDS``."""

    name_prefix = "notify-sender"
    poll_setting = "NOTIFY_POLL_SECONDS"

    def __init__(self, config):
        super().__init__(config)
        self.digest_day = None

    def digest_due(self, now):
        """Queue today's digest once this thread reaches ``NOTIFY_DIGEST_HOUR`` (UTC)."""
        day = now.date()
        if self.digest_day != day and now.hour >= int(self.config["NOTIFY_DIGEST_HOUR"]):
            return day
        return None

    def drain(self, db):
        now = clock.now()
        day = self.digest_due(now)
        if day is not None:
            # Other processes may queue it too: the key lets one digest a day through per recipient.
            enqueue_digest(db, self.config, now)
            self.digest_day = day
        run_once(db, self.config)


def worker_enabled(app):
    """``NOTIFY_WORKER``: true or false; unset means on when e-mail is configured and not under TESTING."""
    setting = app.config.get("NOTIFY_WORKER")
    if setting is None:
        return bool(app.config.get("SMTP_HOST")) and not app.testing
    return bool(setting) and bool(app.config.get("SMTP_HOST"))


def start_worker(app):
    """Start the app's sending thread in this process once, if enabled; returns it or None."""
    return outbox_worker.start(app, "notify_worker", NotifyWorker) if worker_enabled(app) else None


def stop_worker(app):
    """Stop the app's sending thread, if one runs."""
    outbox_worker.stop(app, "notify_worker")
