"""mything's Python API over HTTP: :class:`Client`.

``thing.as_user("alice")`` calls a mything in the same process; a
:class:`Client` makes the same calls to a mything served anywhere::

    import mything

    with mything.Client("https://example.com/api", token=token) as alice:
        note = alice.create_note("acme", title="Hello")
        alice.update_note("acme", note["id"], if_match=note["version"], title="Hi")
        for note in alice.iter_notes("acme", tag="red"):
            print(note["title"])

Every method has the name, signature and result of its twin on
:class:`~mything.thing.UserApi` (a test compares them), and raises the same
:class:`~mything.errors.ApiException` subclass with the same ``status``,
``code``, ``message`` and ``errors``; over HTTP the error also carries the
answer's ``request_id``. Ids, slugs and user names are checked before a
request is made, so that no value can turn a URL into another one.

**Retries.** A call that meets a connection error, a 429, 502, 503 or 504
is made again, up to ``retries`` times, after a jittered exponential
backoff, or after the answer's ``Retry-After`` when it has one (a
``Retry-After`` that is not a number of seconds, or asks for more than
``max_retry_after``, ends the call at once with the answer's own error).
Only requests that cannot do a thing twice are retried:

- reads, and ``DELETE`` (deleting twice deletes once);
- ``POST``: each call sends one ``Idempotency-Key`` (``idempotency_key=``
  or a random one) on every attempt, so the server answers a retry with the
  first answer instead of creating again;
- ``PATCH`` with ``if_match=``: a second attempt fails the precondition
  instead of changing twice. Without it, a ``PATCH`` is retried only when
  the server certainly did not act on it: the connection was never made,
  or the answer was a 429.

A connection error that outlasts the retries is raised as it is, an
:class:`httpx.TransportError`. An answer that is not mything's (a proxy's
HTML error page, an empty body) raises :class:`~mything.errors.ApiException`
with the answer's status and the code ``"unexpected_response"``.

**Testing a host.** ``transport=httpx.WSGITransport(app=thing)`` calls a
:class:`~mything.thing.MyThing` in the same process, through the whole HTTP
stack, without a server.

The client is built on httpx, which the server does not need: it comes with
``pip install 'mything[client]'``.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

try:
    import httpx
except ImportError as error:
    raise ImportError(
        "mything.Client needs httpx: pip install 'mything[client]'"
    ) from error
import orjson

from . import errors, schemas
from .conditional import etag
from .errors import ApiException, NotFound
from .operations.invitations import INVITATION_NOT_FOUND
from .operations.notes import NOTE_NOT_FOUND
from .operations.organizations import MEMBER_NOT_FOUND
from .operations.tenancy import check_slug
from .operations.tokens import TOKEN_NOT_FOUND
from .operations.webhooks import DELIVERY_NOT_FOUND, WEBHOOK_NOT_FOUND
from .pages import every_item
from .validation import validate, without_none
from .validators import is_valid

#: The statuses after which a call may be made again.
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
#: The longest ``Retry-After`` a call waits for, in seconds, by default.
MAX_RETRY_AFTER = 60.0
#: The first backoff, in seconds; it doubles with each retry, up to the cap.
BACKOFF = 0.25
BACKOFF_CAP = 8.0

#: Connection errors raised before a request left the client.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Connection errors after which the request may or may not have been acted on.
_MAYBE_SENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def _subclasses(cls: type[ApiException]) -> Iterator[type[ApiException]]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


#: The class of each error code mything answers with (see :mod:`mything.errors`).
ERROR_CLASSES = {
    error_class.code: error_class
    for error_class in _subclasses(ApiException)
    if error_class.__module__ == errors.__name__
}


class Client:
    """The operations of the HTTP API of a mything at ``base_url``, as one user.

    ``token`` is the user's bearer token (``mything create-token NAME``);
    ``timeout`` bounds each step of each attempt (connecting, sending,
    waiting for a chunk of the answer), in seconds. A ``transport`` replaces
    httpx's network transport, ``httpx.WSGITransport(app=thing)`` above all.
    Use it as a context manager, or call :meth:`close`, to close its
    connections.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float | None = 10.0,
        retries: int = 2,
        transport: httpx.BaseTransport | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        parts = urlsplit(base_url) if isinstance(base_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base_url must be an http:// or https:// URL such as "
                f"'https://example.com/api', not {base_url!r}"
            )
        if timeout is not None and not _is_number(timeout, above=0):
            raise ValueError(f"timeout must be seconds above 0, or None: {timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer, 0 or more: {retries!r}")
        if not _is_number(max_retry_after, above=0) and max_retry_after != 0:
            raise ValueError(f"max_retry_after must be seconds: {max_retry_after!r}")
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url
        self.retries = retries
        self.max_retry_after = float(max_retry_after)
        self._name: str | None = None
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        return f"<Client {self.base_url!r}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the client's connections."""
        self._http.close()

    # The requests ---------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        replayable: bool = True,
    ) -> Any:
        """Make a request, retried as the module says; return its JSON body.

        ``replayable`` says whether the request may be sent again after the
        server may have acted on it.
        """
        request = self._http.build_request(
            method,
            path,
            params=without_none((params or {}).items()),
            json=json,
            headers=headers,
        )
        attempt = 0
        while True:
            delay: float | None
            try:
                response = self._http.send(request)
            except _MAYBE_SENT as error:
                retry = replayable or isinstance(error, _NOT_SENT)
                if not retry or attempt == self.retries:
                    raise
                delay = self._backoff(attempt)
            else:
                retry = response.status_code in RETRIED_STATUSES and (
                    replayable or response.status_code == 429
                )
                delay = self._delay(response, attempt) if retry else None
                if delay is None or attempt == self.retries:
                    return _result(response)
            attempt += 1
            time.sleep(delay)

    def _delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Return how long to wait before the next attempt; ``None``: do not retry."""
        retry_after = response.headers.get("Retry-After")
        if retry_after is None:
            return self._backoff(attempt)
        # Only delta-seconds: an HTTP date would make the wait depend on two
        # clocks agreeing.
        if not (retry_after.isascii() and retry_after.isdigit()):
            return None
        seconds = int(retry_after)
        if seconds > self.max_retry_after:
            return None
        return max(float(seconds), self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        """Half of an exponential backoff, plus up to as much again at random.

        The jitter keeps many clients that failed together from retrying
        together.
        """
        ceiling = min(BACKOFF_CAP, BACKOFF * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _create(
        self,
        path: str,
        body: Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> Any:
        """POST ``body``, with one Idempotency-Key for every attempt of this call."""
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        json = without_none(body.items()) if body is not None else None
        return self._request("POST", path, json=json, headers={"Idempotency-Key": key})

    def _name_of_caller(self) -> str:
        if self._name is None:
            self._name = self.me()["name"]
        return self._name

    # The operations, in the order of UserApi ------------------------------

    def me(self) -> dict[str, Any]:
        """Like ``GET /me``."""
        return self._request("GET", "/me")

    def tokens(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /me/tokens``: a page of the user's tokens, newest first."""
        return self._request(
            "GET", "/me/tokens", params={"limit": limit, "cursor": cursor}
        )

    def iter_tokens(self) -> Iterator[dict[str, Any]]:
        """Every token of the user, newest first, page after page."""
        return every_item(self.tokens)

    def create_token(
        self,
        name: str,
        *,
        scope: str | None = None,
        expires_in_days: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /me/tokens``: the new token, with its secret as ``"token"``.

        If the first attempt was made but its answer lost, the retry's
        answer has no ``"token"``: the server never stores a secret.
        """
        body = {"name": name, "scope": scope, "expires_in_days": expires_in_days}
        return self._create("/me/tokens", body, idempotency_key)

    def token(self, token_id: int) -> dict[str, Any]:
        """Like ``GET /me/tokens/<id>``."""
        return self._request("GET", f"/me/tokens/{_id(token_id, TOKEN_NOT_FOUND)}")

    def revoke_token(self, token_id: int) -> None:
        """Like ``DELETE /me/tokens/<id>``: the token stops working at once."""
        path = f"/me/tokens/{_id(token_id, TOKEN_NOT_FOUND)}"
        self._request("DELETE", path)

    def organizations(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs``: a page of the user's organizations."""
        return self._request("GET", "/orgs", params={"limit": limit, "cursor": cursor})

    def iter_organizations(self) -> Iterator[dict[str, Any]]:
        """Every organization of the user, page after page."""
        return every_item(self.organizations)

    def create_organization(
        self, slug: str, *, name: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Like ``POST /orgs``: the user becomes the owner."""
        return self._create("/orgs", {"slug": slug, "name": name}, idempotency_key)

    def organization(self, slug: str) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>``."""
        return self._request("GET", f"/orgs/{_slug(slug)}")

    def members(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/members``."""
        return self._request(
            "GET",
            f"/orgs/{_slug(slug)}/members",
            params={"limit": limit, "cursor": cursor},
        )

    def iter_members(self, slug: str) -> Iterator[dict[str, Any]]:
        """Every member of the organization ``slug``, page after page."""
        return every_item(self.members, slug)

    def update_organization(self, slug: str, *, name: str) -> dict[str, Any]:
        """Like ``PATCH /orgs/<slug>``: rename it; owners only."""
        return self._request(
            "PATCH", f"/orgs/{_slug(slug)}", json=_body(name=name), replayable=False
        )

    def delete_organization(self, slug: str) -> None:
        """Like ``DELETE /orgs/<slug>``: it goes with everything in it; owners only."""
        self._request("DELETE", f"/orgs/{_slug(slug)}")

    def add_member(
        self,
        slug: str,
        user: str,
        *,
        role: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/members``; owners only.

        Returns the invitation it sends, or, with the server's
        ``DIRECT_MEMBERSHIP`` on, the new membership.
        """
        path = f"/orgs/{_slug(slug)}/members"
        return self._create(path, {"user": user, "role": role}, idempotency_key)

    def update_member(self, slug: str, user: str, *, role: str) -> dict[str, str]:
        """Like ``PATCH /orgs/<slug>/members/<user>``: change a role; owners only."""
        path = f"/orgs/{_slug(slug)}/members/{_user(user)}"
        return self._request("PATCH", path, json=_body(role=role), replayable=False)

    def remove_member(self, slug: str, user: str) -> None:
        """Like ``DELETE /orgs/<slug>/members/<user>``: owners, or oneself."""
        self._request("DELETE", f"/orgs/{_slug(slug)}/members/{_user(user)}")

    def leave_organization(self, slug: str) -> None:
        """Like ``DELETE /orgs/<slug>/members/<own name>``: stop being a member."""
        _slug(slug)
        self.remove_member(slug, self._name_of_caller())

    def invite_member(
        self,
        slug: str,
        user: str,
        *,
        role: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/invitations``; owners only."""
        path = f"/orgs/{_slug(slug)}/invitations"
        return self._create(path, {"user": user, "role": role}, idempotency_key)

    def invitations(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/invitations``: pending ones, newest first."""
        return self._request(
            "GET",
            f"/orgs/{_slug(slug)}/invitations",
            params={"limit": limit, "cursor": cursor},
        )

    def iter_invitations(self, slug: str) -> Iterator[dict[str, Any]]:
        """Every pending invitation of the organization ``slug``, newest first."""
        return every_item(self.invitations, slug)

    def invitation(self, slug: str, invitation_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/invitations/<id>``; owners only."""
        invitation_id = _id(invitation_id, INVITATION_NOT_FOUND)
        return self._request("GET", f"/orgs/{_slug(slug)}/invitations/{invitation_id}")

    def cancel_invitation(self, slug: str, invitation_id: int) -> None:
        """Like ``DELETE /orgs/<slug>/invitations/<id>``; owners only."""
        invitation_id = _id(invitation_id, INVITATION_NOT_FOUND)
        self._request("DELETE", f"/orgs/{_slug(slug)}/invitations/{invitation_id}")

    def my_invitations(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /me/invitations``: the user's pending ones, newest first."""
        return self._request(
            "GET", "/me/invitations", params={"limit": limit, "cursor": cursor}
        )

    def iter_my_invitations(self) -> Iterator[dict[str, Any]]:
        """Every pending invitation of the user, newest first."""
        return every_item(self.my_invitations)

    def accept_invitation(self, invitation_id: int) -> dict[str, Any]:
        """Like ``POST /me/invitations/<id>/accept``: the organization joined."""
        invitation_id = _id(invitation_id, INVITATION_NOT_FOUND)
        return self._create(f"/me/invitations/{invitation_id}/accept", None, None)

    def decline_invitation(self, invitation_id: int) -> None:
        """Like ``DELETE /me/invitations/<id>``."""
        invitation_id = _id(invitation_id, INVITATION_NOT_FOUND)
        self._request("DELETE", f"/me/invitations/{invitation_id}")

    def events(
        self,
        slug: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        type: str | None = None,
        actor: str | None = None,
        since: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/events``: the audit log, newest first; owners only.

        ``type`` is an event type or ``"<resource>.*"``; ``since`` a moment
        (an aware ``datetime``, or an ISO 8601 string with its offset).
        """
        return self._request(
            "GET",
            f"/orgs/{_slug(slug)}/events",
            params=_events_query(limit, cursor, type, actor, since),
        )

    def iter_events(
        self,
        slug: str,
        *,
        type: str | None = None,
        actor: str | None = None,
        since: datetime | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every event of the organization ``slug``'s audit log, newest first."""
        return every_item(self.events, slug, type=type, actor=actor, since=since)

    def my_events(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        type: str | None = None,
        actor: str | None = None,
        since: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Like ``GET /me/events``: the user's own events (their tokens)."""
        params = _events_query(limit, cursor, type, actor, since)
        return self._request("GET", "/me/events", params=params)

    def iter_my_events(
        self,
        *,
        type: str | None = None,
        actor: str | None = None,
        since: datetime | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every one of the user's own events, newest first."""
        return every_item(self.my_events, type=type, actor=actor, since=since)

    def notes(
        self,
        slug: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/notes``: a page of notes, newest first."""
        return self._request(
            "GET",
            f"/orgs/{_slug(slug)}/notes",
            params={"limit": limit, "cursor": cursor, "tag": tag},
        )

    def iter_notes(
        self, slug: str, *, tag: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every note of the organization ``slug``, newest first, page after page."""
        return every_item(self.notes, slug, tag=tag)

    def create_note(
        self,
        slug: str,
        *,
        title: str,
        body: str | None = None,
        tags: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/notes``."""
        fields = {"title": title, "body": body, "tags": tags}
        return self._create(f"/orgs/{_slug(slug)}/notes", fields, idempotency_key)

    def note(self, slug: str, note_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/notes/<id>``."""
        note_id = _id(note_id, NOTE_NOT_FOUND)
        return self._request("GET", f"/orgs/{_slug(slug)}/notes/{note_id}")

    def update_note(
        self,
        slug: str,
        note_id: int,
        *,
        if_match: int | str | None = None,
        **changes: Any,
    ) -> dict[str, Any]:
        """Like ``PATCH /orgs/<slug>/notes/<id>``: change only what is given.

        ``if_match`` is the ``version`` of the note you read (or ``"*"``):
        the change is made only if that is still the current version, else
        :class:`~mything.errors.PreconditionFailed` (412) is raised.
        """
        headers = _if_match(if_match, note_id)
        path = f"/orgs/{_slug(slug)}/notes/{_id(note_id, NOTE_NOT_FOUND)}"
        return self._request(
            "PATCH", path, json=changes, headers=headers, replayable=bool(headers)
        )

    def delete_note(
        self, slug: str, note_id: int, *, if_match: int | str | None = None
    ) -> None:
        """Like ``DELETE /orgs/<slug>/notes/<id>``; ``if_match`` as for updates."""
        # In the order the Python API checks them: the id, then if_match.
        note_id = _id(note_id, NOTE_NOT_FOUND)
        headers = _if_match(if_match, note_id)
        self._request("DELETE", f"/orgs/{_slug(slug)}/notes/{note_id}", headers=headers)

    def webhooks(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/webhooks``: a page of webhooks, newest first."""
        return self._request(
            "GET",
            f"/orgs/{_slug(slug)}/webhooks",
            params={"limit": limit, "cursor": cursor},
        )

    def iter_webhooks(self, slug: str) -> Iterator[dict[str, Any]]:
        """Every webhook of the organization ``slug``, newest first."""
        return every_item(self.webhooks, slug)

    def create_webhook(
        self,
        slug: str,
        *,
        url: str,
        events: list[str],
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/webhooks``: the webhook, with its ``secret``.

        As for tokens, a retry whose first attempt's answer was lost has no
        ``"secret"``: rotate it to get one.
        """
        body = {"url": url, "events": events, "description": description}
        return self._create(f"/orgs/{_slug(slug)}/webhooks", body, idempotency_key)

    def webhook(self, slug: str, webhook_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/webhooks/<id>``."""
        return self._request("GET", _webhook_path(slug, webhook_id))

    def update_webhook(
        self, slug: str, webhook_id: int, **changes: Any
    ) -> dict[str, Any]:
        """Like ``PATCH /orgs/<slug>/webhooks/<id>``: change only what is given."""
        path = _webhook_path(slug, webhook_id)
        return self._request("PATCH", path, json=changes, replayable=False)

    def delete_webhook(self, slug: str, webhook_id: int) -> None:
        """Like ``DELETE /orgs/<slug>/webhooks/<id>``."""
        self._request("DELETE", _webhook_path(slug, webhook_id))

    def rotate_webhook_secret(self, slug: str, webhook_id: int) -> dict[str, Any]:
        """Like ``POST .../webhooks/<id>/rotate-secret``: the webhook and new secret."""
        path = _webhook_path(slug, webhook_id) + "/rotate-secret"
        return self._create(path, None, None)

    def ping_webhook(self, slug: str, webhook_id: int) -> dict[str, Any]:
        """Like ``POST .../webhooks/<id>/ping``: the ping's delivery."""
        return self._create(_webhook_path(slug, webhook_id) + "/ping", None, None)

    def deliveries(
        self,
        slug: str,
        webhook_id: int,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Like ``GET .../webhooks/<id>/deliveries``: a page, newest first."""
        return self._request(
            "GET",
            _webhook_path(slug, webhook_id) + "/deliveries",
            params={"limit": limit, "cursor": cursor},
        )

    def iter_deliveries(self, slug: str, webhook_id: int) -> Iterator[dict[str, Any]]:
        """Every delivery of a webhook, newest first."""
        return every_item(self.deliveries, slug, webhook_id)

    def redeliver(self, slug: str, webhook_id: int, delivery_id: int) -> dict[str, Any]:
        """Like ``POST .../deliveries/<id>/redeliver``: the new delivery."""
        webhook = _webhook_path(slug, webhook_id)
        delivery_id = _id(delivery_id, DELIVERY_NOT_FOUND)
        return self._create(f"{webhook}/deliveries/{delivery_id}/redeliver", None, None)


# Checking what goes into a URL, as the Python API checks it -----------------


def _webhook_path(slug: str, webhook_id: Any) -> str:
    """Return the path of a webhook, its slug and id checked."""
    return f"/orgs/{_slug(slug)}/webhooks/{_id(webhook_id, WEBHOOK_NOT_FOUND)}"


def _id(value: Any, missing: str) -> int:
    """Return ``value`` if it is an id; else raise the 404 the Python API raises."""
    if not is_valid(schemas.ID, value):
        raise NotFound(missing)
    id_: int = value
    return id_


def _slug(slug: Any) -> str:
    """Return ``slug`` if an organization can have it; else raise its 404."""
    check_slug(slug)
    result: str = slug
    return result


def _user(name: Any) -> str:
    """Return the user name ``name`` as one segment of a URL path.

    A name with a ``/`` cannot be one segment, and no member has one; ``.``
    and ``..`` are names, which URL paths would otherwise remove.
    """
    if not isinstance(name, str) or not name or "/" in name:
        raise NotFound(MEMBER_NOT_FOUND.format(name))
    segment = quote(name, safe="")
    return segment.replace(".", "%2E") if name.strip(".") == "" else segment


def _if_match(if_match: int | str | None, note_id: Any) -> dict[str, str]:
    """Return the ``If-Match`` of a Python ``if_match``, checked as in process."""
    if if_match is None:
        return {}
    if if_match == "*":
        return {"If-Match": "*"}
    version = validate(schemas.IF_MATCH, {"if_match": if_match})["if_match"]
    return {"If-Match": etag(_id(note_id, NOTE_NOT_FOUND), version)}


def _events_query(
    limit: int | None,
    cursor: str | None,
    type: str | None,
    actor: str | None,
    since: datetime | str | None,
) -> dict[str, Any]:
    if isinstance(since, datetime):
        since = since.isoformat()
    return {
        "limit": limit,
        "cursor": cursor,
        "type": type,
        "actor": actor,
        "since": since,
    }


def _body(**fields: Any) -> dict[str, Any]:
    return without_none(fields.items())


def _is_number(value: Any, *, above: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > above
        and value != float("inf")
    )


# Reading the answers ----------------------------------------------------------


def _result(response: httpx.Response) -> Any:
    """Return the JSON body of a successful answer; raise the error of any other."""
    if response.status_code == 204:
        return None
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if response.is_success and isinstance(body, dict):
        return body
    raise error_of(response, body)


def error_of(response: httpx.Response, body: Any) -> ApiException:
    """Return the :class:`ApiException` that an answer and its JSON ``body`` carry."""
    status = response.status_code
    if response.is_error and is_valid(schemas.ERROR, body):
        error_class = ERROR_CLASSES.get(body["code"], ApiException)
        # The subclasses' constructors take different arguments; the base
        # sets every attribute the body holds.
        error = error_class.__new__(error_class)
        ApiException.__init__(
            error, body["message"], status, code=body["code"], errors=body.get("errors")
        )
    else:
        error = ApiException(_unexpected(response), status, code="unexpected_response")
    error.request_id = response.headers.get("X-Request-ID")
    return error


def _unexpected(response: httpx.Response) -> str:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = "(unknown status)"
    content_type = response.headers.get("Content-Type", "no content type")
    what = "an empty body" if not response.content else f"a body of {content_type}"
    return (
        f"The server answered {response.status_code} {phrase} with {what}, "
        "not mything's JSON: is base_url a mything, and is a proxy in the way?"
    )
