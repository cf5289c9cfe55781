"""Request ids: one per request, echoed from the client when it sent a sane one.

The id is kept in the WSGI environ, so a host application that mounts mything
can read it too (``environ["mything.request_id"]``), and it appears in every
response (``X-Request-ID``), every error body and every log line about the
request.
"""

from __future__ import annotations

import random
import re
from typing import Any

ENVIRON_KEY = "mything.request_id"

# A proxy's or client's id is reused only when it cannot smuggle anything
# into a header or a log line: short, and made of URL-safe characters.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")


def request_id(environ: dict[str, Any]) -> str:
    """Return the id of the request of ``environ``, choosing it on first use."""
    chosen: str | None = environ.get(ENVIRON_KEY)
    if chosen is None:
        sent = environ.get("HTTP_X_REQUEST_ID", "")
        if _SANE_REQUEST_ID.match(sent):
            chosen = sent
        else:
            # PERF: benchmarks/findings.md#request-id-bits.
            # 128 random bits, like a UUID4 without the system call: an id
            # must be unique, not secret. (random reseeds in forked workers.)
            chosen = f"{random.getrandbits(128):032x}"
        environ[ENVIRON_KEY] = chosen
    return chosen
