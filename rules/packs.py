"""Policy packs: every pack file in a folder, checked against each other, and the pick by date.

A pack is one TOML file per vendor policy version (``kind = "policy"``) or notice
(``kind = "advisory"``); docs/policies.md describes the format.
"""

import datetime
import itertools
import os
import re
import secrets
import tempfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

from .facts import VENDORS
from .schema import (
    VERDICTS,
    Clause,
    Pack,
    PackError,
    Rule,
    Safeguard,
    fail,
    parse_file,
)

__all__ = [
    "DEFAULT_DIR",
    "VERDICTS",
    "Clause",
    "Pack",
    "PackError",
    "Packs",
    "Rule",
    "Safeguard",
    "UploadError",
    "check_packs",
    "load_packs",
    "save_pack",
    "signature",
]

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "policies"
# Real packs are a few kilobytes; anything near this is a mistake, and parsing it would tie up a worker.
MAX_PACK_BYTES = 256 * 1024
PACK_FILE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\.toml$")


class Packs:
    """A validated set of packs; picks the one in force for a vendor on a date."""

    def __init__(self, packs, directory=None, signature=None):
        ordered = sorted(packs, key=lambda p: (p.vendor, p.kind, p.effective_from))
        self._packs = {pack.id: pack for pack in ordered}
        self.directory = directory
        self.signature = signature

    def __iter__(self):
        return iter(self._packs.values())

    def __len__(self):
        return len(self._packs)

    def __contains__(self, pack_id):
        return pack_id in self._packs

    def __getitem__(self, pack_id):
        return self._packs[pack_id]

    @property
    def vendors(self):
        """Vendors that have at least one policy pack, in canonical order."""
        have = {pack.vendor for pack in self if pack.kind == "policy"}
        return tuple(v for v in VENDORS if v in have)

    def in_force(self, vendor, day, kind="policy"):
        """The packs of ``kind`` in force for ``vendor`` on ``day``: one per series at most."""
        found = {}
        for pack in self:
            if pack.vendor == vendor and pack.kind == kind and pack.effective_from <= day:
                found[pack.series] = pack  # sorted by date, so the latest start wins
        return [pack for pack in found.values() if pack.in_force(day)]

    def last_day(self, pack):
        """The last day ``pack`` is in force: its own end, or the day before its successor starts."""
        series = (pack.vendor, pack.kind, pack.series)
        ends = [pack.effective_until] if pack.effective_until else []
        ends += [p.effective_from - datetime.timedelta(days=1) for p in self
                 if (p.vendor, p.kind, p.series) == series and p.effective_from > pack.effective_from]
        return min(ends, default=None)

    def policy(self, vendor, day):
        """The policy pack in force for ``vendor`` on ``day``, or None."""
        packs = self.in_force(vendor, day)
        return packs[0] if packs else None

    def without(self, pack_id):
        """The same packs minus ``pack_id``."""
        return Packs([p for p in self if p.id != pack_id], self.directory, self.signature)


def _resolve(pack, packs):
    """Replace clause references with Clause objects; ``other-pack:clause`` cites an older pack."""

    def clause(ref, where):
        other, _, cid = ref.rpartition(":")
        source = packs.get(other or pack.id)
        if source is None or (other and (source.vendor != pack.vendor
                                         or source.effective_from >= pack.effective_from)):
            fail(pack.path, where, f"unknown clause {ref!r} (an earlier pack of the same vendor?)")
        if cid not in source.clauses:
            fail(pack.path, where, f"unknown clause {ref!r}")
        return source.clauses[cid]

    def measures(table, label):
        return {m.id: replace(m, clauses=tuple(clause(c, f"{label} {m.id}") for c in m.clauses))
                for m in table.values()}

    rules = tuple(replace(r, clauses=tuple(clause(c, f"rule {r.id}") for c in r.clauses))
                  for r in pack.rules)
    return replace(pack, rules=rules, safeguards=measures(pack.safeguards, "safeguard"),
                   advisories=measures(pack.advisories, "advisory"))


def _check_dates(packs):
    """Within one vendor's series, no two packs may be in force on the same day."""
    groups = {}
    for pack in sorted(packs, key=lambda p: p.effective_from):
        groups.setdefault((pack.vendor, pack.kind, pack.series), []).append(pack)
    for group in groups.values():
        for before, after in itertools.pairwise(group):
            if before.effective_from == after.effective_from or (
                    before.effective_until is not None
                    and before.effective_until >= after.effective_from):
                fail(after.path, "key 'effective_from'",
                     f"overlaps {before.path.name} for vendor {after.vendor!r}")


def _check_cited(packs):
    """Every clause is cited and every safeguard or advisory is emitted by some rule."""
    cited = set()
    for pack in packs:
        for item in (*pack.rules, *pack.safeguards.values(), *pack.advisories.values()):
            cited.update((c.pack, c.id) for c in item.clauses)
    for pack in packs:
        for cid in pack.clauses:
            if (pack.id, cid) not in cited:
                fail(pack.path, f"clause {cid}", "never cited by a rule or safeguard")
        used = {name for rule in pack.rules for name in (*rule.safeguards, rule.advisory)}
        for label, table in (("safeguard", pack.safeguards), ("advisory", pack.advisories)):
            for name in table:
                if name not in used:
                    fail(pack.path, f"{label} {name}", "never emitted by a rule")


def signature(directory):
    """What changes when a pack file in ``directory`` is added, removed or edited."""
    files = sorted(Path(directory).glob("*.toml"))
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def load_packs(directory=None, extra=()):
    """Load and validate every ``*.toml`` pack in ``directory`` (default: the repo's data/policies).

    :param extra: more pack files; one with the id of a pack in ``directory`` replaces it.
    :raises PackError: naming the file and the rule, clause or key at fault.
    """
    directory = Path(directory or DEFAULT_DIR)
    if not directory.is_dir():
        raise PackError(f"{directory}: not a folder of policy packs")
    sig = signature(directory)
    parsed = {}
    for path in sorted(directory.glob("*.toml")):
        parsed[path.stem] = parse_file(path)
    for path in map(Path, extra):
        parsed[path.stem] = parse_file(path)
    if not parsed:
        raise PackError(f"{directory}: no policy packs (*.toml)")
    _check_dates(parsed.values())
    packs = [_resolve(pack, parsed) for pack in parsed.values()]
    _check_cited(packs)
    return Packs(packs, directory, sig)


def check_packs(directory, extra=()):
    """Validate the packs in ``directory`` (with ``extra`` files) and say what they hold, as
    ``flask policies check`` and the admin page show it.

    :raises PackError: as :func:`load_packs`.
    """
    packs = load_packs(directory, extra=extra)
    rule_count = sum(len(p.rules) for p in packs)
    clause_count = sum(len(p.clauses) for p in packs)
    return f"ok: {directory}: {len(packs)} packs, {rule_count} rules, {clause_count} clauses"


class UploadError(ValueError):
    """An uploaded pack was refused; nothing was written."""

    status = 400


def save_pack(upload, directory, loaded):
    """Validate an uploaded pack together with the loaded ones, then write it into ``directory`` atomically.

    :param upload: a werkzeug ``FileStorage`` (its ``filename`` and ``stream``).
    :param loaded: the :class:`Packs` in use; an id among them is refused.
    :returns: ``(pack id, file contents)``.
    :raises UploadError: a bad name or size, an id already taken, a pack the loader refuses, or an unwritable folder.
    """
    name = PurePosixPath((upload.filename or "").replace("\\", "/")).name
    if not PACK_FILE.match(name):
        raise UploadError("Name the file after its pack id, in lower case, e.g. openai-2026-01-01.toml.")
    data = upload.stream.read(MAX_PACK_BYTES + 1)
    if len(data) > MAX_PACK_BYTES:
        raise UploadError(f"A pack file may have at most {MAX_PACK_BYTES // 1024} KB.")
    pack_id, directory = name.removesuffix(".toml"), Path(directory)
    target = directory / name
    if pack_id in loaded or target.exists():
        raise UploadError(f"A pack with the id {pack_id} already exists; packs are never replaced, add a new one.")
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / name
        candidate.write_bytes(data)
        try:
            load_packs(directory, extra=[candidate])
        except PackError as exc:
            raise UploadError(exc.message) from None
    # Written under a name the loader does not read, then linked into place: a reader never sees half a
    # file, and a pack that appeared meanwhile under the same name is not overwritten.
    part = directory / f".{pack_id}.{secrets.token_hex(4)}.part"
    try:
        with open(part, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(part, target)
    except FileExistsError:
        raise UploadError(f"A pack with the id {pack_id} already exists.") from None
    except OSError as exc:
        raise UploadError(f"Cannot write to {directory}: {exc.strerror}.") from None
    finally:
        part.unlink(missing_ok=True)
    return pack_id, data
