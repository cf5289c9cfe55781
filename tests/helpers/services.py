"""What a test does when an outside service it needs is missing.

A test that needs PostgreSQL, MySQL, Redis, a PostgreSQL installation or a
browser calls :func:`unavailable` when it finds none: the test is skipped with
the reason shown, unless ``TEST_MYTHING_REQUIRE_SERVICES=1`` (as in CI, where
every service is there), which turns the skip into a failure.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("TEST_MYTHING_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip the test because a service is missing, or fail if services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (TEST_MYTHING_REQUIRE_SERVICES=1)")
    pytest.skip(reason)
