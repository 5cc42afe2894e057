"""The background thread that drains an outbox (webhook deliveries, e-mails) in each serving process.

Each gunicorn worker runs one per outbox; rows are leased, so two never send the same one at once.
"""

import logging
import threading

from storage import open_db

log = logging.getLogger(__name__)
_start_lock = threading.Lock()


class OutboxWorker(threading.Thread):
    """A daemon thread that calls :meth:`drain` every ``poll_seconds`` until stopped.

    Subclasses name the thread and the config key of their poll interval, and implement :meth:`drain`.
    """

    name_prefix = "outbox"
    poll_setting = None

    def __init__(self, config):
        super().__init__(name=self.name_prefix, daemon=True)
        self.config = dict(config)
        self.stopping = threading.Event()
        self.wake = threading.Event()

    def drain(self, db):
        """One pass over the outbox."""
        raise NotImplementedError

    def run(self):
        poll = float(self.config[self.poll_setting])
        # One connection for the thread's life. Besides saving a connect per pass, it means request
        # connections are never the database's last one, so closing them skips SQLite's WAL checkpoint.
        db = None
        while not self.stopping.is_set():
            try:
                db = db or open_db(self.config["DATABASE"])
                self.drain(db)
            except Exception:  # the thread must outlive a locked or not yet migrated database
                log.exception("%s pass failed", self.name)
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


def start(app, key, worker_class):
    """Start ``worker_class`` for ``app`` in this process once, kept in ``app.extensions[key]``; returns it."""
    with _start_lock:
        worker = app.extensions.get(key)
        if worker is None or not worker.is_alive():
            worker = worker_class(app.config)
            worker.start()
            app.extensions[key] = worker
    return worker


def stop(app, key):
    """Stop the worker kept in ``app.extensions[key]``, if one runs."""
    worker = app.extensions.pop(key, None)
    if worker is not None:
        worker.stop()
