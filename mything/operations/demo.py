"""``/add``: the demo operation, which needs no database and no caller."""

from __future__ import annotations


def add_numbers(a: int, b: int) -> dict[str, int]:
    """Add two integers: the demo operation of ``/add``."""
    return {"sum": a + b}
