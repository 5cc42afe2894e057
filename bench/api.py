"""Benchmark POST /api/v1/classify under gunicorn on loopback, against the bare classifier in this process.

Run: python bench/api.py [--seconds S] [--clients 1,4,16]. Trains the model first if none matches the
training data. Starts gunicorn (gunicorn.conf.py, a throwaway database, a free 127.0.0.1 port), sends
~120-word descriptions from each number of concurrent clients for a bounded time, prints p50/p95/p99,
throughput and errors, then the ratio of the API's one-client p50 to the bare classifier's p50.
Prints figures and the issue's targets; asserts nothing.
"""

import argparse
import http.client
import importlib.util
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from classifier.cli import settings  # noqa: E402
from classifier.dataset import load_examples  # noqa: E402
from classifier.predictor import ModelFileError  # noqa: E402
from classifier.service import load_current, train_and_save  # noqa: E402
from storage import migrate, open_db  # noqa: E402
from storage.tokens import create_token  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from classify import descriptions, pct  # noqa: E402

# The server's own settings file, so the bench gives the bare classifier the threads a worker gets.
_spec = importlib.util.spec_from_file_location("gunicorn_settings", ROOT / "gunicorn.conf.py")
server_settings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(server_settings)

PATH = "/api/v1/classify"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(port, method, path, body=None, headers=None, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def start_server(port, db_path, log_path):
    env = dict(os.environ, INTAKE_BIND=f"127.0.0.1:{port}", INTAKE_DATABASE=db_path, INTAKE_PRELOAD_MODEL="true",
               INTAKE_API_RATE_LIMIT="1000000 per minute", HF_HUB_OFFLINE="1")
    log = open(log_path, "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py",
                             "app:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}; see {log_path}")
        try:
            if call(port, "GET", "/api/v1/health", timeout=5)[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"the service did not become healthy within 180 s; see {log_path}")


def load(port, token, texts, clients, seconds):
    """``clients`` threads posting in a loop for ``seconds``; returns (latencies, errors, elapsed)."""
    latencies, errors, lock = [], [], threading.Lock()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(n):
        i = n
        while time.monotonic() < stop_at:
            body = json.dumps({"description": texts[i % len(texts)]})
            i += clients
            t0 = time.perf_counter()
            try:
                status, _ = call(port, "POST", PATH, body, headers)
            except OSError as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - t0
            with lock:
                (latencies.append(elapsed) if status == 200 else errors.append(status))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.monotonic() - started


def _stop(signum, frame):
    # Turn SIGTERM into an exit so the finally block stops gunicorn instead of orphaning it.
    raise SystemExit(128 + signum)


def time_bare(classifier, texts, runs):
    """Seconds per classification, ``runs`` times, in this process."""
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        classifier.classify(texts[i % len(texts)])
        times.append(time.perf_counter() - t0)
    return times


def main():
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15, help="load time per concurrency level")
    parser.add_argument("--clients", default="1,4,16", help="concurrency levels, comma-separated")
    parser.add_argument("--runs", type=int, default=100, help="bare classifications to time")
    args = parser.parse_args()
    config = settings()
    try:
        classifier = load_current(config)
    except ModelFileError:
        print("No saved model for the current data: training one first.")
        classifier = train_and_save(config)
    texts = descriptions(load_examples(config["TRAINING_DATA"]))
    words = statistics.mean(len(t.split()) for t in texts)

    workers = int(os.environ.get("INTAKE_WORKERS", "2"))
    threads = server_settings.inference_threads(os.cpu_count(), workers, os.environ.get("INTAKE_INFERENCE_THREADS"))
    # The ratio compares like with like: the bare classifier on as many threads as each worker gets. The session
    # opens on first use, so setting its threads now is enough.
    classifier.embedder.threads = threads
    for text in texts[:5]:
        classifier.classify(text)
    bare = time_bare(classifier, texts, args.runs)
    bare_p50 = statistics.median(bare)
    del classifier

    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bench.db")
        db = open_db(db_path)
        migrate(db)
        token, _ = create_token(db, "bench", "classify")
        db.close()
        port = free_port()
        proc = start_server(port, db_path, str(Path(tmp) / "gunicorn.log"))
        try:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            for text in texts[:10]:  # warm both workers
                call(port, "POST", PATH, json.dumps({"description": text}), headers)
            print(f"descriptions: {len(texts)} of {words:.0f} words; gunicorn with {workers} workers of {threads} "
                  f"inference thread(s) on 127.0.0.1:{port}; {args.seconds:.0f} s per level")
            print(f"bare classifier (this process, {args.runs} runs, {threads} thread(s) like a worker): "
                  f"p50 {1000 * bare_p50:.1f} ms, p95 {1000 * pct(bare, 95):.1f} ms")
            one_client_p50 = None
            for clients in [int(c) for c in args.clients.split(",")]:
                latencies, errors, elapsed = load(port, token, texts, clients, args.seconds)
                if not latencies:
                    print(f"{clients:>2} clients: no successful request; errors {errors[:5]}")
                    continue
                p50 = statistics.median(latencies)
                if clients == 1:
                    one_client_p50 = p50
                kinds = {str(e): errors.count(e) for e in set(errors)}
                print(f"{clients:>2} clients: {len(latencies)} ok, p50 {1000 * p50:.1f} ms, "
                      f"p95 {1000 * pct(latencies, 95):.1f} ms, p99 {1000 * pct(latencies, 99):.1f} ms, "
                      f"{len(latencies) / elapsed:.1f} req/s, errors {len(errors)} {kinds or ''}")
            if one_client_p50 is not None:
                print(f"ratio API p50 (1 client) / bare classifier p50: {one_client_p50 / bare_p50:.2f}")
            print("targets: p50 <= 40 ms with 1 client; 0 errors at 16 clients; ratio <= 1.3")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
