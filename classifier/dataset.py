"""The labelled training examples: loading, validation and a content hash."""

import hashlib
import json
from pathlib import Path

from .labels import AUDIENCES, DOMAINS, FLAGS, LABEL_FIELDS, PROHIBITED, REVIEW, SOURCES, USES

FIELDS = ("id", "text", *LABEL_FIELDS, "source")


class DatasetError(ValueError):
    """A training file that cannot be used; the message names the file and line."""


def check_example(record, where):
    """Validate one labelled example.

    :param where: names the record in the error, e.g. the file and line.
    :raises DatasetError: for a missing, unknown or badly typed field or a label outside the label sets.
    """
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object.")
    missing = [f for f in FIELDS if f not in record]
    if missing:
        raise DatasetError(f"{where}: missing field(s) {', '.join(missing)}.")
    extra = sorted(set(record) - set(FIELDS))
    if extra:
        raise DatasetError(f"{where}: unknown field(s) {', '.join(extra)}.")
    if not isinstance(record["id"], str) or not record["id"].strip():
        raise DatasetError(f"{where}: 'id' must be a non-empty string.")
    if not isinstance(record["text"], str) or len(record["text"].strip()) < 3:
        raise DatasetError(f"{where}: 'text' must be a non-empty string.")
    domains = record["domains"]
    if not isinstance(domains, list) or any(d not in DOMAINS for d in domains):
        raise DatasetError(f"{where}: 'domains' must be a list drawn from {', '.join(DOMAINS)}; got {domains!r}.")
    if len(set(domains)) != len(domains):
        raise DatasetError(f"{where}: 'domains' repeats a domain.")
    uses = record["uses"]
    if not isinstance(uses, list) or any(u not in USES for u in uses) or len(set(uses)) != len(uses):
        raise DatasetError(f"{where}: 'uses' must be a list of distinct names from {', '.join(USES)}; got {uses!r}.")
    if record["audience"] not in AUDIENCES:
        raise DatasetError(f"{where}: 'audience' must be one of {', '.join(AUDIENCES)}; got {record['audience']!r}.")
    if record["prohibited"] is not None and record["prohibited"] not in PROHIBITED:
        raise DatasetError(f"{where}: 'prohibited' must be null or a category; got {record['prohibited']!r}.")
    for flag in FLAGS:
        if not isinstance(record[flag], bool):
            raise DatasetError(f"{where}: '{flag}' must be true or false.")
    if record[REVIEW] not in (True, False, None):
        raise DatasetError(f"{where}: '{REVIEW}' must be true, false or null (the text does not say).")
    if record["source"] not in SOURCES:
        raise DatasetError(f"{where}: 'source' must be one of {', '.join(SOURCES)}; got {record['source']!r}.")


def same_text(text):
    """``text`` with its whitespace normalised: two texts equal under it are one description."""
    return " ".join(text.split())


def read_jsonl(path):
    """``(line number, record)`` for each non-blank line of a JSON-lines file.

    :raises DatasetError: naming the file and line of the first line that is not JSON.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path.name} line {number}: not valid JSON ({exc.msg}).") from None


def load_examples(path):
    """Read and validate a JSON-lines file of labelled examples (training or validation).

    :raises DatasetError: naming the file and line of the first bad record, or a repeated id.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: training data not found.")
    examples, seen = [], {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not valid JSON ({exc.msg}).") from None
            check_example(record, where)
            if record["id"] in seen:
                raise DatasetError(f"{where}: id {record['id']!r} already used on line {seen[record['id']]}.")
            seen[record["id"]] = number
            examples.append(record)
    if not examples:
        raise DatasetError(f"{path}: no examples.")
    return examples


def examples_hash(examples):
    """A hash of the examples' content, independent of formatting in the file."""
    canonical = json.dumps([{k: e[k] for k in FIELDS} for e in examples], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stratify_key(example):
    """The label used to balance cross-validation folds: the rarest thing the example carries."""
    if example["prohibited"]:
        return "p:" + example["prohibited"]
    if example["domains"]:
        return "d:" + sorted(example["domains"])[0]
    return "none"
