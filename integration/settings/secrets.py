"""Start-up checks of the production secrets: refuse weak ones before anything runs.

``SECRET_KEY`` follows Django's own deployment rule (``security.W009``): at least 50
characters and at least 5 distinct ones, and not a ``django-insecure-`` key. Every
``FERNET_KEYS`` entry must be a key as ``Fernet.generate_key()`` prints it (32 random bytes in
URL-safe base64, 44 characters): the library would accept any string and stretch it with
HKDF, so a typo or a placeholder such as ``x`` would silently become the encryption key.
"""

from __future__ import annotations

import base64
import binascii

SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
FERNET_KEY_BYTES = 32

SECRET_KEY_WEAK = (
    "SECRET_KEY must be at least 50 characters with at least 5 different ones (Django's rule); "  # noqa: S105
    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
)
FERNET_KEY_INVALID = (
    "FERNET_KEYS entry {position} is not a Fernet key; generate one with: "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def secret_key_problem(value: str) -> str | None:
    """Why ``value`` is not a production ``SECRET_KEY``, or ``None``."""
    if (
        len(value) < SECRET_KEY_MIN_LENGTH
        or len(set(value)) < SECRET_KEY_MIN_UNIQUE
        or value.startswith("django-insecure-")
    ):
        return SECRET_KEY_WEAK
    return None


def is_fernet_key(value: str) -> bool:
    """True for 32 bytes in URL-safe base64 with padding, exactly as Fernet prints a key."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return len(raw) == FERNET_KEY_BYTES and base64.urlsafe_b64encode(raw).decode() == value


def fernet_keys_problem(keys: list[str]) -> str | None:
    """Why ``keys`` are not production ``FERNET_KEYS`` (the first bad entry), or ``None``."""
    for position, key in enumerate(keys, start=1):
        if not is_fernet_key(key):
            return FERNET_KEY_INVALID.format(position=position)
    return None
