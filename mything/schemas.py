"""The shapes of mything's input, one voluptuous schema per request body or query.

Views apply them with :func:`~mything.validation.dataschema` and
:func:`~mything.validation.argsschema`; the Python API applies the same
objects with :func:`~mything.validation.validate`; the OpenAPI document is
generated from them. A field limit is changed here and nowhere else.
"""

from __future__ import annotations

from voluptuous import (
    PREVENT_EXTRA,
    REMOVE_EXTRA,
    All,
    Any,
    Datetime,
    In,
    Optional,
    Range,
    Required,
    Schema,
)

from .pagination import CURSOR_ALPHABET, MAX_CURSOR_LENGTH
from .validators import (
    boolean,
    distinct_list,
    identifier,
    integer,
    matching,
    moment,
    one_of,
    page_limit,
    query_integer,
    text,
    token_lifetime,
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
# A host's own identifiers (``Carol``, ``dave@example.com``), as a host that
# authenticated the user vouches for them in REMOTE_USER. Every USER_NAME is
# one too, so this is also what names an existing user (a member to add or
# remove). No slash: a name must fit in one segment of a URL path.
HOST_USER_NAME = matching(
    r"[^\s/\x00-\x1f\x7f-\x9f\ud800-\udfff]"
    r"(?:[^/\x00-\x1f\x7f-\x9f\ud800-\udfff]{0,252}"
    r"[^\s/\x00-\x1f\x7f-\x9f\ud800-\udfff])?",
    description="1 to 254 characters, without '/', control characters, or "
    "spaces at either end",
    max_length=254,
)
ROLE = In(["owner", "member"], msg="must be 'owner' or 'member'")
ORGANIZATION_NAME = text(min_length=1, max_length=200)
TITLE = text(min_length=1, max_length=200)
BODY = text(max_length=100_000)
TAG = text(min_length=1, max_length=50)
TAGS = unique_list(TAG, max_items=20)
TOKEN_NAME = text(min_length=1, max_length=100)
SCOPE = In(["read", "write"], msg="must be 'read' or 'write'")

ADD_BODY = Schema({Required("a"): integer, Required("b"): integer}, extra=REMOVE_EXTRA)
ADD_QUERY = Schema(
    {Required("a"): query_integer, Required("b"): query_integer}, extra=REMOVE_EXTRA
)

# What the server issues as next_cursor, so that the OpenAPI document tells
# generated clients and fuzzers which values could ever be valid. An empty
# cursor is the first page.
CURSOR = matching(
    f"[{CURSOR_ALPHABET}]{{0,{MAX_CURSOR_LENGTH}}}",
    description=f"a next_cursor of this list (at most {MAX_CURSOR_LENGTH} "
    "characters of A-Z, a-z, 0-9, '-', '_' and '.')",
    max_length=MAX_CURSOR_LENGTH,
)

PAGE_QUERY = Schema(
    {Optional("limit"): page_limit, Optional("cursor"): CURSOR}, extra=REMOVE_EXTRA
)
NOTES_QUERY = PAGE_QUERY.extend({Optional("tag"): TAG})

NEW_ORGANIZATION = Schema(
    {Required("slug"): SLUG, Required("name"): ORGANIZATION_NAME},
    extra=REMOVE_EXTRA,
)
NEW_MEMBER = Schema(
    {Required("user"): HOST_USER_NAME, Optional("role", default="member"): ROLE},
    extra=REMOVE_EXTRA,
)
# An invitation names whom to invite and as what, as adding a member does.
NEW_INVITATION = NEW_MEMBER
# Changes to an organization or a membership name only what may change, and
# refuse the rest: a body that tries to change a slug must not get a 200.
ORGANIZATION_CHANGES = Schema(
    {Required("name"): ORGANIZATION_NAME}, extra=PREVENT_EXTRA
)
MEMBER_CHANGES = Schema({Required("role"): ROLE}, extra=PREVENT_EXTRA)
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
# The id of a note or a token, which HTTP has in the URL.
ID = identifier
# The version a Python caller expects a note to be at (``if_match=3``).
IF_MATCH = Schema(
    {
        Required("if_match"): All(
            integer, Range(min=1, msg="must be a version, 1 or more")
        )
    }
)


def _new_token(name: Required | Optional) -> Schema:
    # Without expires_in_days a token lives TOKEN_DEFAULT_DAYS, which the
    # service reads: the app's setting, not a default fixed here.
    return Schema(
        {
            name: TOKEN_NAME,
            Optional("scope", default="write"): SCOPE,
            Optional("expires_in_days"): token_lifetime,
        },
        extra=REMOVE_EXTRA,
    )


NEW_TOKEN = _new_token(Required("name"))
# A token an administrator issues (mything create-token, MyThing.create_token)
# may go without a name.
ADMIN_TOKEN = _new_token(Optional("name", default="unnamed"))

#: What happened, for each event of the ledger: "<resource>.<change>".
EVENT_TYPES = (
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "member.invited",
    "member.joined",
    "member.role_changed",
    "member.removed",
    "invitation.declined",
    "invitation.cancelled",
    "note.created",
    "note.updated",
    "note.deleted",
    "token.created",
    "token.revoked",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.disabled",
)
# A type, or every type of a resource ("note.*").
EVENT_TYPE_FILTER = In(
    [
        *EVENT_TYPES,
        *dict.fromkeys(f"{kind.partition('.')[0]}.*" for kind in EVENT_TYPES),
    ],
    msg="must be an event type, or a resource and '.*' (like 'note.*')",
)

#: What a webhook can subscribe to: an event type, every type of a resource
#: (``note.*``), or every type (``*``).
WEBHOOK_SUBSCRIPTIONS = (
    *EVENT_TYPES,
    *dict.fromkeys(f"{kind.partition('.')[0]}.*" for kind in EVENT_TYPES),
    "*",
)
WEBHOOK_SUBSCRIPTION = one_of(
    WEBHOOK_SUBSCRIPTIONS,
    message="must be an event type, a resource and '.*' (like 'note.*'), or '*'",
)
WEBHOOK_EVENTS = distinct_list(WEBHOOK_SUBSCRIPTION, min_items=1, max_items=100)
# Whether the URL can be reached is checked when the webhook is saved (see
# mything.addresses), under the app's WEBHOOK_ALLOW_* settings.
WEBHOOK_URL = text(min_length=1, max_length=2000)
WEBHOOK_DESCRIPTION = text(max_length=500)
NEW_WEBHOOK = Schema(
    {
        Required("url"): WEBHOOK_URL,
        Required("events"): WEBHOOK_EVENTS,
        Optional("description"): WEBHOOK_DESCRIPTION,
    },
    extra=REMOVE_EXTRA,
)
WEBHOOK_CHANGES = Schema(
    {
        Optional("url"): WEBHOOK_URL,
        Optional("events"): WEBHOOK_EVENTS,
        Optional("description"): WEBHOOK_DESCRIPTION,
        Optional("enabled"): boolean,
    },
    extra=PREVENT_EXTRA,
)

EVENTS_QUERY = PAGE_QUERY.extend(
    {
        Optional("type"): EVENT_TYPE_FILTER,
        # A user name as the ledger keeps it: no longer than any user's.
        Optional("actor"): text(min_length=1, max_length=254),
        # Events at this moment or later.
        Optional("since"): moment,
    }
)

# What the API answers. These document responses in the OpenAPI document
# (through ``@returns``) and are checked against real responses in the tests.

TIMESTAMP = Datetime(format="%Y-%m-%dT%H:%M:%S.%fZ")

SUM = Schema({Required("sum"): int})
STATUS = Schema({Required("status"): "ok"})
ME = Schema({Required("name"): str, Required("organizations"): [str]})
ORGANIZATION = Schema(
    {
        Required("slug"): str,
        Required("name"): str,
        Required("role"): ROLE,
        Required("created_at"): TIMESTAMP,
    }
)
MEMBER = Schema({Required("user"): str, Required("role"): ROLE})
INVITATION = Schema(
    {
        Required("id"): int,
        Required("organization"): str,
        Required("organization_name"): str,
        Required("user"): str,
        Required("role"): ROLE,
        Required("invited_by"): str,
        Required("created_at"): TIMESTAMP,
        Required("expires_at"): TIMESTAMP,
    }
)
NOTE = Schema(
    {
        Required("id"): int,
        Required("title"): str,
        Required("body"): str,
        Required("tags"): [str],
        Required("author"): str,
        Required("version"): int,
        Required("created_at"): TIMESTAMP,
        Required("updated_at"): TIMESTAMP,
    }
)
TOKEN = Schema(
    {
        Required("id"): int,
        Required("name"): str,
        Required("scope"): SCOPE,
        Required("created_at"): TIMESTAMP,
        Required("expires_at"): Any(TIMESTAMP, None),
        Required("last_used_at"): Any(TIMESTAMP, None),
    }
)
# The answer to creating a token: the token, and its secret. A replay of the
# request (Idempotency-Key) answers without the secret, which is shown once.
ISSUED_TOKEN = TOKEN.extend({Optional("token"): str})
EVENT = Schema(
    {
        Required("id"): str,
        Required("sequence"): int,
        Required("type"): In(EVENT_TYPES),
        Required("organization"): Any(str, None),
        Required("actor"): Any(str, None),
        Required("at"): TIMESTAMP,
        Required("request_id"): Any(str, None),
        Required("data"): {Required("object"): dict, Optional("changes"): dict},
    }
)
WEBHOOK = Schema(
    {
        Required("id"): int,
        Required("url"): str,
        Required("events"): [In(WEBHOOK_SUBSCRIPTIONS)],
        Required("description"): Any(str, None),
        Required("enabled"): bool,
        Required("created_at"): TIMESTAMP,
    }
)
# The answer to creating a webhook or rotating its secret: the webhook, and
# its secret. A replay of the creation (Idempotency-Key) answers without it.
WEBHOOK_WITH_SECRET = WEBHOOK.extend({Optional("secret"): str})
DELIVERY_STATUSES = ("pending", "retrying", "succeeded", "failed")
DELIVERY_ERRORS = ("timeout", "connection", "status", "redirect", "blocked")
DELIVERY = Schema(
    {
        Required("id"): int,
        Required("event_id"): str,
        Required("event_type"): str,
        Required("status"): In(DELIVERY_STATUSES),
        Required("attempts"): int,
        Required("last_attempt_at"): Any(TIMESTAMP, None),
        Required("next_attempt_at"): Any(TIMESTAMP, None),
        Required("response_status"): Any(int, None),
        Required("response_body"): Any(str, None),
        Required("error"): Any(In(DELIVERY_ERRORS), None),
        Required("duration_ms"): Any(int, None),
    }
)
ERROR = Schema(
    {
        Required("message"): str,
        Required("status"): int,
        Required("code"): str,
        Required("request_id"): str,
        Optional("errors"): [{Required("path"): str, Required("message"): str}],
    }
)


def page_of(item: Schema) -> Schema:
    """Return the schema of a page of ``item``: ``{"items", "next_cursor"}``."""
    return Schema({Required("items"): [item], Required("next_cursor"): Any(str, None)})
