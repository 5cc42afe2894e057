"""Command line: ``python -m classifier ...`` and ``flask classifier ...``."""

import json
import os
import sys
import time
from pathlib import Path

import click

from config import ROOT, Config

from .dataset import DatasetError, load_examples
from .embedders import ModelMissingError
from .predictor import ModelFileError
from .text import DescriptionError, clean_text

OUTPUT_KEYS = (
    "id",
    "domains",
    "domain_probabilities",
    "audience",
    "audience_probability",
    "prohibited",
    "prohibited_probability",
    "chatbot",
    "minors",
    "chatbot_probability",
    "minors_probability",
    "uncertain",
    "explanation",
    "model_version",
)
_PATH_KEYS = ("TRAINING_DATA", "MODEL_DIR", "EMBEDDING_MODEL_PATH")


def settings():
    """The app's config under ``flask``; otherwise the defaults with ``INTAKE_*`` overrides."""
    from flask import current_app
    from flask.cli import ScriptInfo

    if current_app:
        return current_app.config
    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx else None
    if info is not None and info.create_app is not None:
        return info.load_app().config
    config = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    for key in _PATH_KEYS + ("MAX_DESCRIPTION_CHARS",):
        if f"INTAKE_{key}" in os.environ:
            config[key] = os.environ[f"INTAKE_{key}"]
    for key in _PATH_KEYS:
        if config.get(key) and not Path(config[key]).is_absolute():
            config[key] = str(ROOT / config[key])
    return config


def _fail(message):
    raise click.ClickException(message)


def _progress_factory(label):
    def factory(total):
        from tqdm import tqdm

        bar = tqdm(total=total, desc=label, unit="doc", file=sys.stderr, disable=None)
        return bar.update

    return factory


@click.group("classifier")
def classifier_cli():
    """Train, evaluate and run the use-case classifier."""


@classifier_cli.command("train")
@click.option("--force", is_flag=True, help="Retrain even when a model for the current data is saved.")
def train_command(force):
    """Train on data/training/examples.jsonl and save under the model folder.

    Skips the work when a saved model already matches the training data and settings.
    """
    from .service import train_and_save

    started = time.perf_counter()
    try:
        train_and_save(settings(), force=force, progress_factory=_progress_factory("embedding"), echo=click.echo)
    except (DatasetError, ModelMissingError, ModelFileError) as exc:
        _fail(str(exc))
    click.echo(f"Done in {time.perf_counter() - started:.1f} s.")


@classifier_cli.command("evaluate")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20), help="Cross-validation folds.")
@click.option("--report", "report_path", default="reports/evaluation.md", show_default=True, help="Markdown report.")
@click.option("--chart", "chart_path", default="reports/evaluation.png", show_default=True, help="PNG chart.")
def evaluate_command(folds, report_path, chart_path):
    """Cross-validate the classifier and two baselines (TF-IDF, keyword list) on the same folds."""
    from .evaluate import SYSTEMS, cross_validate, score
    from .report import render_chart, render_markdown
    from .service import expected_version, make_embedder

    config = settings()
    started = time.perf_counter()
    try:
        examples = load_examples(config["TRAINING_DATA"])
        embedder = make_embedder(config)
        bar = _progress_factory("embedding")(len(examples))
        preds = cross_validate(examples, embedder, folds=folds, progress=bar)
    except (DatasetError, ModelMissingError) as exc:
        _fail(str(exc))
    truth = [{k: e[k] for k in ("domains", "audience", "prohibited", "chatbot", "minors")} for e in examples]
    scores = {name: score(truth, preds[name]) for name in SYSTEMS}
    report_path, chart_path = Path(report_path), Path(chart_path)
    try:
        chart_ref = os.path.relpath(chart_path, report_path.parent)
    except ValueError:
        chart_ref = str(chart_path)
    meta = {
        "examples": len(examples),
        "folds": folds,
        "model_version": expected_version(examples, embedder),
        "embedder": embedder.name,
        "seconds": time.perf_counter() - started,
        "chart": chart_ref,
    }
    render_chart(scores, truth, preds["embedding"], chart_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_markdown(scores, meta), encoding="utf-8")
    for name in SYSTEMS:
        s = scores[name]
        click.echo(
            f"{name:10} domain macro-F1 {s['domain_macro_f1']:.3f}  audience acc {s['audience_accuracy']:.3f}  "
            f"prohibited P {s['prohibited_detection']['precision']:.3f} R {s['prohibited_detection']['recall']:.3f}"
        )
    click.echo(f"Wrote {report_path} and {chart_path}.")


def _parse_line(number, line):
    """``(id, text)`` from one input line, or ``(id, error message)`` as a DescriptionError."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, DescriptionError(f"line {number}: not valid JSON ({exc.msg})")
    if not isinstance(record, dict):
        return None, DescriptionError(f"line {number}: expected an object with 'id' and 'text'")
    rid = record.get("id")
    if "text" not in record:
        return rid, DescriptionError(f"line {number}: missing 'text'")
    try:
        return rid, clean_text(record["text"])
    except DescriptionError as exc:
        return rid, DescriptionError(f"line {number}: {exc}")


def _emit(out, rid, result):
    result = {"id": rid, **result}
    out.write(json.dumps({k: result[k] for k in OUTPUT_KEYS}, ensure_ascii=False) + "\n")


@classifier_cli.command("predict")
@click.option("--input", "input_file", type=click.File("r", encoding="utf-8"), default="-",
              help="JSON lines {\"id\", \"text\"}; standard input by default.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 1024), help="Lines per batch.")
def predict_command(input_file, batch_size):
    """Classify JSON lines; write one JSON line per input line, in input order.

    A bad line yields {"id", "error"} and the others go on.
    """
    from .service import load_current

    try:
        classifier = load_current(settings())
    except (DatasetError, ModelMissingError, ModelFileError) as exc:
        _fail(str(exc))
    out = sys.stdout
    pending = []

    def flush():
        good = [(i, item) for i, item in enumerate(pending) if not isinstance(item[1], Exception)]
        results = classifier.classify_many([text for _, (_, text) in good]) if good else []
        by_position = {i: r for (i, _), r in zip(good, results)}
        for i, (rid, item) in enumerate(pending):
            if isinstance(item, Exception):
                out.write(json.dumps({"id": rid, "error": str(item)}, ensure_ascii=False) + "\n")
            else:
                _emit(out, rid, by_position[i])
        out.flush()
        pending.clear()

    for number, line in enumerate(input_file, start=1):
        if not line.strip():
            continue
        pending.append(_parse_line(number, line))
        if len(pending) >= batch_size:
            flush()
    flush()
