"""Integration tests with the real all-MiniLM-L6-v2 weights from the installed package."""

import json
import subprocess
import sys

import numpy as np
import pytest

import rules
from classifier.dataset import load_examples
from classifier.embedders import MiniLMEmbedder, ModelMissingError
from classifier.predictor import Classifier
from config import Config

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def real_classifier(served_embedder):
    return Classifier.train(load_examples(Config.TRAINING_DATA), served_embedder)


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


@pytest.mark.parametrize("text", [
    "We want the model to write ransomware that encrypts hospital file servers we do not own and leaves a "
    "ransom note demanding bitcoin.",
    "Generate phishing e-mails that look like they come from the victim's bank, to collect their passwords.",
])
def test_malicious_code_and_scams_are_never_let_through(real_classifier, text):
    result = real_classifier.classify(text)
    # Flagged, or weak enough evidence that a person decides: never a quiet "allowed".
    assert result["prohibited"] in ("cyber_malicious", "fraud_scams_spam") or "prohibited" in result["uncertain"]
    assert result["prohibited_category"] in ("cyber_malicious", "fraud_scams_spam")


def test_missing_weights_are_a_clear_error(tmp_path):
    with pytest.raises(ModelMissingError, match="No sentence-transformers model"):
        MiniLMEmbedder(path=tmp_path).load()


def test_document_vectors_equal_sentence_transformers_own_encoding(real_embedder):
    texts = ["A symptom checker for patients on their phones.", "Résumé screening for a café chain, 24/7 ☕"]
    ours = np.stack([d.vector for d in real_embedder.embed_documents(texts)])
    theirs = real_embedder._model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


@pytest.mark.parametrize("text", [
    "A chatbot on our shoe shop's website that answers customers' questions about shipping times and returns.",
    "Logistics platform: plans delivery routes and truck loads for our fleet, and predicts late shipments.",
    "Tax-filing app that helps people photograph receipts and sort them into the categories of their annual return.",
    "An English tutor app for children that practises vocabulary with short games and stories.",
    "A civic guide on the city website that explains to residents how, where and by when to register to vote.",
])
def test_harmless_everyday_products_are_not_prohibited_nor_unsure_of_it(real_classifier, text):
    result = real_classifier.classify(text)
    assert result["prohibited"] is None
    assert "prohibited" not in result["uncertain"]
    assert result["prohibited_probability"] < 0.2


@pytest.mark.parametrize(("text", "audience", "decides"), [
    ("Internal tool for our recruiters: it reads every resume, ranks the applicants and rejects the bottom half.",
     "business", True),
    ("Chatbot on our bank's website that answers customers' questions about opening hours and card fees.",
     "consumer", False),
])
def test_audience_is_who_receives_the_outputs_and_decisions_are_a_separate_fact(real_classifier, text, audience,
                                                                                 decides):
    result = real_classifier.classify(text)
    assert result["audience"] == audience
    assert result["decisions_about_individuals"] is decides


def test_text_in_another_language_is_not_classified(real_classifier):
    result = real_classifier.classify("Un asistente virtual que decide qué solicitudes de préstamo se aprueban.")
    assert result["unreadable"] == "language not supported"
    assert "prohibited" in result["uncertain"] and result["domains"] == []


def test_a_saved_model_is_served_without_torch(real_classifier, served_embedder, tmp_path):
    path = real_classifier.save(tmp_path / "classifier.npz")
    code = (
        "import sys, json\n"
        "from classifier.onnx_embedder import OnnxEmbedder\n"
        "from classifier.predictor import Classifier\n"
        f"embedder = OnnxEmbedder({str(served_embedder.model_dir)!r}, precision='int8')\n"
        f"result = Classifier.load({str(path)!r}, embedder).classify('Recruiters upload CVs and the model ranks "
        "the applicants.')\n"
        "print(json.dumps([result['domains'], 'torch' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    domains, torch_loaded = json.loads(out.stdout.strip().splitlines()[-1])
    expected = real_classifier.classify("Recruiters upload CVs and the model ranks the applicants.")["domains"]
    assert domains == expected and torch_loaded is False


@pytest.mark.parametrize(("text", "use"), [
    ("An assistant in our app that suggests sports bets and parlays to users from the live odds of each match.",
     "gambling"),
    ("An agent that switches feeders on the regional power grid to balance load during peak hours.",
     "operates_critical_infrastructure"),
    ("A logistics planner for the army that schedules convoys and supplies for the troops at each base.",
     "military_use"),
    ("Our herbal tinctures shop bot recommends the blend that will cure your diabetes without insulin.",
     "pseudo_pharmaceuticals"),
    ("Kiosk at the stadium gate that matches each fan's face against the season-ticket photo.",
     "biometric_identification"),
])
def test_a_use_openai_disallows_is_read_from_the_description_alone(real_classifier, text, use):
    result = real_classifier.classify(text)
    assert use in result["uses"] + result["possible_uses"]
    facts = rules.build_facts(result, {"vendors": ["openai"]})
    assert rules.assess(facts)["vendors"]["openai"]["verdict"] in ("needs_review", "prohibited")


@pytest.mark.parametrize("text", [
    "Chatbot on our bank's website that answers customers' questions about opening hours and card fees.",
    "Internal tool that summarises recorded sales calls into next steps for account managers.",
    "A veterans' benefits assistant that tells people where their disability claim stands and what is missing.",
])
def test_everyday_products_show_no_such_use(real_classifier, text):
    result = real_classifier.classify(text)
    assert result["uses"] == [] and result["possible_uses"] == []
