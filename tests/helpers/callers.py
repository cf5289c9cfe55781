"""Users with tokens, to make authenticated requests as.

The plugin's ``mything_user`` fixture gives one such user, named ``tester``;
tests about who may see what need several, with names of their own.
"""

from __future__ import annotations

from mything import MyThing
from mything.testing import TestUser


def make_caller(thing: MyThing, name: str) -> TestUser:
    """Create the user ``name`` in ``thing`` with a fresh token."""
    thing.create_user(name)
    return TestUser(name, thing.create_token(name))
