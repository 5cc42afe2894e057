"""Integration tests with the real all-MiniLM-L6-v2 weights from the installed package."""

import numpy as np
import pytest

from classifier.dataset import load_examples
from classifier.embedders import MiniLMEmbedder, ModelMissingError
from classifier.predictor import Classifier
from config import Config

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def real_classifier(real_embedder):
    return Classifier.train(load_examples(Config.TRAINING_DATA), real_embedder)


def test_embeddings_are_unit_vectors_with_sentence_detail(real_embedder):
    doc = real_embedder.embed_documents(["A symptom checker for patients. It runs on phones."])[0]
    assert doc.vector.shape == (384,)
    assert np.isclose(np.linalg.norm(doc.vector), 1.0, atol=1e-5)
    assert doc.sentences == ["A symptom checker for patients.", "It runs on phones."]
    assert doc.sentence_vectors.shape == (2, 384)


def test_batched_document_vectors_match_single_ones(real_embedder):
    texts = ["A resume screener for recruiters.", "Sleep tips for busy parents, delivered by a friendly app."]
    together = real_embedder.embed_documents(texts)
    for text, doc in zip(texts, together):
        alone = real_embedder.embed_documents([text])[0]
        np.testing.assert_allclose(doc.vector, alone.vector, atol=1e-4)


def test_long_text_is_read_to_the_end(real_embedder):
    text = " ".join(["The product formats internal slide decks for the quarterly all-hands meeting."] * 60)
    doc = real_embedder.embed_documents([text + " It also answers questions."])[0]
    assert len(doc.windows) > 1
    assert doc.sentences[-1] == "It also answers questions."


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("People type in their symptoms on our website and the assistant tells them which condition they most "
         "likely have and whether they need to see a doctor.", "healthcare"),
        ("Our lending platform will use the model to decide whether small-business loan applications are approved "
         "and at what interest rate.", "finance"),
        ("Recruiters upload hundreds of CVs and the model ranks applicants and rejects the weakest ones "
         "automatically.", "employment_housing"),
    ],
)
def test_clear_high_risk_cases_get_their_domain(real_classifier, text, domain):
    assert domain in real_classifier.classify(text)["domains"]


def test_a_domain_named_only_at_the_end_of_a_long_description_is_found(real_classifier):
    filler = (
        "The team keeps its sprint board in order, collects stand-up notes, drafts release notes for the engineers "
        "and reminds people about code review. "
    ) * 25
    tail = "Finally, it reads each patient's chart and recommends which medication dose the doctor should prescribe."
    result = real_classifier.classify(filler + tail)
    assert len(filler.split()) > 500
    assert "healthcare" in result["domains"]
    support = {s["label"]: s["sentence"] for s in result["explanation"]["sentences"]}
    assert support["healthcare"] == tail


def test_harmless_internal_tool_gets_no_domain(real_classifier):
    result = real_classifier.classify("An internal bot that posts the office holiday calendar to our team chat.")
    assert result["domains"] == [] and result["prohibited"] is None


def test_malware_is_flagged(real_classifier):
    result = real_classifier.classify(
        "We want the model to write ransomware that encrypts hospital file servers we do not own and leaves a "
        "ransom note demanding bitcoin."
    )
    assert result["prohibited"] == "cyber_malicious"


def test_missing_weights_are_a_clear_error(tmp_path):
    with pytest.raises(ModelMissingError, match="No sentence-transformers model"):
        MiniLMEmbedder(path=tmp_path).load()


def test_document_vectors_equal_sentence_transformers_own_encoding(real_embedder):
    texts = ["A symptom checker for patients on their phones.", "Résumé screening for a café chain, 24/7 ☕"]
    ours = np.stack([d.vector for d in real_embedder.embed_documents(texts)])
    theirs = real_embedder._model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
