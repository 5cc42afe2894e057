"""Load the live service with concurrent API clients and a reviewer, then check nothing acknowledged was lost.

Run: python bench/load.py [--seconds S] [--clients N] [--fake-model] [--crash]. Trains the model into a
throwaway folder first (or copies the matching file from instance/models). Starts gunicorn with 2 workers
(bench/live_server.py) on a throwaway database, registers a webhook to a dead URL so every state change
queues in the outbox, then for S seconds N clients create cases and classify with a token each while a
reviewer approves the cases through the web pages. With --crash the server is SIGKILLed halfway and started
again on the same database while the clients retry (same Idempotency-Key), then the load goes on for the
other half. Prints requests served, errors by status, p50/p95 per endpoint, throughput and
what the database check found; exits 1 when the check finds a problem.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tqdm import tqdm  # noqa: E402

from bench import loadgen  # noqa: E402
from bench.live_server import LiveServer, prepare_database  # noqa: E402


def real_texts():
    """The training descriptions, so the real model embeds texts of realistic length."""
    from classifier.cli import settings
    from classifier.dataset import load_examples

    return [e["text"] for e in load_examples(settings()["TRAINING_DATA"])][:200]


def install_model(model_dir):
    """Put the model for the current training data into ``model_dir``: copied when instance/models has it."""
    from classifier.cli import settings
    from classifier.dataset import load_examples
    from classifier.onnx_embedder import export_paths
    from classifier.service import expected_version, make_embedder, model_file

    config = settings()
    embedder = make_embedder(config)
    version = expected_version(load_examples(config["TRAINING_DATA"]), embedder)
    saved = model_file(config["MODEL_DIR"], version)
    exported = export_paths(config["MODEL_DIR"], embedder.key)
    model_dir.mkdir(parents=True, exist_ok=True)
    if saved.is_file() and all(path.is_file() for path in exported):
        # The heads and the ONNX export of the embedder they were trained on travel together.
        for path in (saved, *exported):
            shutil.copy(path, model_dir / path.name)
        return f"copied model {version}"
    print(f"No saved model {version}: training one (a few minutes).", file=sys.stderr)
    env = dict(os.environ, INTAKE_MODEL_DIR=str(model_dir), HF_HUB_OFFLINE="1")
    subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "app", "classifier", "train"],
                   cwd=ROOT, env=env, check=True)
    return f"trained model {version}"


def warm_up(base, token, texts, limit=600):
    """Send rounds of four concurrent classifications until two rounds in a row take about as long: each
    worker's first request loads the embedding weights, which is start-up, not load; returns the seconds."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [json.dumps({"description": text}) for text in texts[:4]]
    started, rounds = time.monotonic(), []
    with ThreadPoolExecutor(4) as pool:
        while time.monotonic() - started < limit:
            t0 = time.monotonic()
            answers = list(pool.map(lambda b: loadgen.call(base, "POST", "/api/v1/classify", b, headers), bodies))
            if any(status != 200 for status, _ in answers):
                raise SystemExit(f"warm-up classification answered {[status for status, _ in answers]}")
            rounds.append(time.monotonic() - t0)
            if len(rounds) >= 2 and max(rounds[-2:]) <= 1.5 * min(rounds[-2:]):
                break
    return time.monotonic() - started


def watch(load, seconds):
    """A progress bar on stderr until the load's threads end."""
    with tqdm(total=round(seconds), unit="s", file=sys.stderr, leave=False) as bar:
        while any(t.is_alive() for t in load.threads):
            time.sleep(1)
            bar.update(min(1, bar.total - bar.n))
            bar.set_postfix(requests=len(load.samples), cases=len(load.acknowledged), approved=len(load.approved))


def print_figures(figures, problems, label):
    print(f"{label}: {figures['requests']} requests in {figures['seconds']:.1f} s, {figures['served']} served "
          f"({figures['per_second']:.1f}/s), {figures['created']} cases acknowledged, "
          f"{figures['approved']} approved by the reviewer")
    print(f"errors by status: {figures['errors'] or 'none'}; 5xx: {figures['server_errors']}")
    for endpoint, e in figures["endpoints"].items():
        print(f"  {endpoint:<34} {e['ok']:>6} ok  p50 {e['p50_ms']:7.1f} ms  p95 {e['p95_ms']:7.1f} ms")
    print("database check: " + ("every acknowledged case, decision, outbox row and audit row is there; "
                                "integrity ok; audit chain verifies" if not problems else f"{len(problems)} problems"))
    for problem in problems[:20]:
        print(f"  {problem}")


def _stop(signum, frame):
    # Turn SIGTERM into an exit so the finally block stops gunicorn instead of orphaning it.
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs")
    parser.add_argument("--clients", type=int, default=16, help="API client threads (besides the reviewer)")
    parser.add_argument("--fake-model", action="store_true", help="serve the keyword embedder: quick, no model")
    parser.add_argument("--crash", action="store_true", help="SIGKILL the server halfway and restart it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = "fake keyword model" if args.fake_model else install_model(folder / "models")
        texts = loadgen.TEXTS if args.fake_model else real_texts()
        prepare_database(folder / "intake.db")
        tokens = loadgen.create_tokens(folder / "intake.db", args.clients)
        server = LiveServer(folder, fake_model=args.fake_model, workers=2, env=loadgen.UNLIMITED)
        started = time.monotonic()
        server.start(timeout=300)
        print(f"{model}; gunicorn with 2 workers on {server.url}, up in {time.monotonic() - started:.0f} s; "
              f"{args.clients} API clients + 1 reviewer for {args.seconds:.0f} s")
        try:
            print(f"warm-up (first model use in each worker): {warm_up(server.url, tokens[0], texts):.0f} s")
            webhook = loadgen.register_dead_webhook(server.url, tokens[0])
            load = loadgen.Load(server.url, tokens, texts).start(args.seconds)
            if args.crash:
                bar = threading.Thread(target=watch, args=(load, args.seconds), daemon=True)
                bar.start()
                crash = loadgen.crash_and_restart(server, load, args.seconds / 2, resume=args.seconds / 2)
                print(f"SIGKILL after {args.seconds / 2:.0f} s; restarted on the same database in "
                      f"{crash['restart_seconds']:.0f} s while the clients retried; then {args.seconds / 2:.0f} s "
                      f"more load, {crash['acknowledged_after_restart']} cases acknowledged after the restart")
            else:
                watch(load, args.seconds)
                load.join()
            problems = loadgen.check(server.database, load, webhook)
            print_figures(loadgen.summary(load), problems, "crash run" if args.crash else "load run")
        finally:
            server.stop()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
