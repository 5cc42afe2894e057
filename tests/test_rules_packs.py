"""Pack loading: the shipped packs are sound, and every kind of malformed pack is refused by name."""

import logging
import os
import re
import shutil
from pathlib import Path

import pytest
from flask import Flask

import rules

A24, A25 = "anthropic-2024-06-06.toml", "anthropic-2025-09-15.toml"
OAI, ADV = "openai-2023-02-15.toml", "anthropic-consumer-terms-2025-09-28.toml"
SEEDS = Path(os.environ.get("INTAKE_SEEDS_DIR", "/work/shared/seeds"))


@pytest.fixture(scope="module")
def packs():
    return rules.load_packs()


@pytest.fixture
def policies(tmp_path):
    """A writable copy of the shipped packs."""
    folder = tmp_path / "policies"
    shutil.copytree(rules.DEFAULT_DIR, folder)
    return folder


def edit(folder, name, old, new):
    path = folder / name
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {name}"
    path.write_text(text.replace(old, new))


def test_ships_the_three_policy_versions_and_the_advisory(packs):
    assert {p.id for p in packs} == {"anthropic-2024-06-06", "anthropic-2025-09-15",
                                     "openai-2023-02-15", "anthropic-consumer-terms-2025-09-28"}
    assert packs.vendors == ("anthropic", "openai")
    advisory = packs["anthropic-consumer-terms-2025-09-28"]
    assert advisory.kind == "advisory"
    assert list(advisory.advisories) == ["consumer_plan_data_advisory"]


def test_every_rule_cites_an_existing_clause_and_every_clause_is_cited(packs):
    cited = set()
    for pack in packs:
        for item in (*pack.rules, *pack.safeguards.values(), *pack.advisories.values()):
            for clause in item.clauses:
                assert packs[clause.pack].clauses[clause.id] is clause
                cited.add((clause.pack, clause.id))
        for rule in pack.rules:
            assert rule.clauses, rule.id
    assert cited == {(p.id, cid) for p in packs for cid in p.clauses}


def test_required_safeguards_exist(packs):
    ids = {name for p in packs for name in p.safeguards}
    assert ids >= {"human_in_the_loop", "ai_use_disclosure", "chatbot_disclosure",
                   "minors_guidelines", "consumer_disclaimer", "simulated_person_label"}


def test_quotes_are_one_sentence_and_translations_say_so(packs):
    for pack in packs:
        for clause in pack.clauses.values():
            assert len(clause.quote) <= 400
            assert not re.search(r"[.!?]\s+[A-Z]", clause.quote), clause.id
            assert not re.search(r"[\u4e00-\u9fff]", clause.quote + clause.section)
        header = pack.path.read_text().split("\nid = ")[0]
        assert ("translation" in header) == (pack.language == "zh"), pack.id
    assert {p.id for p in packs if p.language == "zh"} == {"anthropic-2025-09-15",
                                                           "openai-2023-02-15"}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents are not on this machine")
def test_english_quotes_are_verbatim_from_the_seed(packs):
    def plain(text):
        return re.sub(r"\s+", " ", re.sub(r"\*\*|\[|\]\(#\)", "", text))

    for pack in packs:
        if pack.language == "en":
            source = plain((SEEDS / pack.source).read_text())
            for clause in pack.clauses.values():
                assert plain(clause.quote).rstrip(".") in source, (pack.id, clause.id)


def test_fact_choices_are_the_classifier_labels():
    from classifier import labels

    facts = rules.FACTS
    assert tuple(facts["domains"].choices) == labels.DOMAINS
    assert tuple(facts["prohibited"].choices) == labels.PROHIBITED
    assert tuple(facts["audience"].choices) == labels.AUDIENCES


BAD = [
    # (file, text to replace, replacement, what the message must say)
    (A24, "[[rules]]\nid = \"chatbot_disclosure\"", "[[rules]\nid = \"chatbot_disclosure\"",
     "TOML syntax error"),
    (A24, 'when = { fact = "chatbot", equals = true }', 'when = { fact = "chatbott", equals = true }',
     "rule chatbot_disclosure: when: unknown fact 'chatbott'"),
    (OAI, '{ fact = "law_enforcement_use", equals = "missing_persons" }',
     '{ fact = "law_enforcement_use", equals = "missing_person" }',
     "rule missing_persons_tracking: when: bad value 'missing_person'"),
    (A24, 'when = { fact = "chatbot", equals = true }',
     'when = { fact = "chatbot", equals = true, in = [true] }',
     "rule chatbot_disclosure: when: expected exactly one operator"),
    (A24, 'when = { fact = "chatbot", equals = true }', 'when = "chatbot == True"',
     "rule chatbot_disclosure: when: a condition must be a non-empty table"),
    (A24, 'when = { fact = "minors", equals = true }',
     'when = { all = [{ fact = "minors", contains = true }] }',
     "rule minors_disclosure: when.all[0]: 'contains' cannot be used on 'minors'"),
    (A24, 'clauses = ["chatbots"]', 'clauses = ["chatbot_clause"]',
     "rule chatbot_disclosure: unknown clause 'chatbot_clause'"),
    (A24, 'clauses = ["chatbots"]', 'clauses = ["anthropic-2025-09-15:high_risk_scope"]',
     "rule chatbot_disclosure: unknown clause 'anthropic-2025-09-15:high_risk_scope'"),
    (A24, 'clauses = ["chatbots"]', "clauses = []",
     "rule chatbot_disclosure: a rule must cite at least one clause"),
    (OAI, 'safeguards = ["simulated_person_label"]', 'safeguards = ["simulated_label"]',
     "rule simulated_person_label: unknown safeguard 'simulated_label'"),
    (A24, 'id = "chatbot_disclosure"\nwhen', 'id = "minors_disclosure"\nwhen',
     "rule minors_disclosure: duplicate rule id"),
    (A24, ('id = "chatbot_disclosure"\nwhen = { fact = "chatbot", equals = true }\nverdict = '
           '"allowed_with_safeguards"'),
     'id = "chatbot_disclosure"\nwhen = { fact = "chatbot", equals = true }\nverdict = "fine"',
     "rule chatbot_disclosure: 'verdict' must be one of"),
    (ADV, 'advisory = "consumer_plan_data_advisory"\nclauses = ["consumer_only"]',
     'advisory = "consumer_plan_data_advisory"\nverdict = "allowed"\nclauses = ["consumer_only"]',
     "rule consumer_plan_training: an advisory rule names one defined advisory"),
    (A25, "effective_from = 2025-09-15", "effective_from = 2024-06-06",
     "anthropic-2025-09-15.toml: key 'effective_from': overlaps anthropic-2024-06-06.toml"),
    (A24, "effective_from = 2024-06-06", "effective_from = 2024-06-06\neffective_until = 2025-12-31",
     "anthropic-2025-09-15.toml: key 'effective_from': overlaps anthropic-2024-06-06.toml"),
    (A24, "effective_from = 2024-06-06", 'effective_from = "June 2024"',
     "key 'effective_from': expected a date"),
    (A24, "effective_from = 2024-06-06", "effective_form = 2024-06-06", "key 'effective_form': unknown key"),
    (A24, 'id = "anthropic-2024-06-06"', 'id = "anthropic-2024"', "key 'id': 'anthropic-2024' must match"),
    (A24, 'vendor = "anthropic"', 'vendor = "acme"', "key 'vendor': unknown vendor 'acme'"),
    (A24, "[clauses.minors]", "[clauses.unused]\nsection = \"x\"\nquote = \"Unused.\"\n\n[clauses.minors]",
     "clause unused: never cited by a rule or safeguard"),
    (A24, 'quote = "Depict or request sexual intercourse or sex acts"',
     'quote = "Depict or request sexual intercourse or sex acts. Generate erotic chats."',
     "clause sexual_content: a quote is one sentence at most"),
    (OAI, "[safeguards.human_in_the_loop]",
     "[safeguards.spare]\ntitle = \"x\"\naction = \"y\"\n\n[safeguards.human_in_the_loop]",
     "safeguard spare: never emitted by a rule"),
]


@pytest.mark.parametrize("name,old,new,message", BAD, ids=[b[3][:40] for b in BAD])
def test_malformed_pack_is_refused_naming_file_and_rule(policies, name, old, new, message):
    edit(policies, name, old, new)
    with pytest.raises(rules.PackError) as info:
        rules.load_packs(policies)
    assert message in str(info.value)
    named = message.split(": ")[0]
    assert str(info.value).startswith((named if named.endswith(".toml") else name) + ": ")


def test_empty_or_missing_folder_is_refused(tmp_path):
    with pytest.raises(rules.PackError, match="no policy packs"):
        rules.load_packs(tmp_path)
    with pytest.raises(rules.PackError, match="not a folder"):
        rules.load_packs(tmp_path / "nope")


def test_extra_file_replaces_the_pack_with_its_id(policies, tmp_path):
    new = tmp_path / A24
    new.write_text((policies / A24).read_text().replace(
        'title = "Anthropic Usage Policy (2024-06-06)"', 'title = "Edited"'))
    assert rules.load_packs(policies, extra=[new])["anthropic-2024-06-06"].title == "Edited"


def test_pack_error_is_a_click_exception_so_flask_prints_it():
    import click

    assert issubclass(rules.PackError, click.ClickException)
    assert issubclass(rules.FactError, ValueError)


def test_init_app_refuses_to_start_on_a_bad_pack(policies):
    edit(policies, A24, 'clauses = ["chatbots"]', 'clauses = ["nope"]')
    app = Flask("t")
    app.config["POLICIES_DIR"] = str(policies)
    with pytest.raises(rules.PackError, match=r"anthropic-2024-06-06.toml: rule chatbot_disclosure"):
        rules.init_app(app)


def test_create_app_refuses_to_start_on_a_bad_pack(policies, tmp_path, tiny_data, fake_classifier):
    from app import create_app
    from tests.fakes import FakeEmbedder

    edit(policies, OAI, 'clauses = ["ai_disclosure"]\n\n[[rules]]', 'clauses = ["x"]\n\n[[rules]]')
    with pytest.raises(rules.PackError, match="openai-2023-02-15.toml: rule ai_interaction_disclosure"):
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"),
                    "POLICIES_DIR": str(policies), "TRAINING_DATA": str(tiny_data),
                    "MODEL_DIR": str(tmp_path / "m"), "EMBEDDER": FakeEmbedder(),
                    "CLASSIFIER": fake_classifier})


def test_get_packs_reloads_changes_and_keeps_old_packs_on_a_bad_edit(policies, caplog):
    app = Flask("t")
    app.config["POLICIES_DIR"] = str(policies)
    rules.init_app(app)
    with app.app_context():
        first = rules.get_packs()
        assert rules.get_packs() is first
        edit(policies, OAI, 'title = "OpenAI usage policies (2023-02-15)"', 'title = "Edited"')
        second = rules.get_packs()
        assert second is not first
        assert second["openai-2023-02-15"].title == "Edited"
        edit(policies, OAI, 'title = "Edited"', 'title = 7')
        with caplog.at_level(logging.ERROR):
            assert rules.get_packs() is second
            assert rules.get_packs() is second
        errors = [r for r in caplog.records if "not reloaded" in r.getMessage()]
        assert len(errors) == 1
        assert "openai-2023-02-15.toml" in errors[0].getMessage()
        assert rules.current_packs() is second


def test_init_app_defaults_to_the_repo_packs():
    app = Flask("t")
    rules.init_app(app)
    assert Path(app.config["POLICIES_DIR"]) == rules.DEFAULT_DIR
    assert len(app.extensions["policies"]) == 4


def test_policies_page_lists_every_rule_of_every_pack(packs):
    # The table is generated (rules/doc.py through cog); this reads it back, so a wrong generator fails too.
    text = (rules.DEFAULT_DIR.parent.parent / "docs" / "policies.md").read_text()
    for pack in packs:
        section = text.split(f"**`{pack.id}`**")[1].split("**`")[0]
        rows = {m.group(1): (m.group(2), m.group(3))
                for m in re.finditer(r"^\| `([a-z0-9_]+)` \| (.*?) \| (.*?) \|\s*$", section, re.MULTILINE)}
        assert set(rows) == {rule.id for rule in pack.rules}, pack.id
        for rule in pack.rules:
            emits, cites = rows[rule.id]
            # What the table says a rule emits and cites is what the pack file says.
            said = emits.replace("`", "").replace("_", " ")
            for word in ([rule.verdict] if rule.verdict else []) + list(rule.safeguards) + [rule.advisory or ""]:
                assert word.replace("_", " ") in said, (pack.id, rule.id, word)
            cited = {ref.split(":")[-1] for ref in re.findall(r"`([^`]+)`", cites)}
            assert cited == {clause.id for clause in rule.clauses}, (pack.id, rule.id)
