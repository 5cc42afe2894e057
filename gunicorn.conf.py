"""gunicorn settings for `make run`: loopback only, one model per worker."""

import os

bind = os.environ.get("INTAKE_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("INTAKE_WORKERS", "2"))
timeout = 120
accesslog = "-"


def post_worker_init(worker):
    """Start the webhook delivery thread as each worker starts, so a restart resumes the outbox at once."""
    from api.delivery import start_worker

    start_worker(worker.wsgi)
