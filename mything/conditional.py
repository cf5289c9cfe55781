"""Conditional requests on versioned resources: ETags, ``If-None-Match``, ``If-Match``.

A versioned resource (a note, today) answers with an ``id`` and a
``version`` that is 1 when it is created and grows by one with every
change. Its ETag is made from the two (:func:`etag`), so it changes with
every change and only then (RFC 9110, section 13)::

    GET   /orgs/acme/notes/7                       200  ETag: "7-3"
    GET   /orgs/acme/notes/7   If-None-Match: "7-3"  304  (your copy is current)
    PATCH /orgs/acme/notes/7   If-Match: "7-3"       200  ETag: "7-4"
    PATCH /orgs/acme/notes/7   If-Match: "7-3"       412  precondition_failed

The last line is the point: two people who read version 3 cannot both
write over it. The service checks the version in the same statement that
writes (``UPDATE ... WHERE id = :id AND version = :expected``), so there is
no moment between the check and the write in which another write can slip.

Views opt in with two decorators: :func:`conditional_read` on a ``GET`` of
the resource, :func:`conditional_write` on a ``PATCH`` or ``DELETE``. Both leave
a note on the view for the OpenAPI document. Headers that are not valid
lists of entity tags are a 400 (``invalid_precondition``), not a guess.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import request

from .endpoints import endpoint_of
from .errors import InvalidPrecondition, PreconditionFailed
from .results import ApiResult

F = TypeVar("F", bound=Callable[..., Any])

#: Longer condition headers are refused: a client holds one or two tags.
MAX_HEADER_LENGTH = 1024

# RFC 9110: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, and a header is "*"
# or a comma-separated list of them. WSGI hands over header bytes as Latin-1,
# so obs-text (0x80-0xFF) arrives as those characters.
_ENTITY_TAG = r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"'
_LIST = re.compile(rf"(?:{_ENTITY_TAG})(?:[ \t]*,[ \t]*(?:{_ENTITY_TAG}))*")
_ONE_TAG = re.compile(_ENTITY_TAG)

#: The values :func:`parse_condition` accepts, in visible ASCII, as the
#: OpenAPI document states them (so that generated clients send only these).
HEADER_PATTERN = r'^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$'

# The opaque part of mything's own tags: "<resource id>-<version>".
_OUR_TAG = re.compile(r"([1-9][0-9]{0,18})-([1-9][0-9]{0,18})")


def etag(resource_id: int, version: int) -> str:
    """Return the strong ETag of a resource at a version: ``"<id>-<version>"``."""
    return f'"{resource_id}-{version}"'


def etag_of(resource: Mapping[str, Any]) -> str:
    """Return the ETag of a resource as the API shows it (``id`` and ``version``)."""
    return etag(resource["id"], resource["version"])


@dataclass(frozen=True)
class Condition:
    """A parsed ``If-Match`` or ``If-None-Match``: ``*``, or entity tags.

    ``tags`` holds ``(weak, opaque)`` pairs: ``W/"x"`` is ``(True, "x")``.
    """

    any: bool = False
    tags: tuple[tuple[bool, str], ...] = ()

    def matches_strongly(self, etag: str) -> bool:
        """Return whether ``etag`` is listed, by strong comparison (``If-Match``).

        A weak tag never matches, even one with the same opaque part.
        """
        return self.any or (False, _opaque(etag)) in self.tags

    def matches_weakly(self, etag: str) -> bool:
        """Return whether ``etag`` is listed, ignoring ``W/`` (``If-None-Match``)."""
        opaque = _opaque(etag)
        return self.any or any(tag == opaque for _, tag in self.tags)


@dataclass(frozen=True)
class Precondition:
    """What a write may overwrite: any existing version, or one of ``versions``."""

    versions: frozenset[int] = frozenset()
    any: bool = False

    @classmethod
    def from_condition(cls, condition: Condition, *, resource_id: int) -> Precondition:
        """Return the versions of resource ``resource_id`` that ``condition`` matches.

        Tags that are weak, or name another resource, match no version.
        """
        versions = set()
        for weak, opaque in condition.tags:
            match = _OUR_TAG.fullmatch(opaque)
            if not weak and match and int(match[1]) == resource_id:
                versions.add(int(match[2]))
        return cls(frozenset(versions), condition.any)

    def allows(self, version: int) -> bool:
        """Return whether the resource at ``version`` may be written."""
        return self.any or version in self.versions


def parse_condition(value: str, *, header: str) -> Condition:
    """Parse the value of ``header``; raise a 400 if it is not ``*`` or ETags."""
    text = value.strip(" \t")
    if text == "*":
        return Condition(any=True)
    if len(text) > MAX_HEADER_LENGTH or not _LIST.fullmatch(text):
        raise InvalidPrecondition(
            f'{header} must be "*" or a comma-separated list of entity tags '
            f'in double quotes, such as "7-3", at most {MAX_HEADER_LENGTH} '
            "characters long."
        )
    return Condition(
        tags=tuple((bool(weak), opaque) for weak, opaque in _ONE_TAG.findall(text))
    )


def read_condition(header: str) -> Condition | None:
    """Return the parsed ``header`` of the current request, or ``None``."""
    # Read from the environ, where the server put it: request.headers would
    # first build a view of every header for the one.
    key = "HTTP_" + header.upper().replace("-", "_")
    value = request.environ.get(key)
    return None if value is None else parse_condition(value, header=header)


def _opaque(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def conditional_read(view: F) -> F:
    """Answer a view's resource with its ETag, and honour the conditional headers.

    ``If-Match`` that does not match is a 412; ``If-None-Match`` that matches
    is a 304 with no body, which saves a client that has the current
    version from downloading it again.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ApiResult:
        if_match = read_condition("If-Match")
        if_none_match = read_condition("If-None-Match")
        result: ApiResult = view(*args, **kwargs)
        tag = etag_of(result.value)
        # RFC 9110 section 13.2.2: If-Match first, then If-None-Match.
        if if_match is not None and not if_match.matches_strongly(tag):
            raise PreconditionFailed()
        if if_none_match is not None and if_none_match.matches_weakly(tag):
            return ApiResult(None, 304, headers={"ETag": tag})
        result.headers["ETag"] = tag
        return result

    endpoint_of(wrapper).preconditions = "read"
    return wrapper  # type: ignore[return-value]


def conditional_write(id_argument: str) -> Callable[[F], F]:
    """Pass a write view the ``If-Match`` of the request as ``if_match``.

    ``id_argument`` names the view's argument that holds the resource's id
    (``"note_id"``). ``if_match`` is a :class:`Precondition`, or ``None``
    without the header; the operation checks it against the resource as it
    writes. ``If-None-Match`` is refused: on a write it would mean "only if
    the resource has changed", which is never what a client that sends it
    means to ask.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> ApiResult:
            if "HTTP_IF_NONE_MATCH" in request.environ:
                raise InvalidPrecondition(
                    "If-None-Match is for GET; send If-Match with the ETag you "
                    "read to change or delete a resource."
                )
            condition = read_condition("If-Match")
            if_match = (
                None
                if condition is None
                else Precondition.from_condition(
                    condition, resource_id=kwargs[id_argument]
                )
            )
            result: ApiResult = view(*args, if_match=if_match, **kwargs)
            if result.value is not None:
                result.headers["ETag"] = etag_of(result.value)
            return result

        endpoint_of(wrapper).preconditions = "write"
        return wrapper  # type: ignore[return-value]

    return decorator
