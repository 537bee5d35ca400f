"""People's passwords: hashed with Argon2id (argon2-cffi, the OWASP-recommended choice), never stored.

`verify` answers only True or False: a wrong password and a stored value that is not an Argon2
hash are both a failed sign-in. `needs_rehash` tells when the library's parameters have grown
since the hash was made, so a sign-in stores a stronger one.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
