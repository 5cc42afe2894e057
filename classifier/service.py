"""The classifier inside the app and the CLI: finding, training and caching the saved model."""

import json
import logging
import os
import re
import threading
from pathlib import Path

from flask import current_app
from threadpoolctl import threadpool_limits

from .cli import classifier_cli
from .dataset import load_examples
from .embedders import ModelMissingError
from .model import UseCaseHeads
from .onnx_embedder import OnnxEmbedder
from .overrides import merge
from .predictor import Classifier, ModelFileError, model_version
from .text import DescriptionError

# Names the model the app serves: the shipped-data model or one trained with reviewers' corrections.
POINTER = "current.json"
_VERSION = re.compile(r"[0-9a-f]{12}")
_lock = threading.Lock()
WARM_UP_TEXT = "An internal assistant that summarises meeting notes for the sales team."
logger = logging.getLogger(__name__)


def make_embedder(config):
    """The embedder the settings ask for: an injected instance, else all-MiniLM-L6-v2 on ONNX Runtime."""
    return config.get("EMBEDDER") or OnnxEmbedder(config["MODEL_DIR"], precision=config["EMBEDDER_PRECISION"],
                                                  path=config.get("EMBEDDING_MODEL_PATH") or None)


def prepare_embedder(config, echo=print):
    """:func:`make_embedder`, with its ONNX export made first when it is missing or damaged (this needs torch)."""
    embedder = make_embedder(config)
    if isinstance(embedder, OnnxEmbedder):
        from .export import export

        export(embedder, echo=echo)
    return embedder


def model_file(model_dir, version):
    """Where the model of ``version`` is saved."""
    return Path(model_dir) / f"classifier-{version}.npz"


def expected_version(examples, embedder):
    """The version a model trained now on ``examples`` would have."""
    return model_version(examples, embedder.name, UseCaseHeads().get_params())


def _write_pointer(model_dir, version, base_version, summary):
    """Record atomically which saved model the app serves, so a half-written pointer is never read."""
    pointer = {"version": version, "file": model_file(model_dir, version).name, "base_version": base_version,
               **summary}
    path = Path(model_dir) / POINTER
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{POINTER}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(pointer, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return pointer


def read_pointer(model_dir, base_version):
    """The model file ``current.json`` names and its version, or ``(None, None, why)`` when it cannot be used.

    A pointer made before the shipped data or the embedder changed is stale: its model was trained on other data.
    """
    path = Path(model_dir) / POINTER
    if not path.is_file():
        return None, None, None
    try:
        pointer = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, None, f"{path} is unreadable ({exc.__class__.__name__})"
    version = pointer.get("version") if isinstance(pointer, dict) else None
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        return None, None, f"{path} names no valid model version"
    if pointer.get("base_version") != base_version:
        return None, None, f"{path} names model {version}, trained before the training data or embedder changed"
    # The file name is derived from the version, never taken from the pointer, so it cannot leave MODEL_DIR.
    model = model_file(model_dir, version)
    if pointer.get("file") != model.name or not model.is_file():
        return None, None, f"{path} names {model.name}, which is not saved"
    return model, version, None


def load_current(config, embedder=None):
    """Load the model ``current.json`` names, else the saved model that matches the shipped training data.

    An unusable pointer is logged and ignored, so a damaged pointer never stops the service.
    :raises ModelFileError: when it has not been trained or the file is unreadable.
    :raises DatasetError: when the training data is invalid.
    """
    embedder = embedder or make_embedder(config)
    examples = load_examples(config["TRAINING_DATA"])
    base_version = expected_version(examples, embedder)
    # The heads' matrix products are tiny; idle BLAS threads spinning after them steal the cores the
    # transformer's own threads need on the next request.
    threadpool_limits(1, user_api="blas")
    pointed, version, problem = read_pointer(config["MODEL_DIR"], base_version)
    if pointed is not None and version != base_version:
        try:
            classifier = Classifier.load(pointed, embedder)
            if classifier.version == version:
                return classifier
            problem = f"{pointed.name} holds model {classifier.version}, not {version}"
        except ModelFileError as exc:
            problem = str(exc)
    if problem:
        logger.warning("Ignoring %s: %s. Serving the model for the shipped training data.", POINTER, problem)
    path = model_file(config["MODEL_DIR"], base_version)
    if not path.is_file():
        raise ModelFileError(
            f"No model trained on the current training data (expected {path.name}). "
            "Run `flask classifier train` (or `make run`, which trains it)."
        )
    return Classifier.load(path, embedder)


def train_and_save(config, embedder=None, force=False, progress_factory=None, echo=print, corrections=None):
    """Train on the configured data unless a matching model is saved and loads; return the classifier.

    The trained (or up-to-date) model becomes the one ``current.json`` names. A saved model that fails to load
    is replaced by a fresh one rather than left broken.
    :param corrections: reviewers' corrections to merge into the shipped examples (see
        :func:`classifier.overrides.merge`); None trains on the shipped examples only.
    :param progress_factory: called with the number of documents, returns a callable advanced per document.
    """
    embedder = embedder or prepare_embedder(config, echo)
    shipped = load_examples(config["TRAINING_DATA"])
    base_version = expected_version(shipped, embedder)
    examples, summary = shipped, {"training": "shipped", "examples": len(shipped), "replaced": 0, "added": 0}
    if corrections:
        merged = merge(shipped, corrections)
        examples = merged["examples"]
        summary = {"training": "shipped+overrides", "examples": len(examples), "replaced": len(merged["replaced"]),
                   "added": len(merged["added"])}
        echo(f"{len(corrections)} reviewer corrections ({summary['replaced']} relabelling shipped examples, "
             f"{summary['added']} new cases).")
    elif corrections is not None:
        echo("No reviewer corrections; training on the shipped examples only.")
    path = model_file(config["MODEL_DIR"], expected_version(examples, embedder))
    classifier = None
    if path.is_file() and not force:
        try:
            classifier = Classifier.load(path, embedder)
            echo(f"Model {classifier.version} is up to date ({path}).")
        except ModelFileError as exc:
            echo(f"{exc} Retraining.")
    if classifier is None:
        progress = progress_factory(len(examples)) if progress_factory else None
        classifier = Classifier.train(examples, embedder, progress=progress)
        classifier.save(path)
        echo(f"Trained model {classifier.version} on {len(examples)} examples; saved to {path}.")
    _write_pointer(config["MODEL_DIR"], classifier.version, base_version, summary)
    return classifier


def get_classifier():
    """The app's classifier, loaded once per process, taking descriptions up to ``MAX_DESCRIPTION_CHARS``.

    :raises ModelFileError: when no usable model is saved (the pages turn this into a clear 503).
    """
    app = current_app._get_current_object()
    classifier = app.extensions.get("classifier")
    if classifier is None:
        with _lock:
            classifier = app.extensions.get("classifier")
            if classifier is None:
                classifier = load_current(app.config)
                app.extensions["classifier"] = classifier
    # The app's one limit, so the classifier takes what the forms and the API let through.
    classifier.max_chars = app.config["MAX_DESCRIPTION_CHARS"]
    return classifier


def init_app(app):
    """Add the ``classifier`` command; optionally load the model at start-up so the first request does not wait."""
    app.cli.add_command(classifier_cli)
    if app.config.get("CLASSIFIER") is not None:
        app.extensions["classifier"] = app.config["CLASSIFIER"]
    elif app.config.get("PRELOAD_MODEL"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        with app.app_context():
            try:
                # One classification reads the embedding weights and sets up the forward pass, so the first
                # request does not pay tens of seconds for it after a start or a restart.
                get_classifier().classify(WARM_UP_TEXT)
            except (ModelFileError, ModelMissingError) as exc:
                app.logger.warning("Classifier not loaded at start-up: %s", exc)


def case_embedding(text):
    """The columns that let a stored case be found by similarity: its vector and the model that made it.

    Empty (not an error) when the model is unavailable or the text cannot be embedded.
    """
    try:
        classifier = get_classifier()
        vector = classifier.document_vector(text)
    except (ModelFileError, ModelMissingError, DescriptionError):
        return {}
    return {"embedding": json.dumps([round(float(x), 5) for x in vector]), "embedding_model": classifier.version}
