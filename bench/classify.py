"""Benchmark the classifier with the real model: the torch path against the ONNX Runtime path, in one run.

Run: python bench/classify.py [--runs N]. Trains (and exports) the model first if none matches the training data.
Each path is measured in a fresh process of its own, so start-to-ready and peak memory are those of a serving
process: imports, model load, single-classification latency, batch throughput and peak RSS. Both paths use the
saved heads; only the embedder differs (torch runs the original weights, ONNX Runtime the export the service
serves). Prints figures; asserts nothing.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PATHS = ("torch", "onnx")


def descriptions(examples, words=120, count=64):
    """Descriptions of about ``words`` words, stitched from consecutive training examples."""
    out, i = [], 0
    while len(out) < count:
        parts = []
        while sum(len(p.split()) for p in parts) < words:
            parts.append(examples[i % len(examples)]["text"])
            i += 7
        out.append(" ".join(" ".join(parts).split()[:words]))
    return out


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def serve(path, runs, threads):
    """Measure one path in this (fresh) process and print its figures as one JSON line."""
    from classifier.cli import settings
    from classifier.dataset import load_examples
    from classifier.service import load_current

    config = settings()
    imported = time.perf_counter()
    classifier = load_current(config)
    if path == "torch":
        import torch

        from classifier.embedders import MiniLMEmbedder

        torch.set_num_threads(threads)
        # The same heads behind torch's forward pass: what serving cost before the export.
        classifier.embedder = MiniLMEmbedder(config.get("EMBEDDING_MODEL_PATH") or None)
    else:
        classifier.embedder.threads = threads
    classifier.embedder.load()
    texts = descriptions(load_examples(config["TRAINING_DATA"]))
    classifier.classify(texts[0])
    ready = time.perf_counter()
    single = []
    for i in range(runs):
        t0 = time.perf_counter()
        classifier.classify(texts[i % len(texts)])
        single.append(time.perf_counter() - t0)
    batch = []
    for _ in range(3):
        t0 = time.perf_counter()
        classifier.classify_many(texts[:64])
        batch.append(time.perf_counter() - t0)
    print(json.dumps({
        "path": path, "imports": imported - START, "ready": ready - START, "p50": statistics.median(single),
        "p95": pct(single, 95), "batch_per_s": 64 / min(batch), "peak_rss_mb":
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "words": statistics.mean(len(t.split()) for t in texts), "runs": runs, "threads": threads,
        "torch_loaded": "torch" in sys.modules}))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200, help="single classifications to time per path")
    parser.add_argument("--threads", type=int, default=1, help="inference threads per path (one gunicorn worker's)")
    parser.add_argument("--serve", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.runs, args.threads)
        return
    from classifier.cli import settings
    from classifier.predictor import ModelFileError
    from classifier.service import load_current, train_and_save

    try:
        load_current(settings())
    except ModelFileError:
        print("No saved model for the current data: training (and exporting) one first.")
        train_and_save(settings())
    figures = {}
    for path in PATHS:
        out = subprocess.run([sys.executable, __file__, "--serve", path, "--runs", str(args.runs), "--threads",
                              str(args.threads)], capture_output=True, text=True, check=True, cwd=ROOT)
        figures[path] = json.loads(out.stdout.strip().splitlines()[-1])
    t, o = figures["torch"], figures["onnx"]
    print(f"{t['runs']} single classifications of {t['words']:.0f}-word descriptions per path, {t['threads']} "
          "inference thread(s), each path in a fresh process")
    print(f"{'':28}{'torch':>12}{'ONNX Runtime':>16}{'ONNX / torch':>14}")
    rows = (("imports (s)", "imports", 1, "{:.2f}"), ("process start to ready (s)", "ready", 1, "{:.2f}"),
            ("single p50 (ms)", "p50", 1000, "{:.1f}"), ("single p95 (ms)", "p95", 1000, "{:.1f}"),
            ("batch of 64 (desc/s)", "batch_per_s", 1, "{:.1f}"), ("peak RSS (MB)", "peak_rss_mb", 1, "{:.0f}"))
    for label, key, scale, fmt in rows:
        a, b = t[key] * scale, o[key] * scale
        print(f"{label:28}{fmt.format(a):>12}{fmt.format(b):>16}{b / a:>14.2f}")
    print(f"torch imported by the ONNX path: {'yes' if o['torch_loaded'] else 'no'}")


if __name__ == "__main__":
    main()
