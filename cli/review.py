"""``flask review``: reviewer data for other tools."""

import json

import click
from flask.cli import AppGroup

from storage import get_db
from storage.reviews import labelled_examples

review_cli = AppGroup("review", help="Reviewer data: corrections as labelled examples.")


@review_cli.command("export-overrides")
@click.option("--output", type=click.File("w"), default="-", help="JSON-lines file to write (default: stdout).")
def export_overrides(output):
    """Write every case a reviewer corrected as a labelled training example, one JSON line each."""
    examples = labelled_examples(get_db())
    for example in examples:
        output.write(json.dumps(example, ensure_ascii=False) + "\n")
    click.echo(f"{len(examples)} labelled examples from reviewer overrides.", err=True)
