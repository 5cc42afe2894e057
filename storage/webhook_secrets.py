"""Webhook secrets and the Standard Webhooks signing key each one stands for.

Standard Webhooks (https://www.standardwebhooks.com) signs with raw key bytes, written ``whsec_`` + base64.
Secrets generated here are in that form. A secret in any other form (every secret registered before, and one
a client still chooses freely) keeps signing as before: its key is the secret's UTF-8 bytes, so its
``whsec_`` form is ``"whsec_" + base64(secret)``. A secret given as ``whsec_...`` must decode to 24-64 bytes,
the spec's range, so the rule below never guesses.

At rest the secrets are sealed with Fernet (AES-128-CBC and HMAC-SHA256) under a key kept outside the
database, in ``instance/webhook_key`` unless ``WEBHOOK_SECRETS_KEY`` gives one: a copy of the database file
alone no longer signs deliveries. Secrets stored in plaintext by an earlier release are sealed by
:func:`seal_stored`, which every delivery pass runs first.
"""

import base64
import binascii
import secrets

from cryptography.fernet import Fernet, InvalidToken

from config import instance_secret

from . import write_transaction

PREFIX = "whsec_"
# Marks a sealed value; a stored secret without it is plaintext from before sealing.
SEALED = "fernet:"
KEY_FILE = "webhook_key"
KEY_BYTES = 32
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64


class SecretFormatError(ValueError):
    """A secret that starts with ``whsec_`` but is not base64 of 24 to 64 bytes."""


def _decode(secret):
    """The key bytes of a ``whsec_`` secret, or None when it is not one."""
    if not secret.startswith(PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES else None


def new_secret():
    """A fresh secret: ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def check_secret(secret):
    """Refuse a secret that claims the ``whsec_`` form without being in it.

    :raises SecretFormatError: it starts with ``whsec_`` but is not base64 of 24 to 64 bytes.
    """
    if secret.startswith(PREFIX) and _decode(secret) is None:
        raise SecretFormatError(f"A secret starting with {PREFIX} must be base64 of {MIN_KEY_BYTES} to "
                                f"{MAX_KEY_BYTES} bytes (or choose a secret without that prefix).")


def signing_key(secret):
    """The HMAC key bytes ``secret`` stands for: decoded when in ``whsec_`` form, else its UTF-8 bytes."""
    key = _decode(secret)
    return key if key is not None else secret.encode()


def whsec(secret):
    """``secret`` in the ``whsec_`` form a Standard Webhooks library takes, for the same key."""
    return PREFIX + base64.b64encode(signing_key(secret)).decode()


class SecretUnreadable(ValueError):
    """A sealed secret that this key cannot open (the key changed or was lost)."""


def seal(key, secret):
    """``secret`` encrypted under the Fernet ``key``, as stored."""
    return SEALED + Fernet(key).encrypt(secret.encode()).decode()


def unseal(key, stored):
    """The secret a stored value holds (plaintext from before sealing is returned as it is).

    :raises SecretUnreadable: it was sealed under another key.
    """
    if not stored.startswith(SEALED):
        return stored
    try:
        return Fernet(key).decrypt(stored[len(SEALED):].encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("The webhook's secret cannot be decrypted with this instance's key "
                               f"(INTAKE_WEBHOOK_SECRETS_KEY or instance/{KEY_FILE}).") from None


def seal_stored(db, key):
    """Seal every webhook secret still stored in plaintext; returns how many were sealed.

    ``secure_delete`` makes SQLite overwrite the plaintext it frees instead of leaving it in the file.
    """
    # Read first: the delivery worker calls this every pass, and the write lock is taken only when needed.
    if not db.execute("select 1 from webhooks where secret not like ? limit 1", [SEALED + "%"]).fetchall():
        return 0
    db.execute("PRAGMA secure_delete = ON")
    with write_transaction(db):
        rows = list(db.query("select id, secret from webhooks where secret not like ?", [SEALED + "%"]))
        for row in rows:
            db.execute("update webhooks set secret = ? where id = ?", [seal(key, row["secret"]), row["id"]])
    return len(rows)


def instance_key(instance_path):
    """The Fernet key in ``<instance>/webhook_key``, created (mode 600) on first use."""
    return instance_secret(instance_path, KEY_FILE, lambda: Fernet.generate_key().decode())
