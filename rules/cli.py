"""``flask policies ...``: list, check, explain, diff and reassess policy packs."""

import csv
import datetime
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from . import engine, get_packs
from .diff import REASSESS_COLUMNS, diff_packs, reassess_cases
from .facts import FactError, coerce_facts
from .packs import check_packs, load_packs

__all__ = ["policies"]

policies = AppGroup("policies", help="Policy packs: list, check, explain, diff and reassess.")
DATE = click.DateTime(formats=["%Y-%m-%d"])


def _table(headers, rows):
    """Plain fixed-width columns; good enough for a terminal and for tests to read."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _day(value):
    return value.date() if value else datetime.date.today()


def _pack(ref, packs):
    """A pack by id, or by the path of a pack file (validated with the app's other packs)."""
    if ref in packs:
        return packs, packs[ref]
    path = Path(ref)
    if not path.is_file():
        raise click.BadParameter(f"{ref!r} is neither a loaded pack id nor a pack file")
    with_new = load_packs(packs.directory, extra=[path])
    return with_new, with_new[path.stem]


def _cases_table():
    """The stored cases' table, or None when there is no such table."""
    # Imported here: the rules work without storage, only the commands that read cases need it.
    from storage import get_db

    db = get_db()
    return db["cases"] if "cases" in db.table_names() else None


@policies.command("list")
@click.option("--on", type=DATE, help="Mark the packs in force on this date (default today).")
def list_command(on):
    """List the loaded packs and which are in force.

    Example: flask policies list --on 2025-01-01
    """
    packs, day = get_packs(), _day(on)
    rows = []
    for pack in packs:
        live = pack.id in {p.id for p in packs.in_force(pack.vendor, day, pack.kind)}
        rows.append([pack.id, pack.vendor, pack.kind, pack.effective_from, packs.last_day(pack),
                     len(pack.rules), len(pack.clauses), "yes" if live else "", pack.source])
    click.echo(_table(["pack", "vendor", "kind", "from", "until", "rules", "clauses",
                       f"in force {day}", "source"], rows))


@policies.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def check_command(paths):
    """Validate every pack in POLICIES_DIR, or in the folders and files given.

    Exits 1 with the file and rule at fault. Example: flask policies check new/openai-2024.toml
    """
    folders = [p for p in paths if p.is_dir()] or [Path(current_app.config["POLICIES_DIR"])]
    files = [p for p in paths if p.is_file()]
    for folder in folders:
        click.echo(check_packs(folder, extra=files))


def _read_case(ref):
    if ref.isdigit():
        table = _cases_table()
        rows = table.rows_where("id = ?", [int(ref)]) if table is not None else []
        row = next(iter(rows), None)
        if row is None:
            raise click.ClickException(f"no stored case {ref}")
        text = row.get("facts")
    elif ref == "-":
        text = sys.stdin.read()
    elif Path(ref).is_file():
        text = Path(ref).read_text()
    else:
        text = ref
    try:
        return coerce_facts(json.loads(text or "null"))
    except (ValueError, FactError) as exc:
        raise click.ClickException(f"cannot read facts: {exc}") from None


@policies.command("explain")
@click.argument("case_or_json")
@click.option("--on", type=DATE, help="Assess on this date (default: the case's date, else today).")
@click.option("--all", "show_all", is_flag=True, help="Also show the rules that did not fire.")
@click.option("--json", "as_json", is_flag=True, help="Print the assessment as JSON.")
def explain_command(case_or_json, on, show_all, as_json):
    """Show which rule fired on which fact for a stored case id, a JSON file, '-' or inline JSON.

    The JSON may be facts, {"classification", "answers", "overrides"}, a classifier output or bare
    answers. Example: flask policies explain '{"chatbot": true, "vendors": ["openai"]}'
    """
    facts = _read_case(case_or_json)
    on = on.date() if on else None
    packs = get_packs()
    result = engine.assess(facts, on=on, packs=packs)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    rows = engine.trace(facts, on=on, packs=packs)
    for vendor, answer in result["vendors"].items():
        click.echo(f"{vendor}: {answer['verdict']} (pack {answer['pack']})")
        if answer["needs_review_on"]:
            click.echo(f"  needs review on: {', '.join(answer['needs_review_on'])}")
        for row in rows:
            if row["vendor"] != vendor or not (row["fired"] or show_all or row["unsure"]):
                continue
            state = "fired" if row["fired"] else "not fired"
            unsure = f", unsure: {', '.join(row['unsure'])}" if row["unsure"] else ""
            click.echo(f"  {state}: {row['pack']} {row['rule']} -> {row['verdict']}{unsure}")
            for test in row["tests"]:
                mark = "yes" if test["result"] else "no "
                click.echo(f"      {mark} {test['test']}   [{test['fact']} = "
                           f"{json.dumps(test['value'])}, {test['source']}]")
        for guard in answer["safeguards"]:
            click.echo(f"  safeguard {guard['id']}: {guard['action']}")
    for advisory in result["advisories"]:
        click.echo(f"advisory {advisory['id']} ({advisory['pack']}): {advisory['action']}")
    click.echo(f"tier: {result['tier']}")


@policies.command("diff")
@click.argument("old")
@click.argument("new")
def diff_command(old, new):
    """Rules added, removed and changed between two packs (ids or pack files).

    Example: flask policies diff anthropic-2024-06-06 anthropic-2025-09-15
    """
    packs = get_packs()
    packs, old_pack = _pack(old, packs)
    packs, new_pack = _pack(new, packs)
    changes = diff_packs(old_pack, new_pack)
    click.echo(f"{old_pack.id} -> {new_pack.id}")
    for rid in changes["added"]:
        click.echo(f"+ {rid}: {_emits(new_pack, rid)}")
    for rid in changes["removed"]:
        click.echo(f"- {rid}: {_emits(old_pack, rid)}")
    for change in changes["changed"]:
        click.echo(f"~ {change['id']}: {', '.join(change['fields'])} changed")
        for name, (before, after) in change["fields"].items():
            if name != "clauses":
                click.echo(f"    {name}: {json.dumps(before)} -> {json.dumps(after)}")
    for key, sign in (("safeguards_added", "+"), ("safeguards_removed", "-")):
        for name in changes[key]:
            click.echo(f"{sign} safeguard {name}")
    click.echo(f"{len(changes['added'])} added, {len(changes['removed'])} removed, "
               f"{len(changes['changed'])} changed, {len(changes['unchanged'])} unchanged")


def _emits(pack, rule_id):
    rule = next(r for r in pack.rules if r.id == rule_id)
    return rule.verdict or f"advisory {rule.advisory}"


@policies.command("reassess")
@click.option("--pack", "pack_ref", required=True,
              help="The new pack: a loaded pack id or a pack file to validate with the others.")
@click.option("--on", type=DATE, help="Assess on this date (default: the new pack's start).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the changed cases to this CSV file.")
def reassess_command(pack_ref, on, csv_path):
    """Show which stored cases would get another verdict or other safeguards under a new pack.

    Nothing is written to the database. Example: flask policies reassess --pack new.toml --csv out.csv
    """
    packs, pack = _pack(pack_ref, get_packs())
    day = on.date() if on else pack.effective_from
    table = _cases_table()
    cases = list(table.rows_where(order_by="id")) if table is not None else []
    if not cases:
        click.echo("no stored cases: nothing to reassess")
        return
    rows, skipped = reassess_cases(cases, packs, pack, day, baseline=packs.without(pack.id))
    for case_id in skipped:
        click.echo(f"case {case_id}: facts unreadable, skipped", err=True)
    if rows:
        click.echo(_table(REASSESS_COLUMNS, [[row[c] for c in REASSESS_COLUMNS] for row in rows]))
    click.echo(f"{len(rows)} of {len(cases)} stored cases would change under {pack.id} on {day}")
    if csv_path:
        with open(csv_path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(REASSESS_COLUMNS)
            writer.writerows([[_cell(row[c]) for c in REASSESS_COLUMNS] for row in rows])
        click.echo(f"wrote {csv_path}")
