"""Passwords are kept only as Argon2id hashes (argon2-cffi's PasswordHasher, its recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Checked against when the user does not exist, so an unknown name costs as long as a wrong password.
_DECOY = _HASHER.hash("novalog-decoy-password")


def hash_password(password: str) -> str:
    """The Argon2id hash (salted, PHC string format) to record instead of the password."""
    if not password:
        raise ValueError("a password must not be empty")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash; None (no such user) never matches, after the same work."""
    try:
        return _HASHER.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
