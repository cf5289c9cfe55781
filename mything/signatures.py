"""Standard Webhooks signatures: how a receiver knows a webhook came from mything.

Every delivery carries three headers (Standard Webhooks 1.0)::

    webhook-id: 5f0c2b...               the event's id, the same on every retry
    webhook-timestamp: 1767225600       when this attempt was signed (Unix seconds)
    webhook-signature: v1,K5oZfz...=    HMAC-SHA256, base64, of "id.timestamp.body"

The key is the webhook's secret, ``whsec_`` followed by the base64 of 32
random bytes; the HMAC is keyed with those bytes. While a rotated secret is
still valid (24 hours), each delivery is signed with both, and
``webhook-signature`` holds both signatures, separated by a space: a
receiver that knows either one accepts it.

A receiver checks a delivery with :func:`verify_webhook` (exported as
``mything.verify_webhook``), before it trusts a byte of the body::

    event = mything.verify_webhook(secret, request.headers, request.get_data())

Any Standard Webhooks library does the same, and a test holds mything to
the ``standardwebhooks`` package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import WebhookVerificationError

#: What starts every symmetric Standard Webhooks secret.
SECRET_PREFIX = "whsec_"

#: Random bytes in a new secret (the standard asks for 24 to 64).
SECRET_BYTES = 32

#: The version tag of an HMAC-SHA256 signature.
VERSION = "v1"


def new_secret() -> str:
    """Return a new random secret, ``whsec_`` and the base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """Return the HMAC key of ``secret`` (``whsec_...``, or its base64 alone)."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the secret is not whsec_ and base64") from None
    if not key:
        raise WebhookVerificationError("the secret is empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature of a message with ``secret``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def signature_headers(
    signing_secrets: Iterable[str], message_id: str, body: bytes, *, timestamp: int
) -> dict[str, str]:
    """Return the Standard Webhooks headers of ``body``, signed with each secret."""
    signatures = [sign(key, message_id, timestamp, body) for key in signing_secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: float = 300,
) -> Any:
    """Check a webhook mything sent, and return its event (the parsed body).

    ``headers`` are the request's (any mapping whose keys may be in any
    case, like Flask's ``request.headers``) and ``body`` its raw bytes,
    exactly as received: parsing and serialising the JSON again changes the
    bytes, and the signature with them. A timestamp more than ``tolerance``
    seconds from now, either way, is refused: a replayed old delivery fails.
    Raises :class:`~mything.errors.WebhookVerificationError` if anything is
    wrong.
    """
    found = {name.lower(): value for name, value in headers.items()}
    message_id = found.get("webhook-id")
    timestamp = found.get("webhook-timestamp")
    signatures = found.get("webhook-signature")
    if not (message_id and timestamp and signatures):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature"
        )
    if not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not Unix seconds")
    if abs(time.time() - int(timestamp)) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old or too new")
    data = body.encode() if isinstance(body, str) else body
    expected = sign(secret, message_id, int(timestamp), data).encode()
    # Every candidate is compared, in constant time, whatever matched before.
    matched = False
    for candidate in signatures.split():
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise WebhookVerificationError("no signature matches the secret")
    try:
        return json.loads(data)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
