"""``flask tokens`` (API tokens) and ``flask webhooks`` (the delivery outbox)."""

import click
from flask import current_app
from flask.cli import AppGroup

from storage import get_db, migrate
from storage import webhooks as outbox
from storage.tokens import SCOPES, TokenError, create_token, list_tokens, revoke_token

from .delivery import deliver_due

tokens_cli = AppGroup("tokens", help="Manage API tokens for the ticketing API.")
webhooks_cli = AppGroup("webhooks", help="Inspect and send webhook deliveries.")


@tokens_cli.command("create")
@click.option("--name", required=True, help="Who uses the token, e.g. jira-prod.")
@click.option("--scopes", required=True, help=f"Comma-separated, from: {','.join(SCOPES)}.")
@click.option("--own-cases", is_flag=True, help="Limit the token to the cases it creates (reads, comments, webhooks).")
def create_command(name, scopes, own_cases):
    """Create a token and print it once; only its hash is stored."""
    db = get_db()
    migrate(db)
    try:
        token, record = create_token(db, name, scopes, own_cases=own_cases)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    limit = ", limited to its own cases" if record["own_cases"] else ""
    click.echo(f"Created token {record['id']} ({record['name']}) with scopes {','.join(record['scopes'])}{limit}.")
    click.echo("Copy it now; it is not shown again:")
    click.echo(token)


@tokens_cli.command("revoke")
@click.argument("id_or_name")
def revoke_command(id_or_name):
    """Revoke the token with this id, or every active token with this name."""
    try:
        count = revoke_token(get_db(), id_or_name)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Revoked {count} token{'s' if count != 1 else ''}.")


@tokens_cli.command("list")
def list_command():
    """List tokens: id, name, prefix, scopes, requests counted, and whether revoked."""
    rows = list_tokens(get_db())
    if not rows:
        click.echo("No API tokens.")
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        scopes = ",".join(row["scopes"]) + (" (own cases)" if row["own_cases"] else "")
        click.echo(f"{row['id']:>4}  {row['name']:20}  {row['prefix']}…  {scopes:40}  "
                   f"{row['requests']:>7} requests  {state}")


@webhooks_cli.command("deliver")
def deliver_command():
    """Send every webhook delivery that is due now, once, and report what happened."""
    db = get_db()
    stats = deliver_due(db, current_app.config)
    click.echo(f"Delivered {stats['delivered']}; {stats['failed_attempts']} failed attempts "
               f"({stats['given_up']} given up); {outbox.count_pending(db)} still pending.")


@webhooks_cli.command("list")
def list_webhooks_command():
    """List registered webhooks with their pending deliveries."""
    db = get_db()
    hooks = outbox.list_webhooks(db)
    if not hooks:
        click.echo("No webhooks.")
    for hook in hooks:
        pending = db.execute("select count(*) from webhook_deliveries where webhook_id = ? and status = 'pending'",
                             [hook["id"]]).fetchone()[0]
        click.echo(f"{hook['id']:>4}  {'active' if hook['active'] else 'stopped':8}  {hook['url']}  "
                   f"{pending} pending")
