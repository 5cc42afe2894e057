"""gunicorn settings for `make run`: loopback only, one model per worker."""

import os

bind = os.environ.get("INTAKE_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("INTAKE_WORKERS", "2"))
timeout = 120
accesslog = "-"


def post_worker_init(worker):
    """Share the cores between workers and start the webhook delivery thread, so a restart resumes the outbox."""
    import torch

    from api.delivery import start_worker

    # Each worker's torch would otherwise use every core: two workers then fight over them and concurrent
    # requests get slower in total than one at a time.
    torch.set_num_threads(torch_threads(os.cpu_count(), workers, os.environ.get("INTAKE_TORCH_THREADS")))

    start_worker(worker.wsgi)


def torch_threads(cores, worker_count, setting=None):
    """Threads for each worker's forward passes: ``setting`` when given, else the cores split between workers."""
    if setting:
        return max(1, int(setting))
    return max(1, (cores or 1) // max(1, worker_count))
