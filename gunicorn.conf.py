"""gunicorn settings for `make run`: loopback only, one model per worker."""

import os
import sys

from config import split_cores as inference_threads

bind = os.environ.get("INTAKE_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("INTAKE_WORKERS", "2"))
timeout = 120
accesslog = "-"


# Each worker's ONNX Runtime session would otherwise use every core: two workers then fight over them and
# concurrent requests get slower in total than one at a time. Set here, in the master, so every worker (which
# opens its session while loading the app, before any hook runs) inherits it. INTAKE_TORCH_THREADS is the old name.
os.environ["INTAKE_INFERENCE_THREADS"] = str(inference_threads(
    os.cpu_count(), workers, os.environ.get("INTAKE_INFERENCE_THREADS") or os.environ.get("INTAKE_TORCH_THREADS")))


def insecure_bind(bind_to, cookie_secure):
    """Why serving on ``bind_to`` without ``Secure`` session cookies is refused (a sentence), or None.

    Off this machine the session cookie would travel in clear over HTTP; bind to loopback (a local proxy
    terminating TLS), or set INTAKE_SESSION_COOKIE_SECURE=true behind TLS.
    """
    host = bind_to.rsplit(":", 1)[0].strip("[]") if ":" in bind_to else bind_to
    if cookie_secure or host in ("127.0.0.1", "localhost", "::1") or bind_to.startswith("unix:"):
        return None
    return (f"Refusing to serve on {bind_to} with INTAKE_SESSION_COOKIE_SECURE=false: session cookies would "
            "travel in clear. Serve behind TLS and set it to true, bind to 127.0.0.1, or set "
            "INTAKE_ALLOW_INSECURE_BIND=true to accept the risk.")


_problem = insecure_bind(bind, os.environ.get("INTAKE_SESSION_COOKIE_SECURE", "false").lower() in ("1", "true"))
if _problem and os.environ.get("INTAKE_ALLOW_INSECURE_BIND", "").lower() not in ("1", "true"):
    raise SystemExit(_problem)


def post_worker_init(worker):
    """Start the webhook and e-mail threads, so a restart resumes both outboxes; cap torch's threads if loaded."""
    from api.delivery import start_worker
    from notify.worker import start_worker as start_notify_worker

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ["INTAKE_INFERENCE_THREADS"]))
    start_worker(worker.wsgi)
    start_notify_worker(worker.wsgi)
