"""User accounts: e-mail, role and a password kept only as a hash."""


from werkzeug.security import check_password_hash, generate_password_hash

from .clock import now_iso

ROLES = ("submitter", "reviewer", "admin")
MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user record could not be written as asked."""

    status = 400


def _public(row):
    return {k: v for k, v in row.items() if k != "password_hash"}


def create_user(db, email, password, role, name=""):
    """Create a user and return it without its password hash.

    :raises UserError: on a bad e-mail, role or short password, or an e-mail already taken.
    """
    email = (email or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address.")
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if get_user_by_email(db, email):
        raise UserError(f"A user with the e-mail {email} already exists.")
    record = {
        "email": email,
        "name": name or email.split("@")[0],
        "role": role,
        "password_hash": generate_password_hash(password),
        "active": 1,
        "created_at": now_iso(),
    }
    table = db["users"]
    table.insert(record)
    return _public(table.get(table.last_pk))


def get_user(db, user_id):
    """The user with this id, or None."""
    rows = list(db["users"].rows_where("id = ?", [user_id]))
    return _public(rows[0]) if rows else None


def get_user_by_email(db, email):
    """The user with this e-mail (case-insensitive), or None."""
    rows = list(db["users"].rows_where("email = ?", [(email or "").strip().lower()]))
    return _public(rows[0]) if rows else None


def authenticate(db, email, password):
    """The active user whose e-mail and password match, or None."""
    rows = list(db["users"].rows_where("email = ? and active = 1", [(email or "").strip().lower()]))
    if rows and check_password_hash(rows[0]["password_hash"], password or ""):
        return _public(rows[0])
    return None


def set_password(db, email, password):
    """Replace a user's password.

    :raises UserError: when the user does not exist or the password is too short.
    """
    user = get_user_by_email(db, email)
    if user is None:
        raise UserError(f"No user with the e-mail {email}.")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    db["users"].update(user["id"], {"password_hash": generate_password_hash(password)})


def count_users(db):
    """How many users exist."""
    return db["users"].count
