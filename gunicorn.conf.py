"""gunicorn settings for `make run`: loopback only, one model per worker."""

import os
import sys

from classifier.onnx_embedder import split_cores as inference_threads

bind = os.environ.get("INTAKE_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("INTAKE_WORKERS", "2"))
timeout = 120
accesslog = "-"


# Each worker's ONNX Runtime session would otherwise use every core: two workers then fight over them and
# concurrent requests get slower in total than one at a time. Set here, in the master, so every worker (which
# opens its session while loading the app, before any hook runs) inherits it. INTAKE_TORCH_THREADS is the old name.
os.environ["INTAKE_INFERENCE_THREADS"] = str(inference_threads(
    os.cpu_count(), workers, os.environ.get("INTAKE_INFERENCE_THREADS") or os.environ.get("INTAKE_TORCH_THREADS")))


def post_worker_init(worker):
    """Start the webhook delivery thread, so a restart resumes the outbox; cap torch's threads if it was loaded."""
    from api.delivery import start_worker

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ["INTAKE_INFERENCE_THREADS"]))
    start_worker(worker.wsgi)
