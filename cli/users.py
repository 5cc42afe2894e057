"""``flask users``: create users, reset passwords, seed demo accounts."""

import secrets

import click
from flask.cli import AppGroup

from storage import audit, get_db, migrate
from storage.users import ROLES, UserError, count_users, create_user, set_password

DEMO_USERS = (
    ("submitter@example.com", "submitter", "Demo Submitter"),
    ("reviewer@example.com", "reviewer", "Demo Reviewer"),
    ("admin@example.com", "admin", "Demo Admin"),
)


users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True, help="Sign-in e-mail address.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--name", default="", help="Display name.")
@click.password_option(help="Password (at least 10 characters); asked for when not given.")
def create_command(email, role, name, password):
    """Create a user with a hashed password."""
    db = get_db()
    migrate(db)
    try:
        user = create_user(db, email, password, role, name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record_now(db, "cli", "create_user", after={k: user[k] for k in ("id", "email", "name", "role")})
    click.echo(f"Created {user['role']} {user['email']} (id {user['id']}).")


@users_cli.command("set-password")
@click.option("--email", required=True, help="The user's e-mail address.")
@click.password_option(help="The new password.")
def set_password_command(email, password):
    """Replace a user's password."""
    db = get_db()
    try:
        set_password(db, email, password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record_now(db, "cli", "set_password", after={"email": email})
    click.echo(f"Password changed for {email}.")


@users_cli.command("seed-demo")
def seed_demo_command():
    """Create one demo user per role when the database has no users, and print their logins."""
    db = get_db()
    migrate(db)
    if count_users(db):
        click.echo("Users already exist; no demo users created.")
        return
    click.echo("Demo logins (shown once; change with `flask users set-password`):")
    for email, role, name in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        user = create_user(db, email, password, role, name)
        audit.record_now(db, "cli", "create_user", after={k: user[k] for k in ("id", "email", "name", "role")})
        click.echo(f"  {role:9}  {email:24}  {password}")
