"""Schema history of the intake database: add a migration, never edit an applied one."""

from sqlite_utils import Migrations

migrations = Migrations("intake")


@migrations()
def m001_users(db):
    db["users"].create(
        {
            "id": int,
            "email": str,
            "name": str,
            "role": str,
            "password_hash": str,
            "active": int,
            "created_at": str,
        },
        pk="id",
        not_null={"email", "role", "password_hash"},
        defaults={"active": 1},
    )
    db["users"].create_index(["email"], unique=True)


@migrations()
def m002_cases(db):
    # The case record other parts of the service grow from: facts and the last assessment as JSON.
    db["cases"].create(
        {
            "id": int,
            "title": str,
            "description": str,
            "state": str,
            "submitter_id": int,
            "facts": str,
            "assessment": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"title", "state"},
        defaults={"state": "draft"},
        foreign_keys=[("submitter_id", "users", "id")],
    )
    db["cases"].create_index(["state"])
