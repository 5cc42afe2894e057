"""Benchmark the classifier with the real model: load time, latency, batch throughput, memory, overhead.

Run: python bench/classify.py [--runs N]. Trains the model first if none matches the training data.
Prints figures; asserts nothing.
"""

import argparse
import functools
import os
import resource
import statistics
import sys
import time
from pathlib import Path

START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from classifier.cli import settings  # noqa: E402
from classifier.dataset import load_examples  # noqa: E402
from classifier.predictor import ModelFileError  # noqa: E402
from classifier.service import load_current, make_embedder, train_and_save  # noqa: E402


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


def bare_forward(embedder, text):
    """Tokenise and run the transformer once, pooled: the floor any classification pays."""
    embedder._forward([text])


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200, help="single classifications to time")
    args = parser.parse_args()
    config = settings()
    imports_done = time.perf_counter()
    load_started = time.perf_counter()
    try:
        classifier = load_current(config)
        classifier.embedder.load()
    except ModelFileError:
        print("No saved model for the current data: training one first (not part of the load figure).")
        train_and_save(config)
        load_started = time.perf_counter()
        classifier = load_current(config, make_embedder(config))
        classifier.embedder.load()
    loaded = time.perf_counter()

    texts = descriptions(load_examples(config["TRAINING_DATA"]))
    for text in texts[:5]:
        classifier.classify(text)
        bare_forward(classifier.embedder, text)

    single, bare = [], []
    for i in range(args.runs):
        text = texts[i % len(texts)]
        # Alternate which goes first, so neither always runs on a cache or thread pool the other warmed.
        order = ((bare, functools.partial(bare_forward, classifier.embedder, text)),
                 (single, functools.partial(classifier.classify, text)))
        for times, run in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)

    batch_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        classifier.classify_many(texts[:64])
        batch_times.append(time.perf_counter() - t0)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    words = statistics.mean(len(t.split()) for t in texts)
    print(f"descriptions: {len(texts)} of {words:.0f} words on average; {args.runs} timed single runs")
    print(f"imports: {imports_done - START:.2f} s; model load (embedder + saved heads): {loaded - load_started:.2f} s; "
          f"process start to ready: {loaded - START:.2f} s")
    print(f"single classification: p50 {1000 * statistics.median(single):.1f} ms, p95 {1000 * pct(single, 95):.1f} ms")
    print(f"bare embedding forward pass: p50 {1000 * statistics.median(bare):.1f} ms")
    print(f"ratio classification / forward pass (p50): {statistics.median(single) / statistics.median(bare):.3f}")
    best = min(batch_times)
    print(f"batch of 64: {best:.2f} s (best of 3), {64 / best:.1f} descriptions/s")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
