"""The classifier inside the app: loading it at start-up."""

from app import create_app
from classifier.dataset import load_examples
from classifier.service import expected_version, model_file
from tests.fakes import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting the texts it was asked to embed."""

    def __init__(self):
        self.texts = 0

    def encode(self, texts):
        self.texts += len(texts)
        return super().encode(texts)


def test_preloading_runs_one_classification_so_the_first_request_is_warm(tmp_path, tiny_data, fake_classifier):
    models = tmp_path / "models"
    version = expected_version(load_examples(tiny_data), FakeEmbedder())
    fake_classifier.save(model_file(models, version))
    embedder = CountingEmbedder()
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "TRAINING_DATA": str(tiny_data),
                      "MODEL_DIR": str(models), "EMBEDDER": embedder, "PRELOAD_MODEL": True})
    assert app.extensions["classifier"].version == version
    assert embedder.texts > 0


def test_preloading_without_a_model_logs_and_starts(tmp_path, tiny_data, caplog):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "TRAINING_DATA": str(tiny_data),
                      "MODEL_DIR": str(tmp_path / "models"), "EMBEDDER": FakeEmbedder(), "PRELOAD_MODEL": True})
    assert "classifier" not in app.extensions
    assert "Classifier not loaded at start-up" in caplog.text
