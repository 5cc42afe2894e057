"""Reviewers' corrections as training data: reading, validating and merging them into the shipped examples."""

import sqlite3
from pathlib import Path

from .dataset import FIELDS, DatasetError, check_example, read_jsonl, same_text
from .predictor import labels_of


def _validate(located):
    """Check ``(location, record)`` pairs like shipped examples; errors name the location and the case id."""
    seen = {}
    for location, record in located:
        rid = record.get("id") if isinstance(record, dict) else None
        where = f"{location}, case {rid}" if isinstance(rid, str) and rid.strip() else location
        check_example(record, where)
        if rid in seen:
            raise DatasetError(f"{where}: case id already used ({seen[rid]}).")
        seen[rid] = location
    return [record for _, record in located]


def read_overrides_file(path):
    """Corrections from a JSON-lines file written by ``flask review export-overrides``.

    :raises DatasetError: naming the line and case id of the first bad correction.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: overrides file not found.")
    return _validate([(f"{path.name} line {number}", record) for number, record in read_jsonl(path)])


def read_overrides_db(path):
    """Corrections from the reviewers' overrides in the service's SQLite database, opened read-only.

    :raises DatasetError: when the database is missing or has no overrides table, or a correction is invalid.
    """
    from sqlite_utils import Database

    from storage.reviews import labelled_examples

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: database not found. On a machine without it, pass --overrides-file with the "
                           "output of `flask review export-overrides`.")
    # Read-only, so training never creates, migrates or locks the service's database.
    db = Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    try:
        if "fact_overrides" not in db.table_names():
            raise DatasetError(f"{path}: no fact_overrides table; run `flask init-db` first.")
        records = labelled_examples(db)
    except sqlite3.DatabaseError as exc:
        raise DatasetError(f"{path}: cannot read the database ({exc}).") from None
    finally:
        db.close()
    return _validate([(path.name, record) for record in records])


def merge(examples, corrections):
    """The shipped examples with the reviewers' corrections applied.

    A correction whose text equals a shipped example's text (ignoring whitespace) replaces that example's labels,
    keeping its id; the others are appended. Of several corrections with one text the last wins, as it is the
    latest word on it.
    :return: a dict with ``examples`` (the merged list), ``replaced`` (shipped ids relabelled), ``added``
        (correction ids appended) and ``corrected`` (indices in ``examples`` of every corrected example).
    :raises DatasetError: when an appended correction reuses a shipped example's id.
    """
    by_text = {}
    for correction in corrections:
        by_text[same_text(correction["text"])] = correction
    merged, replaced, corrected, used = [], [], [], set()
    for example in examples:
        key = same_text(example["text"])
        correction = by_text.get(key)
        if correction is None:
            merged.append(example)
            continue
        used.add(key)
        corrected.append(len(merged))
        replaced.append(example["id"])
        merged.append({**example, **labels_of(correction)})
    shipped_ids = {e["id"] for e in examples}
    added = []
    for key, correction in by_text.items():
        if key in used:
            continue
        if correction["id"] in shipped_ids:
            raise DatasetError(f"case {correction['id']}: id already used by a shipped example.")
        corrected.append(len(merged))
        added.append(correction["id"])
        merged.append({k: correction[k] for k in FIELDS})
    return {"examples": merged, "replaced": replaced, "added": added, "corrected": corrected}
