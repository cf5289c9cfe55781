"""API tokens: made from 32 random bytes, shown once, stored only as a hash.

A token looks like ``mt_`` followed by 43 URL-safe characters. The prefix
lets secret scanners and people recognise one; the rest is 256 bits from
:mod:`secrets`. The database keeps the SHA-256 of the token: a fast hash is
right here because the token is random, not a password someone chose, so
there is nothing to guess from the hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "mt_"

# Bearer values longer than this are refused before any hashing.
MAX_TOKEN_LENGTH = 256


def new_token() -> str:
    """Return a new random token."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of ``token``, the only form mything stores."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hashes_match(stored: str, presented: str) -> bool:
    """Compare two token hashes in time that does not depend on where they differ."""
    return hmac.compare_digest(stored.encode(), presented.encode())
