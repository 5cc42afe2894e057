"""The classifier inside the app and the CLI: finding, training and caching the saved model."""

import os
import threading
from pathlib import Path

from flask import current_app
from threadpoolctl import threadpool_limits

from .dataset import load_examples
from .embedders import MiniLMEmbedder
from .model import UseCaseHeads
from .predictor import Classifier, ModelFileError, model_version

_lock = threading.Lock()


def make_embedder(config):
    """The embedder the settings ask for: an injected instance, else all-MiniLM-L6-v2."""
    return config.get("EMBEDDER") or MiniLMEmbedder(config.get("EMBEDDING_MODEL_PATH") or None)


def model_file(model_dir, version):
    """Where the model of ``version`` is saved."""
    return Path(model_dir) / f"classifier-{version}.skops"


def expected_version(examples, embedder):
    """The version a model trained now on ``examples`` would have."""
    return model_version(examples, embedder.name, UseCaseHeads().get_params())


def load_current(config, embedder=None):
    """Load the saved model that matches the training data.

    :raises ModelFileError: when it has not been trained or the file is unreadable.
    :raises DatasetError: when the training data is invalid.
    """
    embedder = embedder or make_embedder(config)
    examples = load_examples(config["TRAINING_DATA"])
    path = model_file(config["MODEL_DIR"], expected_version(examples, embedder))
    # The heads' matrix products are tiny; idle BLAS threads spinning after them steal the cores the
    # transformer's own threads need on the next request.
    threadpool_limits(1, user_api="blas")
    if not path.is_file():
        raise ModelFileError(
            f"No model trained on the current training data (expected {path.name}). "
            "Run `flask classifier train` (or `make run`, which trains it)."
        )
    return Classifier.load(path, embedder)


def train_and_save(config, embedder=None, force=False, progress_factory=None, echo=print):
    """Train on the configured data unless a matching model is saved and loads; return the classifier.

    A saved model that fails to load is replaced by a fresh one rather than left broken.
    :param progress_factory: called with the number of documents, returns a callable advanced per document.
    """
    embedder = embedder or make_embedder(config)
    examples = load_examples(config["TRAINING_DATA"])
    path = model_file(config["MODEL_DIR"], expected_version(examples, embedder))
    if path.is_file() and not force:
        try:
            classifier = Classifier.load(path, embedder)
            echo(f"Model {classifier.version} is up to date ({path}).")
            return classifier
        except ModelFileError as exc:
            echo(f"{exc} Retraining.")
    progress = progress_factory(len(examples)) if progress_factory else None
    classifier = Classifier.train(examples, embedder, progress=progress)
    classifier.save(path)
    echo(f"Trained model {classifier.version} on {len(examples)} examples; saved to {path}.")
    return classifier


def get_classifier():
    """The app's classifier, loaded once per process.

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
    return classifier


def init_app(app):
    """Optionally load the model at start-up so the first request does not wait for it."""
    if app.config.get("CLASSIFIER") is not None:
        app.extensions["classifier"] = app.config["CLASSIFIER"]
    elif app.config.get("PRELOAD_MODEL"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        with app.app_context():
            try:
                get_classifier()
            except ModelFileError as exc:
                app.logger.warning("Classifier not loaded at start-up: %s", exc)
