"""Reviewers' corrections as training data: merging, the served-model pointer, evaluation and the queue's rates."""

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from classifier.dataset import DatasetError, load_examples
from classifier.evaluate import agreement
from classifier.labels import PREDICTED_FACTS
from classifier.overrides import merge, read_overrides_db, read_overrides_file
from classifier.predictor import Classifier, ModelFileError
from classifier.service import POINTER, expected_version, load_current, model_file
from storage import get_db
from storage.reviews import fact_disagreement, stats
from tests.fakes import FakeEmbedder
from tests.intake_support import submit


def _example(eid, text, **labels):
    return {"id": eid, "text": text, "domains": [], "audience": "business", "decisions_about_individuals": False,
            "qualified_human_review": None, "prohibited": None, "chatbot": False, "minors": False, "uses": [],
            "source": "case", **labels}


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_merge_relabels_a_shipped_text_and_appends_new_cases():
    shipped = [_example("ex-1", "A lawyer reviews the contract.", domains=["legal"]), _example("ex-2", "Notes.")]
    corrections = [
        _example("case-1", "  A lawyer reviews   the contract. ", domains=[], minors=True),
        _example("case-2", "A new case about loans.", domains=["finance"]),
        _example("case-3", "A lawyer reviews the contract.", domains=["legal"], audience="consumer"),
    ]
    merged = merge(shipped, corrections)
    first = merged["examples"][0]
    # The latest correction of a text wins; the shipped id and text stay.
    assert first["id"] == "ex-1" and first["text"] == shipped[0]["text"]
    assert first["domains"] == ["legal"] and first["audience"] == "consumer" and first["minors"] is False
    assert merged["examples"][1] == shipped[1]
    assert [e["id"] for e in merged["examples"]] == ["ex-1", "ex-2", "case-2"]
    assert merged["replaced"] == ["ex-1"] and merged["added"] == ["case-2"] and merged["corrected"] == [0, 2]
    assert shipped[0]["domains"] == ["legal"] and shipped[0]["audience"] == "business"


def test_merge_refuses_a_new_case_with_a_shipped_id():
    with pytest.raises(DatasetError, match="case ex-1: id already used"):
        merge([_example("ex-1", "Shipped text.")], [_example("ex-1", "Another text.")])


@pytest.mark.parametrize(("lines", "message"), [
    ([_example("case-7", "Some text.", audience="everyone")], "o.jsonl line 1, case case-7: 'audience' must be"),
    ([_example("case-7", "Some text."), _example("case-7", "Other text.")], "line 2, case case-7: case id already"),
    (["{broken"], "o.jsonl line 1: not valid JSON"),
])
def test_overrides_file_errors_name_the_line_and_case(tmp_path, lines, message):
    path = tmp_path / "o.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    with pytest.raises(DatasetError) as info:
        read_overrides_file(path)
    assert message in str(info.value)


def test_missing_database_or_file_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="database not found.*--overrides-file"):
        read_overrides_db(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(DatasetError, match="overrides file not found"):
        read_overrides_file(tmp_path / "none.jsonl")


def _reviewed(app, client, auth, fact, value):
    """A case submitted, taken up by the reviewer and with ``fact`` overridden; the client stays the reviewer."""
    auth.logout()
    auth.login()
    case_id = submit(client)
    auth.logout()
    auth.login("reviewer@example.com")
    for action, data in (("assign", {}), ("override", {"fact": fact, "value": value, "reason": "Checked"})):
        with app.app_context():
            version = get_db()["cases"].get(case_id)["version"]
        response = client.post(f"/review/cases/{case_id}/{action}", data={"version": version, **data})
        assert response.status_code == 302
    return case_id


def test_database_corrections_are_cases_with_a_predicted_fact_overridden(app, client, auth):
    corrected = _reviewed(app, client, auth, "minors", "yes")
    _reviewed(app, client, auth, "vendors", "anthropic")
    (example,) = read_overrides_db(app.config["DATABASE"])
    assert example["id"] == f"case-{corrected}" and example["minors"] is True


def _save(classifier, model_dir, version=None):
    if version is not None:
        classifier = Classifier(classifier.embedder, classifier.heads, classifier.index, version, classifier.features)
    classifier.save(model_file(model_dir, classifier.version))
    return classifier.version


def _pointer(model_dir, **fields):
    (model_dir / POINTER).write_text(json.dumps(fields))


@pytest.fixture
def served(app, fake_classifier):
    """The shipped-data model and one other model saved in MODEL_DIR; returns their versions."""
    model_dir = Path(app.config["MODEL_DIR"])
    base = expected_version(load_examples(app.config["TRAINING_DATA"]), FakeEmbedder())
    assert _save(fake_classifier, model_dir) == base
    return model_dir, base, _save(fake_classifier, model_dir, "0123456789ab")


def test_pointer_names_the_model_served(app, served):
    model_dir, base, other = served
    _pointer(model_dir, version=other, file=f"classifier-{other}.npz", base_version=base)
    assert load_current(app.config).version == other


@pytest.mark.parametrize("pointer", [
    "not json",
    json.dumps(["a list"]),
    json.dumps({"version": "../../etc", "file": "x", "base_version": "BASE"}),
    json.dumps({"version": "OTHER", "file": "classifier-OTHER.npz", "base_version": "000000000000"}),
    json.dumps({"version": "OTHER", "file": "../classifier-OTHER.npz", "base_version": "BASE"}),
    json.dumps({"version": "fedcba987654", "file": "classifier-fedcba987654.npz", "base_version": "BASE"}),
])
def test_an_unusable_pointer_falls_back_to_the_shipped_data_model(app, served, caplog, pointer):
    model_dir, base, other = served
    (model_dir / POINTER).write_text(pointer.replace("BASE", base).replace("OTHER", other))
    assert load_current(app.config).version == base
    assert f"Ignoring {POINTER}" in caplog.text


def test_a_pointer_to_a_model_holding_another_version_is_ignored(app, served, fake_classifier, caplog):
    model_dir, base, other = served
    model_file(model_dir, other).write_bytes(model_file(model_dir, base).read_bytes())
    _pointer(model_dir, version=other, file=f"classifier-{other}.npz", base_version=base)
    assert load_current(app.config).version == base
    assert f"holds model {base}, not {other}" in caplog.text


def test_unusable_pointer_and_no_shipped_model_is_a_clear_error(app, served):
    model_dir, base, other = served
    model_file(model_dir, base).unlink()
    _pointer(model_dir, version=other, file=f"classifier-{other}.npz", base_version="000000000000")
    with pytest.raises(ModelFileError, match="No model trained on the current training data"):
        load_current(app.config)


def _predicted_version(runner):
    result = runner.invoke(args=["classifier", "predict"], input=json.dumps({"id": 1, "text": "a lawyer"}) + "\n")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["model_version"]


def test_train_with_overrides_is_served_and_plain_train_goes_back(app, runner, small_data, tmp_path):
    model_dir = Path(app.config["MODEL_DIR"])
    assert runner.invoke(args=["classifier", "train"]).exit_code == 0
    base = expected_version(small_data, FakeEmbedder())
    corrections = _write_jsonl(tmp_path / "o.jsonl", [
        {**small_data[0], "id": "case-1", "audience": "business"},
        _example("case-2", "A lawyer reviews the contract for internal staff.", domains=["legal"]),
    ])
    result = runner.invoke(args=["classifier", "train", "--overrides-file", str(corrections)])
    assert result.exit_code == 0, result.output
    assert "2 reviewer corrections (1 relabelling shipped examples, 1 new cases)." in result.output
    merged = merge(small_data, read_overrides_file(corrections))["examples"]
    version = expected_version(merged, FakeEmbedder())
    assert version != base and f"Trained model {version} on 13 examples" in result.output
    pointer = json.loads((model_dir / POINTER).read_text())
    assert pointer["version"] == version and pointer["training"] == "shipped+overrides" and pointer["added"] == 1
    assert _predicted_version(runner) == version
    plain = runner.invoke(args=["classifier", "train"])
    assert plain.exit_code == 0 and f"Model {base} is up to date" in plain.output
    assert _predicted_version(runner) == base
    again = runner.invoke(args=["classifier", "train", "--overrides-file", str(corrections)])
    assert f"Model {version} is up to date" in again.output and _predicted_version(runner) == version
    # The app's own database has no corrections yet: the shipped-data model is served again.
    empty = runner.invoke(args=["classifier", "train", "--with-overrides"])
    assert empty.exit_code == 0, empty.output
    assert "Read 0 reviewer corrections" in empty.output and "training on the shipped examples only" in empty.output
    assert _predicted_version(runner) == base


def test_train_with_a_bad_correction_names_the_case(app, runner, tmp_path):
    bad = _write_jsonl(tmp_path / "o.jsonl", [_example("case-9", "Some text.", domains=["astrology"])])
    result = runner.invoke(args=["classifier", "train", "--overrides-file", str(bad)])
    assert result.exit_code == 1 and "o.jsonl line 1, case case-9: 'domains' must be" in result.output
    assert not (tmp_path / "models" / POINTER).exists()


@pytest.fixture
def small_data(app, tmp_path):
    """Twelve examples of two kinds: training and two-fold cross-validation on them take well under a second."""
    examples = [_example(f"s{i}", f"Product {i}: a lawyer reviews the contract for customers.", domains=["legal"],
                         audience="consumer") for i in range(6)]
    examples += [_example(f"s{i}", f"Product {i}: a calendar that formats meeting notes for internal staff.")
                 for i in range(6, 12)]
    app.config["TRAINING_DATA"] = str(_write_jsonl(tmp_path / "small.jsonl", examples))
    return examples


def _evaluate(runner, tmp_path, *extra):
    report = tmp_path / "eval.md"
    args = ["classifier", "evaluate", "--folds", "2", "--report", str(report), "--chart", str(tmp_path / "e.png")]
    result = runner.invoke(args=args + list(extra))
    assert result.exit_code == 0, result.output
    return result.output, report.read_text()


def test_evaluate_with_overrides_compares_with_and_without(app, runner, tmp_path, small_data):
    corrections = _write_jsonl(tmp_path / "o.jsonl", [
        {**small_data[-1], "id": "case-1", "domains": ["legal"]},
        _example("case-2", "A lawyer reviews the contract for internal staff.", domains=["legal"]),
    ])
    output, report = _evaluate(runner, tmp_path, "--overrides-file", str(corrections))
    assert "Reviewer corrections: 2 (1 relabelling shipped examples, 1 new cases)" in output
    for needle in ("(a) shipped only, CV", "(b) shipped + corrections, CV", "(c) trained without corrections",
                   "(c) CV with corrections"):
        assert needle in output
    assert "## Reviewer corrections" in report and "2 corrections from" in report
    assert f"{len(small_data) + 1} examples in all" in report
    before = next(line for line in report.splitlines() if line.startswith("| Domains (exact) | "))
    # The model trained without corrections learnt the old label of the relabelled text, so it cannot match it.
    assert before.split("|")[2].strip() != "100.0"


def test_evaluate_with_no_corrections_says_so(app, runner, tmp_path, small_data):
    empty = _write_jsonl(tmp_path / "o.jsonl", [])
    output, report = _evaluate(runner, tmp_path, "--overrides-file", str(empty))
    assert "embedding" in output and "No reviewer corrections in" in output
    assert "## Reviewer corrections" in report and "No reviewer corrections in" in report


def test_agreement_counts_each_fact_and_all_five():
    truth = [_example("a", "x", domains=["legal", "media"]), _example("b", "y", minors=True)]
    pred = [_example("a", "x", domains=["media", "legal"]), _example("b", "y", audience="consumer")]
    shares = agreement(truth, pred)
    assert shares["domains"] == 1.0 and shares["audience"] == 0.5 and shares["minors"] == 0.5
    assert shares["prohibited"] == 1.0 and shares["all"] == 0.5


def test_queue_shows_how_often_each_predicted_fact_was_overridden(app, client, auth):
    _reviewed(app, client, auth, "minors", "yes")
    second = _reviewed(app, client, auth, "minors", "no")
    with app.app_context():
        version = get_db()["cases"].get(second)["version"]
    client.post(f"/review/cases/{second}/override", data={"version": version, "fact": "audience",
                                                          "value": "business", "reason": "Internal"})
    auth.logout()
    auth.login()
    submit(client)
    auth.logout()
    auth.login("reviewer@example.com")
    page = client.get("/review/").data.decode()
    assert "of the 2 a reviewer took up" in page
    table = page[page.index('<table class="disagreement">'):page.index("</table>")]
    assert "<td>100%</td>" in table and "<td>50%</td>" in table
    assert table.count("<td>0%</td>") == len(PREDICTED_FACTS) - 2


def test_rates_count_a_resubmitted_case_as_taken_up():
    db = Database(memory=True)
    db["fact_overrides"].insert_all([{"case_id": 1, "fact": "minors"}, {"case_id": 1, "fact": "minors"}])
    cases = [{"id": 1, "state": "submitted", "assignee_email": None, "domains": [], "verdicts": {}},
             {"id": 2, "state": "submitted", "assignee_email": None, "domains": [], "verdicts": {}}]
    assert stats(cases, db)["disagreement_rate"] == 1.0
    rates = {row["fact"]: row["rate"] for row in fact_disagreement(cases, db)["facts"]}
    assert rates["minors"] == 1.0 and rates["audience"] == 0.0
    assert fact_disagreement(cases[1:], db) == {"reviewed": 0, "facts": [
        {"fact": f, "overridden": 0, "rate": None} for f in PREDICTED_FACTS]}
