"""One pack file: its dataclasses and the checks that need nothing but the file itself.

Every error is a :class:`PackError` whose message starts with the file name and names the rule,
clause or key at fault, so ``flask policies check`` and the app's start-up can point at it.
"""

import datetime
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import click

from . import conditions
from .facts import VENDORS

__all__ = ["KINDS", "VERDICTS", "Clause", "Pack", "PackError", "Rule", "Safeguard", "parse_file"]

# Ordered from most to least permissive; the engine relies on this order.
VERDICTS = ("allowed", "allowed_with_safeguards", "needs_review", "prohibited")
KINDS = ("policy", "advisory")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PACK_KEYS = {"id", "vendor", "kind", "series", "title", "effective_from", "effective_until",
             "source", "language", "notes", "clauses", "safeguards", "advisories", "rules"}
RULE_KEYS = {"id", "description", "when", "verdict", "safeguards", "advisory", "clauses"}
# A sentence end followed by the start of another sentence: quotes are one sentence at most.
SECOND_SENTENCE = re.compile(r"[.!?]\s+[A-Z\"“]")


class PackError(click.ClickException):
    """A policy pack is malformed; the message names the file and the rule, clause or key."""

    # A ClickException so that `flask ...` prints the message and exits 1 when the app's
    # start-up rejects a pack, instead of a traceback.
    status = 500


@dataclass(frozen=True)
class Clause:
    """A quoted passage of a policy document."""

    pack: str
    id: str
    section: str
    quote: str

    def to_dict(self):
        """The clause as it appears in an assessment."""
        return {"pack": self.pack, "id": self.id, "section": self.section, "quote": self.quote}


@dataclass(frozen=True)
class Safeguard:
    """A safeguard (or an advisory): what to do, and the clauses that require it."""

    id: str
    title: str
    action: str
    clauses: tuple = ()


@dataclass(frozen=True)
class Rule:
    """A condition over facts, what it emits when it holds, and the clauses it rests on."""

    id: str
    description: str
    when: dict
    clauses: tuple
    verdict: str | None = None
    safeguards: tuple = ()
    advisory: str | None = None


@dataclass(frozen=True)
class Pack:
    """One version of one vendor's policy (``kind="policy"``) or a notice (``"advisory"``)."""

    id: str
    vendor: str
    kind: str
    series: str
    title: str
    effective_from: datetime.date
    effective_until: datetime.date | None
    source: str
    language: str
    notes: str
    path: Path
    clauses: dict = field(default_factory=dict)
    safeguards: dict = field(default_factory=dict)
    advisories: dict = field(default_factory=dict)
    rules: tuple = ()

    def in_force(self, day):
        """Whether ``day`` lies in this pack's own date range (a later pack may still supersede it)."""
        return self.effective_from <= day and (self.effective_until is None
                                               or day <= self.effective_until)


def fail(path, where, message):
    """Raise a PackError for ``path``; ``where`` names the rule, clause or key."""
    raise PackError(f"{path.name}: {where}{': ' if where else ''}{message}")


def _text(table, key, path, where, required=True):
    value = table.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        fail(path, where, f"{key!r} must be a non-empty string")
    return value.strip()


def _date(table, key, path, required=True):
    value = table.get(key)
    if value is None and not required:
        return None
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    fail(path, f"key {key!r}", f"expected a date like 2025-09-15, got {value!r}")


def _names(table, key, path, where):
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(path, where, f"{key!r} must be a list of names")
    if len(set(value)) != len(value):
        fail(path, where, f"{key!r} lists a name twice")
    return tuple(value)


def _table(data, key, path):
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        fail(path, f"key {key!r}", "expected tables like [" + key + ".some_id]")
    for name in value:
        if not NAME.match(name):
            fail(path, f"{key[:-1]} {name}", "ids are snake_case")
    return value


def _parse(path, data):
    """Validate one file's structure; clause references stay as strings until all files are read."""
    for key in data:
        if key not in PACK_KEYS:
            fail(path, f"key {key!r}", "unknown key")
    pack_id = _text(data, "id", path, "key 'id'")
    if pack_id != path.stem:
        fail(path, "key 'id'", f"{pack_id!r} must match the file name {path.stem!r}")
    vendor = _text(data, "vendor", path, "key 'vendor'")
    if vendor not in VENDORS:
        fail(path, "key 'vendor'", f"unknown vendor {vendor!r} (one of {', '.join(VENDORS)})")
    kind = data.get("kind", "policy")
    if kind not in KINDS:
        fail(path, "key 'kind'", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    series, language = data.get("series", kind), data.get("language", "en")
    if not isinstance(series, str) or not NAME.match(series.replace("-", "_")):
        fail(path, "key 'series'", f"expected a kebab-case name, got {series!r}")
    if language not in ("en", "zh"):
        fail(path, "key 'language'", f"expected en or zh, got {language!r}")
    start, until = _date(data, "effective_from", path), _date(data, "effective_until", path, False)
    if until is not None and until < start:
        fail(path, "key 'effective_until'", "is before effective_from")
    clauses = {}
    for cid, table in _table(data, "clauses", path).items():
        where = f"clause {cid}"
        if set(table) - {"section", "quote"}:
            fail(path, where, f"unknown keys {sorted(set(table) - {'section', 'quote'})}")
        quote = _text(table, "quote", path, where)
        if len(quote) > 400 or SECOND_SENTENCE.search(quote):
            fail(path, where, "a quote is one sentence at most")
        clauses[cid] = Clause(pack_id, cid, _text(table, "section", path, where), quote)
    measures = {}
    for key in ("safeguards", "advisories"):
        measures[key] = {}
        for mid, table in _table(data, key, path).items():
            where = f"{key[:-1] if key == 'safeguards' else 'advisory'} {mid}"
            if set(table) - {"title", "action", "clauses"}:
                extra = sorted(set(table) - {"title", "action", "clauses"})
                fail(path, where, f"unknown keys {extra}")
            measures[key][mid] = Safeguard(mid, _text(table, "title", path, where),
                                           _text(table, "action", path, where),
                                           _names(table, "clauses", path, where))
    rules_data = data.get("rules", [])
    if not isinstance(rules_data, list) or not rules_data:
        fail(path, "key 'rules'", "expected one or more [[rules]] tables")
    rules = []
    for i, table in enumerate(rules_data):
        rules.append(_parse_rule(path, kind, i, table, measures, {r.id for r in rules}))
    return Pack(pack_id, vendor, kind, series, _text(data, "title", path, "key 'title'"),
                start, until, _text(data, "source", path, "key 'source'"), language,
                _text(data, "notes", path, "key 'notes'", False), path,
                clauses, measures["safeguards"], measures["advisories"], tuple(rules))


def _parse_rule(path, kind, index, table, measures, seen):
    rid = table.get("id") if isinstance(table, dict) else None
    where = f"rule {rid}" if isinstance(rid, str) else f"rules[{index}]"
    if not isinstance(rid, str) or not NAME.match(rid):
        fail(path, where, "'id' must be a snake_case name")
    if rid in seen:
        fail(path, where, "duplicate rule id")
    if set(table) - RULE_KEYS:
        fail(path, where, f"unknown keys {sorted(set(table) - RULE_KEYS)}")
    try:
        conditions.validate(table.get("when"))
    except conditions.ConditionError as exc:
        fail(path, where, str(exc))
    clauses = _names(table, "clauses", path, where)
    if not clauses:
        fail(path, where, "a rule must cite at least one clause")
    safeguards = _names(table, "safeguards", path, where)
    advisory = table.get("advisory")
    if kind == "policy":
        if table.get("verdict") not in VERDICTS:
            fail(path, where, f"'verdict' must be one of {', '.join(VERDICTS)}")
        if advisory is not None:
            fail(path, where, "advisories belong in advisory packs")
    elif ("verdict" in table or safeguards or not isinstance(advisory, str)
          or advisory not in measures["advisories"]):
        fail(path, where, f"an advisory rule names one defined advisory, got {advisory!r}, "
                          "and no verdict or safeguards")
    for name in safeguards:
        if name not in measures["safeguards"]:
            fail(path, where, f"unknown safeguard {name!r}")
    return Rule(rid, _text(table, "description", path, where, False), table["when"], clauses,
                table.get("verdict"), safeguards, advisory)


def _read(path):
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        fail(path, "", f"TOML syntax error: {exc}")
    except RecursionError:
        fail(path, "", "the TOML is nested too deeply")
    except OSError as exc:
        fail(path, "", f"cannot read: {exc.strerror}")


def parse_file(path):
    """Read and validate one pack file; clause references stay unresolved (see packs.load_packs).

    :raises PackError: naming the file and the rule, clause or key at fault.
    """
    return _parse(path, _read(path))
