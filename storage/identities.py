"""Accounts for people signing in through an OpenID Connect provider: matched by verified e-mail, roles from groups.

The provider has already proved who the person is (the ID token was verified before anything here runs); this
module decides which account that is, whether it may sign in, and what role it holds. Each sign-in, and each
account or role it creates or changes, is written to the audit trail in one transaction.
"""

import secrets

from . import audit, write_transaction
from .users import ROLES, create_user, end_sessions, get_user, get_user_by_email

# ROLES runs from least to most trusted: someone in both a reviewers' and an admins' group is an admin.
_RANK = {role: rank for rank, role in enumerate(ROLES)}
MAPPED_ROLES = ("reviewer", "admin")


class SignInRefused(Exception):
    """The provider's answer does not let this person in; ``reason`` is a short code for the audit trail."""

    def __init__(self, reason, message, email=None, status=403, detail=None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.email = email
        self.status = status
        self.detail = detail


def parse_role_map(value):
    """``"group=role,group=role"`` (or a mapping) as a dict of group name to role.

    :raises ValueError: a pair without ``=``, an empty group name, or a role other than reviewer or admin.
    """
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        pairs = []
        for item in str(value or "").split(","):
            if not item.strip():
                continue
            group, sep, role = item.rpartition("=")
            if not sep:
                raise ValueError(f"INTAKE_OIDC_ROLE_MAP: {item.strip()!r} is not group=role.")
            pairs.append((group, role))
    mapping = {}
    for group, role in pairs:
        group, role = str(group).strip(), str(role).strip()
        if not group:
            raise ValueError("INTAKE_OIDC_ROLE_MAP: a group name is empty.")
        if role not in MAPPED_ROLES:
            raise ValueError(f"INTAKE_OIDC_ROLE_MAP: {group!r} maps to {role!r}; a group gives "
                             f"{' or '.join(MAPPED_ROLES)} (everyone else is a submitter).")
        mapping[group] = role
    return mapping


def groups_in(claims, claim):
    """The group names in ``claims[claim]``: a list of strings, or one string; anything else counts as none."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def role_for_groups(groups, role_map):
    """The highest role any of ``groups`` maps to; ``submitter`` when none is mapped."""
    roles = [role_map[group] for group in groups if group in role_map]
    return max(roles, key=_RANK.__getitem__, default="submitter")


def is_true(value):
    """A verified-e-mail claim is true: JSON ``true``, or the string ``"true"`` some providers send."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _summary(user):
    return {"id": user["id"], "email": user["email"], "name": user["name"], "role": user["role"],
            "active": bool(user["active"])}


def sign_in(db, claims, *, issuer, email_verified_claim, auto_create, role_claim, role_map, address=""):
    """The account for verified ID token ``claims``, created or given its role from the groups claim as needed.

    :param role_claim: the claim listing groups; empty leaves the account's role as it is.
    :param role_map: group name to role (see :func:`parse_role_map`).
    :returns: the user row as it is after sign-in.
    :raises SignInRefused: no e-mail, an unverified one, an unknown one with ``auto_create`` off, or a
        deactivated account. Nothing is written then; the caller records the refusal.
    """
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused("no_email", "The provider sent no e-mail address, so no account here can be matched. "
                            "Ask your administrator to release the e-mail claim to this application.")
    email = email.strip().lower()
    if not is_true(claims.get(email_verified_claim)):
        raise SignInRefused("email_unverified",
                            f"The provider has not verified the e-mail address {email}, so it cannot be matched "
                            "to an account here. Verify it with your provider, then sign in again.", email)
    with write_transaction(db):
        user = get_user_by_email(db, email)
        if user is None:
            if not auto_create:
                raise SignInRefused("no_account", f"There is no account for {email} here, and accounts are not "
                                    "created at first sign-in. Ask an admin to add you.", email)
            name = claims.get("name") if isinstance(claims.get("name"), str) else ""
            # Nobody knows this password: the account signs in through the provider (an admin may set one).
            user = create_user(db, email, secrets.token_urlsafe(32), "submitter", name.strip()[:200])
            audit.record(db, email, "sso_create_user", after={**_summary(user), "issuer": issuer})
        if not user["active"]:
            raise SignInRefused("inactive", f"The account {email} is deactivated. Ask an admin to reactivate it.",
                                email)
        if role_claim:
            role = role_for_groups(groups_in(claims, role_claim), role_map)
            if role != user["role"]:
                db["users"].update(user["id"], {"role": role})
                # Sessions signed in under the old role end with it.
                end_sessions(db, user["id"])
                changed = get_user(db, user["id"])
                audit.record(db, email, "sso_change_role", before=_summary(user),
                             after={**_summary(changed), "groups": groups_in(claims, role_claim)})
                user = changed
        audit.record(db, email, "sso_sign_in", after={"user_id": user["id"], "role": user["role"],
                                                      "issuer": issuer, "subject": claims.get("sub"),
                                                      "address": address})
    return user
