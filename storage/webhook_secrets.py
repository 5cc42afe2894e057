"""Webhook secrets and the Standard Webhooks signing key each one stands for.

Standard Webhooks (https://www.standardwebhooks.com) signs with raw key bytes, written ``whsec_`` + base64.
Secrets generated here are in that form. A secret in any other form (every secret registered before, and one
a client still chooses freely) keeps signing as before: its key is the secret's UTF-8 bytes, so its
``whsec_`` form is ``"whsec_" + base64(secret)``. A secret given as ``whsec_...`` must decode to 24-64 bytes,
the spec's range, so the rule below never guesses.
"""

import base64
import binascii
import secrets

PREFIX = "whsec_"
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
