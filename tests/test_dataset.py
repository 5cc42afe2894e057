import json
from collections import Counter

import pytest

from classifier.dataset import DatasetError, examples_hash, load_examples
from classifier.labels import DOMAINS, PROHIBITED
from config import Config

GOOD = {"id": "a", "text": "A chatbot for tenants", "domains": ["legal"], "audience": "consumer",
        "decisions_about_individuals": False, "qualified_human_review": None, "prohibited": None, "chatbot": True,
        "minors": False, "uses": [], "source": "written"}


def write(tmp_path, lines):
    path = tmp_path / "ex.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_loads_valid_file(tmp_path):
    path = write(tmp_path, [json.dumps(GOOD), "", json.dumps({**GOOD, "id": "b"})])
    assert [e["id"] for e in load_examples(path)] == ["a", "b"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        (json.dumps({**GOOD, "id": "b", "domains": ["astrology"]}), "line 2: 'domains' must be a list"),
        (json.dumps({**GOOD, "id": "b", "audience": "everyone"}), "line 2: 'audience' must be one of"),
        (json.dumps({**GOOD, "id": "b", "prohibited": "jaywalking"}), "line 2: 'prohibited' must be null"),
        (json.dumps({**GOOD, "id": "b", "chatbot": "yes"}), "line 2: 'chatbot' must be true or false"),
        (json.dumps({**GOOD, "id": "b", "decisions_about_individuals": None}),
         "line 2: 'decisions_about_individuals' must be true or false"),
        (json.dumps({**GOOD, "id": "b", "qualified_human_review": "maybe"}),
         "line 2: 'qualified_human_review' must be true, false or null"),
        (json.dumps({**GOOD, "id": "b", "source": "internet"}), "line 2: 'source' must be one of"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "minors"} | {"id": "b"}), "line 2: missing field(s) minors"),
        (json.dumps({**GOOD, "id": "b", "colour": "red"}), "line 2: unknown field(s) colour"),
        (json.dumps({**GOOD, "id": "b", "text": "  "}), "line 2: 'text' must be"),
        (json.dumps(GOOD), "line 2: id 'a' already used on line 1"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_bad_record_names_its_line(tmp_path, bad, message):
    path = write(tmp_path, [json.dumps(GOOD), bad])
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_examples(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_examples(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="no examples"):
        load_examples(write(tmp_path, [""]))


def test_hash_ignores_formatting_but_not_content(tmp_path):
    a = load_examples(write(tmp_path, [json.dumps(GOOD)]))
    b = load_examples(write(tmp_path, [json.dumps(GOOD, indent=None, separators=(",", ":"))]))
    c = load_examples(write(tmp_path, [json.dumps({**GOOD, "minors": True})]))
    assert examples_hash(a) == examples_hash(b) != examples_hash(c)


def test_shipped_training_data_is_valid_and_covers_every_label():
    examples = load_examples(Config.TRAINING_DATA)
    assert len(examples) >= 700
    domains = Counter(d for e in examples for d in e["domains"])
    for domain in DOMAINS:
        assert domains[domain] >= 60, domain
        audiences = Counter(e["audience"] for e in examples if domain in e["domains"])
        # Within each domain neither audience may be a token minority.
        assert min(audiences["consumer"], audiences["business"]) >= 0.25 * domains[domain], domain
    assert sum(1 for e in examples if not e["domains"]) >= 200
    prohibited = Counter(e["prohibited"] for e in examples if e["prohibited"])
    for category in PROHIBITED:
        assert prohibited[category] >= 12, category
    texts = [e["text"] for e in examples]
    assert len(set(texts)) == len(texts)
    lengths = sorted(len(t.split()) for t in texts)
    assert lengths[len(lengths) // 10] < 25 and lengths[-len(lengths) // 10] > 80
    sources = Counter(e["source"] for e in examples)
    # Real text is most of what the classifier will meet, so it must be a large part of what it learns from.
    assert sources["usfed"] >= 1500 and sources["written"] >= 1098 + 600
    decisions = Counter(e["decisions_about_individuals"] for e in examples)
    assert decisions[True] >= 300 and decisions[False] >= 300
    review = Counter(e["qualified_human_review"] for e in examples)
    assert review[True] >= 100 and review[False] >= 50


def test_validation_set_is_real_text_kept_out_of_training():
    examples = load_examples(Config.TRAINING_DATA)
    validation = load_examples(Config.VALIDATION_DATA)
    assert len(validation) >= 300
    assert {e["source"] for e in validation} <= {"usfed", "ai-tools-list"}
    trained_texts = {" ".join(e["text"].split()) for e in examples}
    assert not [e["id"] for e in validation if " ".join(e["text"].split()) in trained_texts]
    assert not {e["id"] for e in validation} & {e["id"] for e in examples}
