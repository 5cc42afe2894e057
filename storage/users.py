"""User accounts: e-mail, role and a password kept only as a hash."""

import functools
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, write_transaction
from .clock import now_iso

ROLES = ("submitter", "reviewer", "admin")
MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user record could not be written as asked; ``field`` names the input at fault, if one is."""

    status = 400

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class UserConflict(UserError):
    """The change would lock the service out: an admin demoting or deactivating themselves, or the last admin."""

    status = 409


def _public(row):
    return {k: v for k, v in row.items() if k != "password_hash"}


def create_user(db, email, password, role, name=""):
    """Create a user and return it without its password hash.

    :raises UserError: on a bad e-mail, role or short password, or an e-mail already taken.
    """
    email = (email or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address.", "email")
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.", "role")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", "password")
    if get_user_by_email(db, email):
        raise UserError(f"A user with the e-mail {email} already exists.", "email")
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
    # An unknown or inactive e-mail is checked against a stand-in hash, so it takes as long as a wrong password.
    stored = rows[0]["password_hash"] if rows else _stand_in_hash()
    if check_password_hash(stored, password or "") and rows:
        return _public(rows[0])
    return None


@functools.cache
def _stand_in_hash():
    return generate_password_hash(secrets.token_hex(16))


def set_password(db, email, password):
    """Replace a user's password.

    :raises UserError: when the user does not exist or the password is too short.
    """
    user = get_user_by_email(db, email)
    if user is None:
        raise UserError(f"No user with the e-mail {email}.", "email")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", "password")
    db["users"].update(user["id"], {"password_hash": generate_password_hash(password)})
    end_sessions(db, user["id"])


def end_sessions(db, user_id):
    """End every session of the user: a cookie signed before now no longer signs anyone in."""
    db.execute("update users set session_epoch = coalesce(session_epoch, 0) + 1 where id = ?", [user_id])


def count_users(db):
    """How many users exist."""
    return db["users"].count


def list_users(db):
    """Every user without password hashes, by e-mail."""
    return [_public(row) for row in db["users"].rows_where(order_by="email")]


def _summary(user):
    """What an audit row keeps of a user: never the password hash."""
    return {"id": user["id"], "email": user["email"], "name": user["name"], "role": user["role"],
            "active": bool(user["active"])}


def _target(db, user_id):
    user = get_user(db, user_id)
    if user is None:
        raise UserError(f"No user with the id {user_id}.")
    return user


def _check_admins_remain(db, user, actor, role, active):
    """Refuse a change that leaves ``actor`` or the service without an active admin."""
    if user["role"] != "admin" or not user["active"] or (role == "admin" and active):
        return
    if user["id"] == actor["id"]:
        verb = "deactivate" if not active else "demote"
        raise UserConflict(f"You cannot {verb} yourself; ask another admin.")
    others = db.execute("select count(*) from users where role = 'admin' and active = 1 and id != ?",
                        [user["id"]]).fetchone()[0]
    if not others:
        raise UserConflict(f"{user['email']} is the last active admin; make someone else an admin first.")


def add_user(db, actor, email, password, role, name=""):
    """Create a user as :func:`create_user` does and record who did it in the audit trail.

    :param actor: the acting user (a dict with ``email``).
    :raises UserError: as :func:`create_user`.
    """
    with write_transaction(db):
        user = create_user(db, email, password, role, name)
        audit.record(db, actor["email"], "create_user", before=None, after=_summary(user))
    return user


def change_role(db, actor, user_id, role):
    """Give a user another role; refused for the actor's own admin role and for the last active admin.

    :raises UserError: no such user or an unknown role.
    :raises UserConflict: the change would leave no active admin, or the actor is demoting themselves.
    """
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.", "role")
    # The write lock is taken before the admin count is read, so two admins demoting each other at
    # once cannot both succeed.
    with write_transaction(db):
        user = _target(db, user_id)
        if user["role"] == role:
            return user
        _check_admins_remain(db, user, actor, role, bool(user["active"]))
        db["users"].update(user_id, {"role": role})
        # A session keeps no role of its own, but one signed in under the old role should not outlive it.
        end_sessions(db, user_id)
        changed = get_user(db, user_id)
        audit.record(db, actor["email"], "change_role", before=_summary(user), after=_summary(changed))
    return changed


def set_active(db, actor, user_id, active):
    """Deactivate (``active=False``) or reactivate a user; an inactive user can no longer sign in.

    :raises UserError: no such user.
    :raises UserConflict: deactivating oneself or the last active admin.
    """
    with write_transaction(db):
        user = _target(db, user_id)
        if bool(user["active"]) == bool(active):
            return user
        _check_admins_remain(db, user, actor, user["role"], bool(active))
        db["users"].update(user_id, {"active": int(bool(active))})
        # Reactivating must not bring back the sessions the deactivation ended.
        end_sessions(db, user_id)
        changed = get_user(db, user_id)
        action = "reactivate_user" if active else "deactivate_user"
        audit.record(db, actor["email"], action, before=_summary(user), after=_summary(changed))
    return changed


def reset_password(db, actor, user_id, password):
    """Set a new password for a user; the audit row says who did it, never the password or its hash.

    :raises UserError: no such user or a password that is too short.
    """
    with write_transaction(db):
        user = _target(db, user_id)
        set_password(db, user["email"], password)
        audit.record(db, actor["email"], "set_password", before=None, after={"id": user["id"], "email": user["email"]})
    return user
