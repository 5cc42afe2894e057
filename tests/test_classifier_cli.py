import json

import pytest
from click.testing import CliRunner

from classifier.cli import OUTPUT_KEYS, classifier_cli
from classifier.dataset import load_examples
from classifier.service import expected_version, model_file
from tests.fakes import FakeEmbedder


@pytest.fixture
def trained(app, runner):
    result = runner.invoke(args=["classifier", "train"])
    assert result.exit_code == 0, result.output
    return result


def test_train_saves_a_versioned_model_and_skips_when_up_to_date(app, runner, trained):
    version = expected_version(load_examples(app.config["TRAINING_DATA"]), FakeEmbedder())
    assert model_file(app.config["MODEL_DIR"], version).is_file()
    assert f"Trained model {version}" in trained.output
    again = runner.invoke(args=["classifier", "train"])
    assert "is up to date" in again.output
    forced = runner.invoke(args=["classifier", "train", "--force"])
    assert f"Trained model {version}" in forced.output


def test_corrupt_saved_model_is_retrained(app, runner, trained):
    version = expected_version(load_examples(app.config["TRAINING_DATA"]), FakeEmbedder())
    model_file(app.config["MODEL_DIR"], version).write_bytes(b"garbage")
    result = runner.invoke(args=["classifier", "train"])
    assert result.exit_code == 0
    assert "could not be read" in result.output and "Retraining" in result.output


def test_bad_training_data_names_the_line(app, runner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\n')
    app.config["TRAINING_DATA"] = str(bad)
    result = runner.invoke(args=["classifier", "train"])
    assert result.exit_code == 1
    assert "bad.jsonl line 1: missing field(s)" in result.output


def test_predict_keeps_order_and_reports_bad_lines(app, runner, trained):
    lines = [
        json.dumps({"id": "a", "text": "a lawyer reviews the contract for customers"}),
        "{broken",
        json.dumps({"id": "c", "text": "   "}),
        json.dumps({"id": "d"}),
        "",
        json.dumps({"id": 5, "text": "insurance claim underwriting for internal staff"}),
    ]
    result = runner.invoke(args=["classifier", "predict"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == ["a", None, "c", "d", 5]
    assert list(out[0]) == list(OUTPUT_KEYS)
    assert out[0]["domains"] == ["legal"] and out[4]["domains"] == ["insurance"]
    assert out[1]["error"].startswith("line 2: not valid JSON")
    assert "empty" in out[2]["error"] and out[3]["error"] == "line 4: missing 'text'"


def test_predict_reads_a_file(app, runner, trained, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "news article headline to publish for the public"}) + "\n")
    result = runner.invoke(args=["classifier", "predict", "--input", str(path)])
    assert json.loads(result.output)["domains"] == ["media"]


def test_predict_without_a_model_is_a_clear_error(app, runner):
    result = runner.invoke(args=["classifier", "predict"], input="{}\n")
    assert result.exit_code == 1 and "No model trained on the current training data" in result.output


def test_evaluate_writes_report_and_chart(app, runner, tmp_path):
    report, chart = tmp_path / "r" / "eval.md", tmp_path / "r" / "eval.png"
    args = ["classifier", "evaluate", "--folds", "3", "--report", str(report), "--chart", str(chart)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    text = report.read_text()
    for needle in ("Domain macro-F1", "TF-IDF + logistic regression", "Keyword list", "| legal |", "eval.png",
                   "Uses micro-F1", "| gambling |"):
        assert needle in text
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "embedding" in result.output and "keywords" in result.output


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if hasattr(command, "commands"):
            yield from _commands(command, prefix + (name,))


def test_every_command_has_help(app):
    commands = list(_commands(app.cli))
    names = {" ".join(path) for path, _ in commands}
    assert {"classifier train", "classifier evaluate", "classifier predict", "users create", "init-db"} <= names
    for path, command in commands:
        assert (command.help or "").strip(), f"{' '.join(path)} has no help"
        result = CliRunner().invoke(command, ["--help"])
        assert result.exit_code == 0


def test_python_dash_m_entry_point_has_the_same_commands():
    assert set(classifier_cli.commands) == {"train", "evaluate", "predict"}


def test_train_and_evaluate_take_reviewer_corrections():
    for name in ("train", "evaluate"):
        text = CliRunner().invoke(classifier_cli.commands[name], ["--help"]).output
        assert "--with-overrides" in text and "--overrides-file" in text


def test_python_dash_m_reads_corrections_from_intake_database(tmp_path, tiny_data):
    env = {"INTAKE_DATABASE": str(tmp_path / "absent.db"), "INTAKE_TRAINING_DATA": str(tiny_data),
           "INTAKE_MODEL_DIR": str(tmp_path / "models")}
    result = CliRunner().invoke(classifier_cli, ["train", "--with-overrides"], env=env)
    assert result.exit_code == 1 and f"{tmp_path / 'absent.db'}: database not found" in result.output
