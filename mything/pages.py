"""Following a listing to its end, for the Python API and the client alike.

A listing answers one page at a time, ``{"items": [...], "next_cursor": ...}``,
and the caller asks again with ``cursor=`` until ``next_cursor`` is ``None``.
:func:`every_item` is that loop, once, so that every ``iter_...`` method of
:class:`~mything.thing.UserApi` and :class:`~mything.client.Client` is one
line::

    def iter_notes(self, slug, *, tag=None):
        return every_item(self.notes, slug, tag=tag)

Pages are fetched lazily: breaking out of the loop stops the requests. The
keyset cursors (see :mod:`mything.pagination`) make following them visit
every item that existed when the first page was read exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def every_item(
    list_page: Callable[..., dict[str, Any]], /, *args: Any, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Yield each item of ``list_page(*args, **kwargs)``, page after page."""
    cursor = None
    while True:
        page = list_page(*args, cursor=cursor, **kwargs)
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return
