"""`flask policies ...` through Flask's CLI runner."""

import csv
import datetime
import json
import shutil

import pytest

import rules
from rules.cli import policies
from storage import get_db

COMMANDS = sorted(policies.commands)
SCREENER = {"domains": ["employment_housing"], "audience": "consumer",
            "decisions_about_individuals": True, "vendors": ["anthropic"]}
JOB_ADS = {"domains": ["employment_housing"], "audience": "business", "vendors": ["anthropic"]}


def test_group_has_the_five_commands():
    assert COMMANDS == ["check", "diff", "explain", "list", "reassess"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(runner, command):
    result = runner.invoke(args=["policies", command, "--help"])
    assert result.exit_code == 0
    first_words = " ".join(policies.commands[command].help.split()[:6])
    assert first_words in " ".join(result.output.split())


def test_list_shows_packs_in_force(runner):
    result = runner.invoke(args=["policies", "list", "--on", "2025-01-01"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert set(lines) == {p.id for p in rules.load_packs()}
    assert "yes" in lines["anthropic-2024-06-06"]
    assert "yes" not in lines["anthropic-2025-09-15"]
    assert "yes" not in lines["anthropic-consumer-terms-2025-09-28"]


def test_check_passes_on_the_shipped_packs(runner):
    result = runner.invoke(args=["policies", "check"])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output
    assert "4 packs" in result.output


def test_check_fails_naming_file_and_rule(runner, tmp_path):
    folder = tmp_path / "policies"
    shutil.copytree(rules.DEFAULT_DIR, folder)
    path = folder / "openai-2023-02-15.toml"
    path.write_text(path.read_text().replace('equals = "migration_asylum"', 'equals = "asylum"'))
    result = runner.invoke(args=["policies", "check", str(folder)])
    assert result.exit_code == 1
    assert ("openai-2023-02-15.toml: rule migration_asylum_decisions: when: bad value 'asylum'"
            in result.output)


def test_check_validates_an_extra_file_with_the_loaded_packs(runner, tmp_path):
    new = tmp_path / "openai-2025-01-01.toml"
    new.write_text((rules.DEFAULT_DIR / "openai-2023-02-15.toml").read_text()
                   .replace('id = "openai-2023-02-15"', 'id = "openai-2025-01-01"')
                   .replace("effective_from = 2023-02-15", "effective_from = 2025-01-01"))
    result = runner.invoke(args=["policies", "check", str(new)])
    assert result.exit_code == 0, result.output
    assert "5 packs" in result.output


def test_explain_inline_json_shows_rule_and_fact(runner):
    facts = {"chatbot": True, "vendors": ["openai"], "domains": ["legal"], "audience": "consumer",
             "qualified_human_review": True}
    result = runner.invoke(args=["policies", "explain", json.dumps(facts), "--on", "2025-01-01"])
    assert result.exit_code == 0, result.output
    assert "openai: needs_review (pack openai-2023-02-15)" in result.output
    # OpenAI has no rule on minors, so the missing minors prediction cannot matter.
    assert "needs review on: prohibited\n" in result.output
    assert "fired: openai-2023-02-15 ai_interaction_disclosure -> allowed_with_safeguards" in (
        result.output)
    assert "yes chatbot equals true   [chatbot = true, answered]" in result.output
    assert "safeguard chatbot_disclosure" in result.output
    assert "tier: high" in result.output


def test_explain_json_output_is_the_assessment(runner, tmp_path):
    facts = rules.build_facts(None, {**JOB_ADS, "chatbot": False, "minors": False})
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    result = runner.invoke(args=["policies", "explain", str(path), "--json", "--on", "2025-01-01"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == rules.assess(facts, on=datetime.date(2025, 1, 1))


def test_explain_all_shows_rules_that_did_not_fire(runner):
    answers = json.dumps({"vendors": ["anthropic"]})
    short = runner.invoke(args=["policies", "explain", answers]).output
    full = runner.invoke(args=["policies", "explain", answers, "--all"]).output
    assert "not fired" in full
    assert len(full) > len(short)


CONFIDENT = {"domains": [], "audience": "business", "prohibited": None, "chatbot": False,
             "minors": False, "uncertain": []}


def _store(app, *cases):
    """Store cases as the app would: facts plus the assessment made on ``on``."""
    with app.app_context():
        db = get_db()
        for title, answers, on in cases:
            facts = rules.build_facts(CONFIDENT, answers)
            db["cases"].insert({"title": title, "state": "submitted", "facts": json.dumps(facts),
                                "assessment": json.dumps(rules.assess(facts, on=on))})


def test_explain_a_stored_case(app, runner):
    _store(app, ("screener", SCREENER, datetime.date(2025, 1, 1)))
    result = runner.invoke(args=["policies", "explain", "1", "--on", "2025-01-01"])
    assert result.exit_code == 0, result.output
    assert "anthropic: allowed_with_safeguards (pack anthropic-2024-06-06)" in result.output
    assert "fired: anthropic-2024-06-06 high_risk_human_review" in result.output
    missing = runner.invoke(args=["policies", "explain", "99"])
    assert missing.exit_code == 1
    assert "no stored case 99" in missing.output


@pytest.mark.parametrize("arg,message", [
    ("{not json", "cannot read facts"),
    ('{"chatbot": "perhaps"}', "chatbot: expected true or false"),
    ("[1, 2]", "expected a JSON object"),
])
def test_explain_bad_input(runner, arg, message):
    result = runner.invoke(args=["policies", "explain", arg])
    assert result.exit_code == 1
    assert message in result.output


def test_diff_lists_added_removed_and_changed_rules(runner):
    result = runner.invoke(args=["policies", "diff", "anthropic-2024-06-06",
                                 "anthropic-2025-09-15"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "+ security_testing_with_consent: allowed_with_safeguards" in out
    assert "+ agentic_same_prohibitions: prohibited" in out
    # Both packs send a claimed consent against a cyber flag to review; 2025 cites its own text.
    assert "~ security_testing_claimed: clauses changed" in out
    assert "- political_campaigns: prohibited" in out
    assert "~ high_risk_legal: when, clauses changed" in out
    assert "~ political_research: verdict, clauses changed" in out
    assert '    verdict: "needs_review" -> "allowed"' in out
    assert "+ safeguard owner_consent_record" in out
    assert "~ prohibited_child_safety" not in out


def test_diff_accepts_a_file_and_rejects_nonsense(runner, tmp_path):
    new = tmp_path / "openai-2025-01-01.toml"
    new.write_text((rules.DEFAULT_DIR / "openai-2023-02-15.toml").read_text()
                   .replace('id = "openai-2023-02-15"', 'id = "openai-2025-01-01"')
                   .replace("effective_from = 2023-02-15", "effective_from = 2025-01-01"))
    result = runner.invoke(args=["policies", "diff", "openai-2023-02-15", str(new)])
    assert result.exit_code == 0, result.output
    assert "0 added, 0 removed, 0 changed, 38 unchanged" in result.output
    bad = runner.invoke(args=["policies", "diff", "openai-2023-02-15", "nope"])
    assert bad.exit_code == 2
    assert "neither a loaded pack id nor a pack file" in bad.output


def test_reassess_without_cases(app, runner):
    result = runner.invoke(args=["policies", "reassess", "--pack", "anthropic-2025-09-15"])
    assert result.exit_code == 0, result.output
    assert "no stored cases" in result.output
    with app.app_context():
        get_db()["cases"].drop()
    result = runner.invoke(args=["policies", "reassess", "--pack", "anthropic-2025-09-15"])
    assert "no stored cases" in result.output


def test_reassess_reports_changed_cases_and_writes_csv(app, runner, tmp_path):
    before = datetime.date(2025, 1, 1)
    _store(app, ("screener", SCREENER, before), ("job ads", JOB_ADS, before),
           ("openai bot", {"chatbot": True, "vendors": ["openai"]}, before))
    with app.app_context():
        get_db()["cases"].insert({"title": "broken", "state": "draft", "facts": "not json"})
    out = tmp_path / "changes.csv"
    result = runner.invoke(args=["policies", "reassess", "--pack", "anthropic-2025-09-15",
                                 "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 of 4 stored cases would change under anthropic-2025-09-15 on 2025-09-15" in (
        result.output)
    assert "case 4: facts unreadable, skipped" in result.output
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["case"], r["title"], r["old_verdict"], r["new_verdict"], r["safeguards_removed"])
            for r in rows] == [("2", "job ads", "allowed_with_safeguards", "allowed",
                                "ai_use_disclosure")]
    assert rows[0]["new_pack"] == "anthropic-2025-09-15"


def test_reassess_with_a_new_pack_file(app, runner, tmp_path):
    _store(app, ("bot", {"chatbot": True, "vendors": ["openai"]}, datetime.date(2025, 1, 1)))
    new = tmp_path / "openai-2026-01-01.toml"
    text = (rules.DEFAULT_DIR / "openai-2023-02-15.toml").read_text()
    new.write_text(text.replace('id = "openai-2023-02-15"', 'id = "openai-2026-01-01"')
                   .replace("effective_from = 2023-02-15", "effective_from = 2026-01-01")
                   .replace('safeguards = ["chatbot_disclosure"]\nclauses = ["ai_disclosure"]',
                            'clauses = ["ai_disclosure"]'))
    result = runner.invoke(args=["policies", "reassess", "--pack", str(new)])
    assert result.exit_code == 1  # the unused safeguard is caught before anything is compared
    assert "openai-2026-01-01.toml: safeguard chatbot_disclosure: never emitted" in result.output
    new.write_text(text.replace('id = "openai-2023-02-15"', 'id = "openai-2026-01-01"')
                   .replace("effective_from = 2023-02-15", "effective_from = 2026-01-01")
                   .replace('"converses_with_people", equals = true }] }\nverdict = "allowed_with_safeguards"',
                            '"converses_with_people", equals = true }] }\nverdict = "needs_review"'))
    result = runner.invoke(args=["policies", "reassess", "--pack", str(new)])
    assert result.exit_code == 0, result.output
    assert "1 of 1 stored cases would change under openai-2026-01-01 on 2026-01-01" in (
        result.output)
    assert "allowed_with_safeguards  needs_review" in result.output


def test_explain_reads_stdin(runner):
    result = runner.invoke(args=["policies", "explain", "-", "--json"],
                           input=json.dumps({"answers": {"vendors": ["openai"]}}))
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.output)["vendors"]) == ["openai"]


def test_reassess_rebuilds_facts_from_the_classification_answers_and_description(app, runner, tmp_path):
    answers = {"vendors": ["openai"]}
    with app.app_context():
        facts = rules.build_facts(CONFIDENT, answers)
        # Stored before the text was screened: an ordinary "allowed" case.
        db = get_db()
        db["cases"].insert({"title": "betting tips", "state": "submitted",
                            "description": "An assistant that suggests sports bets and parlays to our users.",
                            "classification": json.dumps(CONFIDENT), "answers": json.dumps(answers),
                            "overrides": "{}", "facts": json.dumps(facts),
                            "assessment": json.dumps({"vendors": {"openai": {
                                "verdict": "allowed", "pack": "openai-2023-02-15", "safeguards": []}},
                                "advisories": []})})
    out = tmp_path / "changes.csv"
    result = runner.invoke(args=["policies", "reassess", "--pack", "openai-2023-02-15", "--on", "2025-01-01",
                                 "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 of 1 stored cases would change under openai-2023-02-15 on 2025-01-01" in result.output
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["title"], r["old_verdict"], r["new_verdict"]) for r in rows] == [
        ("betting tips", "allowed", "needs_review")]
