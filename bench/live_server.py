"""Start the real service under gunicorn on a free loopback port, for the load bench and the browser, load and
crash tests (tests import this; it imports nothing from tests)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from storage import migrate, open_db
from storage.users import create_user

ROOT = Path(__file__).resolve().parent.parent
# The password of every user the tests and the load bench create.
PASSWORD = "correct horse battery"
# The app with the keyword embedder (tests/live_app.py): a gunicorn target, started by name, not imported here.
FAKE_MODEL_APP = "tests.live_app:create_app()"
ROLES = ("submitter", "reviewer", "admin")


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(path, users=ROLES):
    """Create the database file at ``path`` with one user per role (``<role>@example.com``)."""
    db = open_db(str(path))
    migrate(db)
    for role in users:
        email = f"{role}@example.com"
        if not db["users"].count_where("email = ?", [email]):
            create_user(db, email, PASSWORD, role)
    db.close()


def stop_group(process, grace=10):
    """Stop a process started in its own session, and its children: SIGTERM, then SIGKILL after ``grace`` s."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


class LiveServer:
    """gunicorn serving the app from a folder of its own.

    :param folder: holds the database, models, log and secret key.
    :param fake_model: serve ``tests.live_app`` (keyword embedder) instead of the real model.
    :param workers: gunicorn worker processes.
    :param env: extra environment variables (``INTAKE_*`` settings).
    """

    def __init__(self, folder, fake_model=True, workers=1, env=None):
        self.folder = Path(folder)
        self.fake_model = fake_model
        self.workers = workers
        self.extra_env = dict(env or {})
        self.database = self.folder / "intake.db"
        self.log_path = self.folder / "server.log"
        self.port = None
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def environment(self):
        env = dict(os.environ)
        env.update(
            {
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "INTAKE_DATABASE": str(self.database),
                "INTAKE_MODEL_DIR": str(self.folder / "models"),
                "INTAKE_SECRET_KEY": "live-server-test-key",
                "INTAKE_BIND": f"127.0.0.1:{self.port}",
                "INTAKE_WORKERS": str(self.workers),
                "INTAKE_PRELOAD_MODEL": "true",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout=120):
        """Start gunicorn and wait until ``/api/v1/health`` answers; returns self."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.database.exists():
            prepare_database(self.database)
        self.port = self.port or free_port()
        target = FAKE_MODEL_APP if self.fake_model else "app:create_app()"
        # The imports take most of a start; with the fake model the workers can share one import by forking.
        # The real model is loaded per worker, as in production: an inference session's threads do not survive a fork.
        preload = ["--preload"] if self.fake_model else []
        log = open(self.log_path, "ab")  # handed to the child; closed in stop()
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), *preload, target],
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            # Under load the probe queues behind other requests: give it the time left, not a fixed few seconds.
            wait = max(1.0, min(60.0, deadline - time.monotonic()))
            try:
                # self.url is http://127.0.0.1:<port>, built above: never a file: or user-given URL.
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=wait) as response:  # nosec B310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")

    def kill(self):
        """SIGKILL the whole process group (arbiter and workers), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self._close_log()

    def stop(self):
        """Stop gracefully, killing after ten seconds."""
        stop_group(self.process)
        self._close_log()

    def _close_log(self):
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()

    def log(self):
        """What gunicorn and the app have written so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
