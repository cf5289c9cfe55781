"""The token format: 32 random bytes, a prefix, a checksum, and a stored hash.

A token looks like this (54 characters)::

    mt_l7cW8Xu6X15kLFcf3GTATtqG7K9-RHk5vUjQPCLO_0k8030bee3
    ^^^-------------------------------------------^^^^^^^^
    the prefix, then 32 random bytes from          CRC32 of everything
    :mod:`secrets` as 43 URL-safe characters       before it, 8 hex digits

The prefix lets people and secret scanners recognise a mything token, and the
checksum lets them, and mything, tell a real token from a typo or a random
string *offline*: :func:`is_well_formed` refuses a value with a wrong
checksum before any database query (GitHub's tokens work the same way).

Tokens issued before the checksum existed are ``mt_`` and the 43 random
characters alone; they stay valid, and have no checksum to verify.

The database keeps only the SHA-256 of a token. A fast hash is right here
because a token is random, not a password someone chose: there is nothing to
guess from its hash. Hashes are compared with :func:`hashes_match`, in time
that does not depend on where they differ.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

PREFIX = "mt_"

#: The random part: 32 bytes as unpadded URL-safe base64.
_RANDOM = r"[A-Za-z0-9_-]{43}"
_TOKEN = re.compile(rf"{PREFIX}{_RANDOM}[0-9a-f]{{8}}")
_LEGACY_TOKEN = re.compile(rf"{PREFIX}{_RANDOM}")

#: The length of a token, and of the part its checksum covers.
TOKEN_LENGTH = 54
_CHECKED_LENGTH = 46


def new_token() -> str:
    """Return a new random token, with its checksum."""
    body = PREFIX + secrets.token_urlsafe(32)
    return body + checksum(body)


def checksum(body: str) -> str:
    """Return the checksum of a token's first 46 characters: CRC32 in 8 hex digits."""
    return f"{zlib.crc32(body.encode('ascii')):08x}"


def is_well_formed(value: str) -> bool:
    """Return whether ``value`` can be a token, without asking the database.

    It must be a token with a correct checksum, or a token issued before
    checksums existed.
    """
    if len(value) == TOKEN_LENGTH and _TOKEN.fullmatch(value):
        body = value[:_CHECKED_LENGTH]
        return hmac.compare_digest(checksum(body), value[_CHECKED_LENGTH:])
    return len(value) == _CHECKED_LENGTH and _LEGACY_TOKEN.fullmatch(value) is not None


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of ``token``, the only form mything stores."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hashes_match(stored: str, presented: str) -> bool:
    """Compare two token hashes in time that does not depend on where they differ."""
    return hmac.compare_digest(stored.encode(), presented.encode())
