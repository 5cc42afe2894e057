"""The embedder exported to ONNX: same vectors as torch in fp32, a clear error when the export is missing or stale."""

import json
import subprocess
import sys

import numpy as np
import pytest

from classifier.embedders import ModelMissingError
from classifier.export import export
from classifier.onnx_embedder import OnnxEmbedder, export_paths
from config import split_cores

TEXTS = ["A symptom checker for patients. It runs on phones.", "Résumé screening for a café chain, 24/7 ☕",
         " ".join(["The product formats internal slide decks for the quarterly all-hands meeting."] * 60)]


@pytest.mark.model
def test_fp32_export_gives_torchs_vectors_and_int8_stays_close(tmp_path, real_embedder, served_embedder):
    fp32 = OnnxEmbedder(tmp_path, precision="fp32")
    export(fp32, echo=lambda message: None)
    reference = real_embedder.embed_documents(TEXTS)
    for ours, theirs in zip(fp32.embed_documents(TEXTS), reference):
        np.testing.assert_allclose(ours.vector, theirs.vector, atol=1e-4)
        np.testing.assert_allclose(ours.sentence_vectors, theirs.sentence_vectors, atol=1e-4)
        assert ours.sentences == theirs.sentences and len(ours.windows) == len(theirs.windows)
    for ours, theirs in zip(served_embedder.embed_documents(TEXTS), reference):
        assert float(ours.vector @ theirs.vector) > 0.9
    assert fp32.name != served_embedder.name


@pytest.mark.model
def test_a_missing_export_is_a_clear_error_not_a_fallback(tmp_path):
    with pytest.raises(ModelMissingError, match="classifier train"):
        OnnxEmbedder(tmp_path / "empty").load()


@pytest.mark.model
def test_a_damaged_export_is_refused_and_rebuilt_by_export(tmp_path, served_embedder):
    embedder = OnnxEmbedder(tmp_path, precision="int8")
    onnx_path, record = export_paths(tmp_path, embedder.key)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    onnx_path.write_bytes(b"not a model")
    record.write_text(json.dumps({"key": embedder.key, "sha256": "0" * 64}))
    with pytest.raises(ModelMissingError, match="damaged or stale"):
        embedder.load()
    export(embedder, echo=lambda message: None)
    fresh = OnnxEmbedder(tmp_path, precision="int8").load()
    np.testing.assert_allclose(fresh.embed_documents(TEXTS[:1])[0].vector,
                               served_embedder.embed_documents(TEXTS[:1])[0].vector, atol=1e-5)


@pytest.mark.model
def test_an_export_of_other_weights_is_not_picked_up(tmp_path):
    embedder = OnnxEmbedder(tmp_path, precision="int8")
    onnx_path, record = export_paths(tmp_path, "0123456789ab")
    onnx_path.write_bytes(b"x")
    record.write_text("{}")
    assert embedder.key != "0123456789ab" and not embedder.exists()


def test_an_unknown_precision_is_refused(tmp_path):
    with pytest.raises(ModelMissingError, match="precision"):
        OnnxEmbedder(tmp_path, precision="fp8").key  # noqa: B018


@pytest.mark.parametrize(("cores", "workers", "setting", "threads"), [
    (2, 2, None, 1), (8, 2, None, 4), (2, 1, None, 2), (None, 2, None, 1), (2, 2, "3", 3), (2, 2, "0", 1),
])
def test_threads_split_the_cores_unless_set(cores, workers, setting, threads):
    assert split_cores(cores, workers, setting) == threads


def test_serving_imports_no_torch():
    code = ("import sys; import app, classifier.service, classifier.onnx_embedder; "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
