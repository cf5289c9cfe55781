"""A headless Chromium for the tests that need a real browser.

It is Debian's ``chromium`` package (``/usr/bin/chromium``, or the path in
``TEST_MYTHING_CHROMIUM``), driven by the ``playwright`` Python package, never
a downloaded browser. Without either, the test is skipped through
:func:`helpers.services.unavailable`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.services import unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = os.environ.get("TEST_MYTHING_CHROMIUM", "/usr/bin/chromium")
# Without these, a Chromium on a machine with no internet access waits for
# its own background services (updates, sync, QUIC probes) to time out.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Launch Chromium; close it when the block ends."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    if not Path(CHROMIUM).is_file():
        unavailable(f"Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
