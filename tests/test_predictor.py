
import numpy as np
import pytest

from classifier.cli import OUTPUT_KEYS
from classifier.predictor import Classifier, ModelFileError
from classifier.text import DescriptionError
from tests.fakes import FakeEmbedder


def test_classify_returns_every_field(fake_classifier):
    result = fake_classifier.classify("A chatbot where customers ask a lawyer about their contract.")
    assert set(OUTPUT_KEYS) - {"id"} == set(result)
    assert result["domains"] == ["legal"]
    assert result["audience"] == "consumer" and result["chatbot"] is True
    assert set(result["domain_probabilities"]) == {
        "legal", "healthcare", "insurance", "finance", "employment_housing", "education_testing", "media"}
    assert result["model_version"] == fake_classifier.version


def test_explanation_has_five_neighbours_and_supporting_sentences(fake_classifier):
    text = "We keep meeting notes tidy. A lawyer reviews each contract for customers."
    result = fake_classifier.classify(text)
    nearest = result["explanation"]["nearest"]
    assert len(nearest) == 5
    assert [n["similarity"] for n in nearest] == sorted((n["similarity"] for n in nearest), reverse=True)
    assert "legal" in nearest[0]["labels"]["domains"]
    support = {s["label"]: s["sentence"] for s in result["explanation"]["sentences"]}
    assert support["legal"] == "A lawyer reviews each contract for customers."


def test_long_description_finds_a_domain_named_only_at_the_end(fake_classifier):
    filler = " ".join(f"The team tracks item {i} in a shared calendar." for i in range(120))
    result = fake_classifier.classify(filler + " Finally, the doctor sees each patient symptom and diagnosis.")
    assert "healthcare" in result["domains"]


@pytest.mark.parametrize("text", ["", "   ", "x" * 20_001])
def test_bad_descriptions_raise_a_clear_error(fake_classifier, text):
    with pytest.raises(DescriptionError):
        fake_classifier.classify(text)


@pytest.mark.parametrize("text", ["🤖🏥💊 chatbot", "为律师事务所审查合同", "a\x00b\x1fc"])
def test_odd_text_still_gets_a_result(fake_classifier, text):
    assert fake_classifier.classify(text)["model_version"]


def test_save_and_load_round_trip(tmp_path, fake_classifier):
    path = fake_classifier.save(tmp_path / "m.npz")
    loaded = Classifier.load(path, FakeEmbedder())
    text = "insurance claim underwriting for customers"
    assert loaded.classify(text) == fake_classifier.classify(text)
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupt_or_missing_model_is_a_clear_error(tmp_path, fake_classifier):
    with pytest.raises(ModelFileError, match="No saved model"):
        Classifier.load(tmp_path / "none.npz", FakeEmbedder())
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="could not be read"):
        Classifier.load(bad, FakeEmbedder())


def test_model_for_another_embedder_is_refused(tmp_path, fake_classifier):
    path = fake_classifier.save(tmp_path / "m.npz")

    class Other(FakeEmbedder):
        name = "other"

    with pytest.raises(ModelFileError, match="trained with fake-keywords"):
        Classifier.load(path, Other())


def test_a_model_file_cannot_carry_code(tmp_path, fake_classifier):
    """The format holds arrays and JSON only: a pickled object inside is refused, never unpickled."""
    path = fake_classifier.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["index.vectors"] = np.array([object()], dtype=object)
    evil = tmp_path / "evil.npz"
    with open(evil, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ModelFileError, match="could not be read"):
        Classifier.load(evil, FakeEmbedder())


def test_rbf_heads_are_not_saved(tmp_path, fake_classifier):
    from classifier.modelfile import ModelFormatError, dump

    fake_classifier.heads.kernel = "rbf"
    try:
        with pytest.raises(ModelFormatError, match="linear"):
            dump(tmp_path / "m.npz", version="v", embedder="e", features=fake_classifier.features,
                 heads=fake_classifier.heads, index=fake_classifier.index, format_version=5)
    finally:
        fake_classifier.heads.kernel = "linear"


def test_reviewer_corrected_cases_train_but_never_appear_as_nearest_examples(app, client):
    from tests.api_support import bearer, make_token
    from tests.fakes import tiny_examples

    examples = tiny_examples()
    secret = "Product 0: ACME confidential plan about the topic of the first example, for customers."
    # Copies of shipped examples, as labelled_examples() turns corrected cases into training rows.
    cases = [{**e, "id": f"case-{n}", "text": secret + e["text"]} for n, e in enumerate(examples[:8])]
    app.config["CLASSIFIER"] = app.extensions["classifier"] = Classifier.train(examples + cases, FakeEmbedder())
    result = app.extensions["classifier"].classify(examples[0]["text"])
    nearest = result["explanation"]["nearest"]
    assert len(nearest) == 5 and not [n for n in nearest if n["id"].startswith("case-")]
    assert all("ACME" not in n["text"] for n in nearest)
    answer = client.post("/api/v1/classify", json={"description": examples[0]["text"]},
                         headers=bearer(make_token(app))).data.decode()
    assert "case-" not in answer and "ACME" not in answer
