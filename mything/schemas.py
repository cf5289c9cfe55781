"""The shapes of mything's input, one voluptuous schema per request body or query.

Views apply them with :func:`~mything.validation.dataschema` and
:func:`~mything.validation.argsschema`; the Python API applies the same
objects with :func:`~mything.validation.validate`; the OpenAPI document is
generated from them. A field limit is changed here and nowhere else.
"""

from __future__ import annotations

from voluptuous import PREVENT_EXTRA, REMOVE_EXTRA, In, Optional, Required, Schema

from .validation import (
    integer,
    matching,
    page_limit,
    query_integer,
    text,
    unique_list,
)

SLUG = matching(
    r"[a-z0-9][a-z0-9-]{0,62}",
    description="1 to 63 lowercase letters, digits or hyphens, not starting "
    "with a hyphen",
)
USER_NAME = matching(
    r"[a-z0-9_][a-z0-9_.-]{0,63}",
    description="1 to 64 lowercase letters, digits, '_', '.' or '-', not "
    "starting with '.' or '-'",
)
ROLE = In(["owner", "member"], msg="must be 'owner' or 'member'")
ORGANIZATION_NAME = text(min_length=1, max_length=200)
TITLE = text(min_length=1, max_length=200)
BODY = text(max_length=100_000)
TAG = text(min_length=1, max_length=50)
TAGS = unique_list(TAG, max_items=20)

ADD_BODY = Schema({Required("a"): integer, Required("b"): integer}, extra=REMOVE_EXTRA)
ADD_QUERY = Schema(
    {Required("a"): query_integer, Required("b"): query_integer}, extra=REMOVE_EXTRA
)

PAGE_QUERY = Schema(
    {Optional("limit"): page_limit, Optional("cursor"): str}, extra=REMOVE_EXTRA
)
NOTES_QUERY = PAGE_QUERY.extend({Optional("tag"): TAG})

NEW_ORGANIZATION = Schema(
    {Required("slug"): SLUG, Required("name"): ORGANIZATION_NAME},
    extra=REMOVE_EXTRA,
)
NEW_MEMBER = Schema(
    {Required("user"): USER_NAME, Optional("role", default="member"): ROLE},
    extra=REMOVE_EXTRA,
)
NEW_NOTE = Schema(
    {
        Required("title"): TITLE,
        Optional("body", default=""): BODY,
        Optional("tags", default=list): TAGS,
    },
    extra=REMOVE_EXTRA,
)
# A partial update names only what changes. An unknown field is refused rather
# than dropped: a client that misspells "title" must not get a silent 200.
NOTE_CHANGES = Schema(
    {Optional("title"): TITLE, Optional("body"): BODY, Optional("tags"): TAGS},
    extra=PREVENT_EXTRA,
)
NEW_USER = Schema({Required("name"): USER_NAME})
