"""``/add``: the demo operation, which needs no database and no caller."""

from __future__ import annotations

from ..errors import ValidationError
from ..validators import MAX_SAFE_INTEGER


def add_numbers(a: int, b: int) -> dict[str, int]:
    """Add two integers: the demo operation of ``/add``.

    The sum must be as exact in a JavaScript client as its operands are:
    one outside ±(2**53 - 1) is a 400, not a number the client would round.
    """
    total = a + b
    if not -MAX_SAFE_INTEGER <= total <= MAX_SAFE_INTEGER:
        raise ValidationError(
            errors=[
                {
                    "path": "",
                    "message": f"the sum must be between -{MAX_SAFE_INTEGER} "
                    f"and {MAX_SAFE_INTEGER}",
                }
            ]
        )
    return {"sum": total}
