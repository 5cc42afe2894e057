"""A gunicorn entry point for tests that need the real server but not the real model.

``gunicorn "tests.live_app:create_app()"`` serves the ordinary app with the keyword embedder from
``tests/fakes.py`` and a classifier trained on ``tiny_examples()`` (well under a second), so browser and
crash tests start in seconds. Every other setting comes from the ``INTAKE_*`` environment as usual.
"""

import app as application
from classifier.predictor import Classifier
from tests.fakes import FakeEmbedder, tiny_examples


def create_app():
    """The app with the fake embedder and a freshly trained tiny classifier."""
    embedder = FakeEmbedder()
    classifier = Classifier.train(tiny_examples(), embedder)
    return application.create_app({"EMBEDDER": embedder, "CLASSIFIER": classifier})
