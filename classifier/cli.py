"""Command line: ``python -m classifier ...`` and ``flask classifier ...``."""

import json
import os
import sys
import time
from pathlib import Path

import click

import config

from .dataset import DatasetError, load_examples, same_text
from .embedders import ModelMissingError
from .labels import DECISIONS, LABEL_FIELDS, REVIEW
from .predictor import ModelFileError, labels_of
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
    "decisions_about_individuals",
    "decisions_about_individuals_probability",
    "qualified_human_review",
    "qualified_human_review_probability",
    "prohibited_category",
    "prohibited_category_share",
    "uses",
    "possible_uses",
    "use_probabilities",
    "uncertain",
    "unreadable",
    "explanation",
    "model_version",
)


def settings():
    """The app's config under ``flask``; otherwise the same settings, read as the app reads them."""
    from flask import current_app
    from flask.cli import ScriptInfo

    if current_app:
        return current_app.config
    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx else None
    if info is not None and info.create_app is not None:
        return info.load_app().config
    return config.load()


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


def _overrides_options(command):
    command = click.option(
        "--overrides-file", type=click.Path(dir_okay=False, path_type=Path),
        help="Read the corrections from this JSON-lines file (`flask review export-overrides`) instead of the "
             "database; implies --with-overrides.")(command)
    return click.option(
        "--with-overrides", is_flag=True,
        help="Add the reviewers' corrections from the configured database (DATABASE).")(command)


def _corrections(config, with_overrides, overrides_file):
    """The reviewers' corrections asked for, with where they came from; ``(None, None)`` when not asked."""
    from .overrides import read_overrides_db, read_overrides_file

    if overrides_file is not None:
        return read_overrides_file(overrides_file), str(overrides_file)
    if with_overrides:
        return read_overrides_db(config["DATABASE"]), str(config["DATABASE"])
    return None, None


@classifier_cli.command("train")
@click.option("--force", is_flag=True, help="Retrain even when a model for the current data is saved.")
@_overrides_options
def train_command(force, with_overrides, overrides_file):
    """Train on data/training/examples.jsonl and save under the model folder.

    Skips the work when a saved model already matches the training data and settings. The model trained
    becomes the one the app and `predict` serve; a plain `train` goes back to the shipped-data model.
    """
    from .service import train_and_save

    config = settings()
    started = time.perf_counter()
    try:
        corrections, source = _corrections(config, with_overrides, overrides_file)
        if source:
            click.echo(f"Read {len(corrections)} reviewer corrections from {source}.")
        train_and_save(config, force=force, progress_factory=_progress_factory("embedding"), echo=click.echo,
                       corrections=corrections)
    except (DatasetError, ModelMissingError, ModelFileError) as exc:
        _fail(str(exc))
    click.echo(f"Done in {time.perf_counter() - started:.1f} s.")


@classifier_cli.command("evaluate")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20), help="Cross-validation folds.")
@click.option("--report", "report_path", default="reports/evaluation.md", show_default=True, help="Markdown report.")
@click.option("--chart", "chart_path", default="reports/evaluation.png", show_default=True, help="PNG chart.")
@click.option("--compare", "compare_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="`predict` output of another model on the validation set, scored beside the others.")
@click.option("--compare-name", default="Previous model", show_default=True, help="What to call that model.")
@_overrides_options
def evaluate_command(folds, report_path, chart_path, compare_file, compare_name, with_overrides, overrides_file):
    """Cross-validate the classifier and two baselines (TF-IDF, keyword list) on the same folds, then score all
    three, trained on every example, on the real-text validation set (VALIDATION_DATA), with end-to-end verdicts.

    With reviewers' corrections, also compare cross-validation with and without them, and how the model
    trained without them scores on the corrected cases.
    """
    from .endtoend import end_to_end
    from .evaluate import SYSTEMS, correction_effect, cross_validate, embed_by_text, held_out, read_predictions, score
    from .overrides import merge
    from .report import render_chart, render_markdown
    from .service import expected_version, prepare_embedder

    config = settings()
    started = time.perf_counter()
    try:
        examples = load_examples(config["TRAINING_DATA"])
        validation = _validation(config, examples)
        compared = read_predictions(compare_file, validation) if compare_file else None
        corrections, source = _corrections(config, with_overrides, overrides_file)
        merged = merge(examples, corrections) if corrections else None
        embedder = prepare_embedder(config, echo=click.echo)
        lists = [examples, validation] + ([merged["examples"]] if merged else [])
        total = len({e["text"] for items in lists for e in items})
        docs_by_text = embed_by_text(lists, embedder, progress=_progress_factory("embedding")(total))
        preds = cross_validate(examples, embedder, folds=folds, docs=[docs_by_text[e["text"]] for e in examples])
        effect = correction_effect(examples, merged, docs_by_text, folds=folds) if merged else None
        real = held_out(examples, validation, docs_by_text)
    except (DatasetError, ModelMissingError) as exc:
        _fail(str(exc))
    truth = [labels_of(e) for e in examples]
    scores = {name: score(truth, preds[name]) for name in SYSTEMS}
    if compared is not None:
        real[compare_name] = compared
    real_truth = [labels_of(e) for e in validation]
    real_report = {"examples": len(validation), "systems": list(real),
                   "scores": {name: score(real_truth, p) for name, p in real.items()},
                   "end_to_end": {name: end_to_end(real_truth, p) for name, p in real.items()}}
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
    overrides = None
    if source is not None:
        overrides = {"source": source, "corrections": len(corrections)}
        if merged:
            overrides.update(effect, replaced=len(merged["replaced"]), added=len(merged["added"]),
                             examples=len(merged["examples"]),
                             model_version=expected_version(merged["examples"], embedder))
    render_chart(scores, truth, preds["embedding"], chart_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_markdown(scores, meta, overrides, real_report), encoding="utf-8")
    click.echo(f"Cross-validation on {len(examples)} examples:")
    for name in SYSTEMS:
        click.echo(f"  {name:14} {_figures(scores[name])}")
    click.echo(f"Real-text validation set, {len(validation)} descriptions:")
    for name in real_report["systems"]:
        s, e2e = real_report["scores"][name], real_report["end_to_end"][name]
        verdicts = "  ".join(f"{v} {e2e[v]['agreement']:.3f}" for v in e2e)
        click.echo(f"  {name:14} {_figures(s)}  harmless called prohibited {s['harmless_called_prohibited']:.3f}  "
                   f"verdicts equal: {verdicts}")
    if overrides is not None:
        _echo_overrides(scores["embedding"], overrides)
    click.echo(f"Wrote {report_path} and {chart_path}.")


def _validation(config, examples):
    """The real-text validation set, refused when any of its texts is also a training example."""
    validation = load_examples(config["VALIDATION_DATA"])
    trained = {same_text(e["text"]) for e in examples}
    shared = [e["id"] for e in validation if same_text(e["text"]) in trained]
    if shared:
        raise DatasetError(f"{len(shared)} validation examples are also training examples (first: {shared[0]}); "
                           "a validation set must never enter training.")
    return validation


def _figures(s):
    return (f"domain macro-F1 {s['domain_macro_f1']:.3f}  audience acc {s['audience_accuracy']:.3f}  "
            f"prohibited P {s['prohibited_detection']['precision']:.3f} R {s['prohibited_detection']['recall']:.3f}")


def _echo_overrides(shipped, overrides):
    if not overrides["corrections"]:
        click.echo(f"No reviewer corrections in {overrides['source']}; nothing to compare.")
        return
    n = overrides["corrections"]
    click.echo(f"Reviewer corrections: {n} ({overrides['replaced']} relabelling shipped examples, "
               f"{overrides['added']} new cases); embedding classifier:")
    click.echo(f"  (a) shipped only, CV          {_figures(shipped)}")
    click.echo(f"  (b) shipped + corrections, CV {_figures(overrides['scores'])}")
    # The labels shown side by side (all but decisions and qualified review), then all of them together.
    keys = (*(k for k in LABEL_FIELDS if k not in (DECISIONS, REVIEW)), "all")
    click.echo(f"  On the {n} corrected cases, share whose prediction matches the reviewer:")
    click.echo(" " * 34 + "".join(f"{k:>11}" for k in keys))
    for label, shares in (("(c) trained without corrections", overrides["before"]),
                          ("(c) CV with corrections", overrides["after"])):
        click.echo(f"  {label:32}" + "".join(f"{shares[k]:11.3f}" for k in keys))


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
