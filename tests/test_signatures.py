"""Standard Webhooks signatures, checked with and against the reference library."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks

from mything import WebhookVerificationError, verify_webhook
from mything.signatures import new_secret, signature_headers


def test_a_new_secret_is_whsec_and_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != new_secret()


def test_mything_s_signatures_verify_with_standardwebhooks():
    secret = new_secret()
    body = b'{"type":"note.created","data":{"title":"caf\xc3\xa9"}}'
    headers = signature_headers([secret], "msg_1", body, timestamp=int(time.time()))
    theirs = standardwebhooks.Webhook(secret)
    assert theirs.verify(body, headers) == verify_webhook(secret, headers, body)


def test_signatures_of_standardwebhooks_verify_with_mything():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = b'{"type":"note.created"}'
    signature = standardwebhooks.Webhook(secret).sign(
        "msg_1", datetime.now(UTC), body.decode()
    )
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(time.time())),
        "Webhook-Signature": f"v1,bm90IHRoaXM= {signature}",
    }
    assert verify_webhook(secret, headers, body) == {"type": "note.created"}


@pytest.mark.parametrize(
    "spoil",
    [
        lambda headers, body: (headers, body + b" "),
        lambda headers, body: ({**headers, "webhook-timestamp": "1"}, body),
        lambda headers, body: ({**headers, "webhook-id": "other"}, body),
        lambda headers, body: (
            {k: v for k, v in headers.items() if k != "webhook-signature"},
            body,
        ),
        lambda headers, body: ({**headers, "webhook-timestamp": "soon"}, body),
    ],
)
def test_a_spoiled_webhook_does_not_verify(spoil):
    secret = new_secret()
    body = b'{"a":1}'
    headers = signature_headers([secret], "msg", body, timestamp=int(time.time()))
    assert verify_webhook(secret, headers, body) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, *spoil(headers, body))
    with pytest.raises(WebhookVerificationError):
        verify_webhook(new_secret(), headers, body)
