"""The contained app: one object that is a WSGI application and a Python API.

:class:`MyThing` owns a Flask app built by :func:`~mything.app.create_app`
and hides it behind a small surface. Hosts use it three ways::

    thing = MyThing({"DATABASE_URI": "sqlite:///app.db"})

    # 1. as a WSGI app, alone or mounted under a prefix (or in an ASGI
    #    host: fastapi_app.mount("/api", thing.asgi()))
    app = DispatcherMiddleware(host_app, {"/api": thing})

    # 2. from Python, with the same validation and errors as HTTP
    thing.create_user("alice")
    alice = thing.as_user("alice")
    alice.create_organization("acme", name="Acme")

    # 3. from the command line: ``mything create-token alice --label ci``

Every Python call runs inside an app context of this thing's own Flask app,
and commits when the operation succeeds, exactly like a request.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from . import admin, asgi, schemas
from .app import create_app
from .blueprints import demo as demo_views
from .blueprints import events as events_views
from .blueprints import invitations as invitations_views
from .blueprints import me as me_views
from .blueprints import members as members_views
from .blueprints import notes as notes_views
from .blueprints import orgs as orgs_views
from .blueprints import tokens as tokens_views
from .blueprints import webhooks as webhooks_views
from .conditional import Precondition
from .config import settings_of
from .db import get_database, transaction
from .endpoints import endpoint_of
from .errors import NotFound, Unauthorized
from .operations import (
    audit,
    demo,
    invitations,
    notes,
    organizations,
    tokens,
    users,
    webhooks,
)
from .operations.invitations import INVITATION_NOT_FOUND
from .operations.notes import NOTE_NOT_FOUND
from .operations.tokens import TOKEN_NOT_FOUND
from .operations.webhooks import DELIVERY_NOT_FOUND, WEBHOOK_NOT_FOUND
from .pages import every_item
from .validation import validate, validate_arguments, without_none
from .validators import is_valid

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

T = TypeVar("T")

#: What tells "not given" from ``None`` in a deprecated keyword.
_MISSING: Any = object()


class MyThing:
    """mything as one object: call it as a WSGI app, or use its methods.

    ``config`` overrides the defaults, the ``MYTHING_CONFIG`` file and the
    ``MYTHING_*`` environment variables. Building one checks the
    configuration (and that a configured Redis answers) but opens no
    database connection and creates no file: the first request or call does.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.flask_app = create_app(config)
        self.flask_app.my_thing = self

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        return self.flask_app(environ, start_response)

    def __repr__(self) -> str:
        return f"<MyThing {settings_of(self.flask_app).database_uri!r}>"

    def asgi(self, *, workers: int = asgi.WORKERS) -> Any:
        """Return this thing as an ASGI app, to mount in FastAPI or Starlette.

        Needs ``mything[asgi]``; see :mod:`mything.asgi` for what it adds
        to a2wsgi, and for ``workers``.
        """
        return asgi.asgi_app(self, workers=workers)

    def run(self, operation: Callable[[], T], /) -> T:
        """Call ``operation`` in an app context of this thing, in a transaction."""
        with self.flask_app.app_context(), transaction():
            return operation()

    def init_db(self) -> None:
        """Bring the database schema to the newest revision; safe to call again."""
        get_database(self.flask_app).upgrade()

    def add_numbers(self, a: int, b: int) -> dict[str, int]:
        """Return ``{"sum": a + b}``, like ``POST /add``."""
        schema = endpoint_of(demo_views.add_numbers).body_schema
        return demo.add_numbers(**validate(schema, {"a": a, "b": b}))

    def create_user(self, name: str) -> dict[str, str]:
        """Create a user (an administrative operation: no caller is checked)."""
        return self.run(lambda: admin.create_user(name))

    def create_token(
        self,
        user: str = _MISSING,
        *,
        label: str | None = None,
        scope: str | None = None,
        expires_in_days: int | None = None,
        name: str = _MISSING,
    ) -> str:
        """Issue a token for the user ``user`` and return its secret, shown only once.

        ``label`` names the token (default ``"unnamed"``); ``scope`` is
        ``"read"`` or ``"write"`` (the default); it expires after
        ``expires_in_days`` (default ``TOKEN_DEFAULT_DAYS``). (``name=``, the
        user's old keyword, still works in this release, with a warning.)
        """
        if name is not _MISSING:
            warnings.warn(
                "MyThing.create_token(name=...) is now create_token(user=...)",
                DeprecationWarning,
                stacklevel=2,
            )
            user = name
        if user is _MISSING:
            raise TypeError("create_token() needs the user the token is for")
        return self.run(
            lambda: admin.create_token(
                user, label=label, scope=scope, expires_in_days=expires_in_days
            )
        )

    def add_member(
        self, slug: str, user: str, *, role: str = "member"
    ) -> dict[str, str]:
        """Make ``user`` a member of ``slug`` at once (administrative: no consent).

        For the host's own code, which is trusted; users invite each other
        instead. An unknown organization or user is a 404.
        """
        return self.run(lambda: admin.add_member(slug, user, role=role))

    def as_user(self, name: str) -> UserApi:
        """Return the HTTP API as Python calls, made by the user ``name``."""
        return UserApi(self, name)

    def deliver_due(self, limit: int | None = None) -> int:
        """Make one pass over the webhook deliveries that are due; return the attempts.

        At most ``limit`` attempts, one after the other. For hosts that drive
        delivery from cron, Celery beat or RQ instead of running ``mything
        deliver``; any number of passes may run at once, here or elsewhere.
        """
        # Imported here: serving requests never needs the HTTP client.
        from .worker import Worker

        return Worker(self.flask_app).run_pass(limit)


class UserApi:
    """The operations of the HTTP API, called from Python as one user.

    Each method is the twin of one view, named with ``like=``: its arguments
    are validated by the schema that view declares (an argument left as
    ``None`` gets the schema's default), results equal the HTTP response
    bodies, and failures raise :class:`~mything.errors.ApiException` with
    the HTTP status. A test fails when a route has no twin here.
    """

    def __init__(self, thing: MyThing, name: str) -> None:
        self.thing = thing
        self.name = name

    def __repr__(self) -> str:
        return f"<UserApi {self.name!r}>"

    def _call(
        self,
        operation: Callable[..., T],
        /,
        *path: Any,
        like: Callable[..., Any],
        **arguments: Any,
    ) -> T:
        """Run ``operation(caller, *path, **arguments)`` as this user, in a transaction.

        ``arguments`` are validated first by the body or query schema that
        the view ``like`` declares, as the same HTTP request would be.
        """
        endpoint = endpoint_of(like)
        schema = endpoint.body_schema or endpoint.query_schema

        def call() -> T:
            caller = users.find_user(self.name)
            if caller is None:
                raise Unauthorized(f"There is no user {self.name!r}.")
            if schema is None:
                clean = without_none(arguments.items())
            else:
                clean = validate_arguments(schema, **arguments)
            return operation(caller, *path, **clean)

        return self.thing.run(call)

    def me(self) -> dict[str, Any]:
        """Like ``GET /me``."""
        return self._call(users.describe_user, like=me_views.me)

    def tokens(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /me/tokens``: a page of the user's tokens, newest first."""
        return self._call(
            tokens.list_tokens,
            like=tokens_views.list_tokens,
            limit=limit,
            cursor=cursor,
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
    ) -> dict[str, Any]:
        """Like ``POST /me/tokens``: the new token, with its secret as ``"token"``."""
        return self._call(
            tokens.issue_token,
            like=tokens_views.create_token,
            name=name,
            scope=scope,
            expires_in_days=expires_in_days,
        )

    def token(self, token_id: int) -> dict[str, Any]:
        """Like ``GET /me/tokens/<id>``."""
        token_id = _id(token_id, missing=TOKEN_NOT_FOUND)
        return self._call(tokens.get_token, token_id, like=tokens_views.get_token)

    def revoke_token(self, token_id: int) -> None:
        """Like ``DELETE /me/tokens/<id>``: the token stops working at once."""
        token_id = _id(token_id, missing=TOKEN_NOT_FOUND)
        self._call(tokens.revoke_token, token_id, like=tokens_views.revoke_token)

    def organizations(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs``: a page of the user's organizations."""
        return self._call(
            organizations.list_organizations,
            like=orgs_views.list_organizations,
            limit=limit,
            cursor=cursor,
        )

    def iter_organizations(self) -> Iterator[dict[str, Any]]:
        """Every organization of the user, page after page."""
        return every_item(self.organizations)

    def create_organization(self, slug: str, *, name: str) -> dict[str, Any]:
        """Like ``POST /orgs``: the user becomes the owner."""
        return self._call(
            organizations.create_organization,
            like=orgs_views.create_organization,
            slug=slug,
            name=name,
        )

    def organization(self, slug: str) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>``."""
        return self._call(
            organizations.get_organization, slug, like=orgs_views.get_organization
        )

    def members(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/members``."""
        return self._call(
            organizations.list_members,
            slug,
            like=members_views.list_members,
            limit=limit,
            cursor=cursor,
        )

    def iter_members(self, slug: str) -> Iterator[dict[str, Any]]:
        """Every member of the organization ``slug``, page after page."""
        return every_item(self.members, slug)

    def update_organization(self, slug: str, *, name: str) -> dict[str, Any]:
        """Like ``PATCH /orgs/<slug>``: rename it; owners only."""
        return self._call(
            organizations.update_organization,
            slug,
            like=orgs_views.update_organization,
            name=name,
        )

    def delete_organization(self, slug: str) -> None:
        """Like ``DELETE /orgs/<slug>``: it goes with everything in it; owners only."""
        self._call(
            organizations.delete_organization,
            slug,
            like=orgs_views.delete_organization,
        )

    def add_member(
        self, slug: str, user: str, *, role: str | None = None
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/members``; owners only.

        Returns the invitation it sends, or, with ``DIRECT_MEMBERSHIP`` on,
        the new membership.
        """
        direct = settings_of(self.thing.flask_app).direct_membership
        add = organizations.add_member if direct else invitations.invite

        def operation(caller: users.User, user: str, role: str) -> dict[str, Any]:
            return add(caller, slug, user, role=role)

        return self._call(
            operation, like=members_views.add_member, user=user, role=role
        )

    def update_member(self, slug: str, user: str, *, role: str) -> dict[str, str]:
        """Like ``PATCH /orgs/<slug>/members/<user>``: change a role; owners only."""
        return self._call(
            organizations.update_member,
            slug,
            user,
            like=members_views.update_member,
            role=role,
        )

    def remove_member(self, slug: str, user: str) -> None:
        """Like ``DELETE /orgs/<slug>/members/<user>``: owners, or oneself."""
        self._call(
            organizations.remove_member, slug, user, like=members_views.remove_member
        )

    def leave_organization(self, slug: str) -> None:
        """Like ``DELETE /orgs/<slug>/members/<own name>``: stop being a member."""
        self.remove_member(slug, self.name)

    def invite_member(
        self, slug: str, user: str, *, role: str | None = None
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/invitations``; owners only."""

        def operation(caller: users.User, user: str, role: str) -> dict[str, Any]:
            return invitations.invite(caller, slug, user, role=role)

        return self._call(
            operation, like=invitations_views.invite, user=user, role=role
        )

    def invitations(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/invitations``: pending ones, newest first."""
        return self._call(
            invitations.list_invitations,
            slug,
            like=invitations_views.list_invitations,
            limit=limit,
            cursor=cursor,
        )

    def iter_invitations(self, slug: str) -> Iterator[dict[str, Any]]:
        """Every pending invitation of the organization ``slug``, newest first."""
        return every_item(self.invitations, slug)

    def invitation(self, slug: str, invitation_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/invitations/<id>``; owners only."""
        return self._call(
            invitations.get_invitation,
            slug,
            _id(invitation_id, missing=INVITATION_NOT_FOUND),
            like=invitations_views.get_invitation,
        )

    def cancel_invitation(self, slug: str, invitation_id: int) -> None:
        """Like ``DELETE /orgs/<slug>/invitations/<id>``; owners only."""
        self._call(
            invitations.cancel_invitation,
            slug,
            _id(invitation_id, missing=INVITATION_NOT_FOUND),
            like=invitations_views.cancel_invitation,
        )

    def my_invitations(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /me/invitations``: the user's pending ones, newest first."""
        return self._call(
            invitations.list_my_invitations,
            like=invitations_views.list_my_invitations,
            limit=limit,
            cursor=cursor,
        )

    def iter_my_invitations(self) -> Iterator[dict[str, Any]]:
        """Every pending invitation of the user, newest first."""
        return every_item(self.my_invitations)

    def accept_invitation(self, invitation_id: int) -> dict[str, Any]:
        """Like ``POST /me/invitations/<id>/accept``: the organization joined."""
        return self._call(
            invitations.accept_invitation,
            _id(invitation_id, missing=INVITATION_NOT_FOUND),
            like=invitations_views.accept_invitation,
        )

    def decline_invitation(self, invitation_id: int) -> None:
        """Like ``DELETE /me/invitations/<id>``."""
        self._call(
            invitations.decline_invitation,
            _id(invitation_id, missing=INVITATION_NOT_FOUND),
            like=invitations_views.decline_invitation,
        )

    def notes(
        self,
        slug: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/notes``: a page of notes, newest first."""
        return self._call(
            notes.list_notes,
            slug,
            like=notes_views.list_notes,
            limit=limit,
            cursor=cursor,
            tag=tag,
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
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/notes``."""
        return self._call(
            notes.create_note,
            slug,
            like=notes_views.create_note,
            title=title,
            body=body,
            tags=tags,
        )

    def note(self, slug: str, note_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/notes/<id>``."""
        note_id = _id(note_id, missing=NOTE_NOT_FOUND)
        return self._call(notes.get_note, slug, note_id, like=notes_views.get_note)

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
        :class:`~mything.errors.ApiException` 412 is raised.
        """
        precondition = _precondition(if_match)
        note_id = _id(note_id, missing=NOTE_NOT_FOUND)
        schema = endpoint_of(notes_views.update_note).body_schema

        def operation(caller: users.User) -> dict[str, Any]:
            clean = validate(schema, changes)
            return notes.update_note(
                caller, slug, note_id, if_match=precondition, **clean
            )

        return self._call(operation, like=notes_views.update_note)

    def delete_note(
        self, slug: str, note_id: int, *, if_match: int | str | None = None
    ) -> None:
        """Like ``DELETE /orgs/<slug>/notes/<id>``; ``if_match`` as for updates."""
        self._call(
            notes.delete_note,
            slug,
            _id(note_id, missing=NOTE_NOT_FOUND),
            like=notes_views.delete_note,
            if_match=_precondition(if_match),
        )

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
        return self._call(
            audit.list_events,
            slug,
            like=events_views.list_events,
            limit=limit,
            cursor=cursor,
            type=type,
            actor=actor,
            since=since,
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
        return self._call(
            audit.list_my_events,
            like=events_views.list_my_events,
            limit=limit,
            cursor=cursor,
            type=type,
            actor=actor,
            since=since,
        )

    def iter_my_events(
        self,
        *,
        type: str | None = None,
        actor: str | None = None,
        since: datetime | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every one of the user's own events, newest first."""
        return every_item(self.my_events, type=type, actor=actor, since=since)

    def webhooks(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/webhooks``: a page of webhooks, newest first."""
        return self._call(
            webhooks.list_webhooks,
            slug,
            like=webhooks_views.list_webhooks,
            limit=limit,
            cursor=cursor,
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
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/webhooks``: the webhook, with its ``secret``."""
        return self._call(
            webhooks.create_webhook,
            slug,
            like=webhooks_views.create_webhook,
            url=url,
            events=events,
            description=description,
        )

    def webhook(self, slug: str, webhook_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/webhooks/<id>``."""
        return self._call(
            webhooks.get_webhook,
            slug,
            _id(webhook_id, missing=WEBHOOK_NOT_FOUND),
            like=webhooks_views.get_webhook,
        )

    def update_webhook(
        self, slug: str, webhook_id: int, **changes: Any
    ) -> dict[str, Any]:
        """Like ``PATCH /orgs/<slug>/webhooks/<id>``: change only what is given."""
        webhook_id = _id(webhook_id, missing=WEBHOOK_NOT_FOUND)
        schema = endpoint_of(webhooks_views.update_webhook).body_schema

        def operation(caller: users.User) -> dict[str, Any]:
            return webhooks.update_webhook(
                caller, slug, webhook_id, **validate(schema, changes)
            )

        return self._call(operation, like=webhooks_views.update_webhook)

    def delete_webhook(self, slug: str, webhook_id: int) -> None:
        """Like ``DELETE /orgs/<slug>/webhooks/<id>``."""
        self._call(
            webhooks.delete_webhook,
            slug,
            _id(webhook_id, missing=WEBHOOK_NOT_FOUND),
            like=webhooks_views.delete_webhook,
        )

    def rotate_webhook_secret(self, slug: str, webhook_id: int) -> dict[str, Any]:
        """Like ``POST .../webhooks/<id>/rotate-secret``: the webhook and new secret."""
        return self._call(
            webhooks.rotate_secret,
            slug,
            _id(webhook_id, missing=WEBHOOK_NOT_FOUND),
            like=webhooks_views.rotate_webhook_secret,
        )

    def ping_webhook(self, slug: str, webhook_id: int) -> dict[str, Any]:
        """Like ``POST .../webhooks/<id>/ping``: the ping's delivery."""
        return self._call(
            webhooks.ping,
            slug,
            _id(webhook_id, missing=WEBHOOK_NOT_FOUND),
            like=webhooks_views.ping_webhook,
        )

    def deliveries(
        self,
        slug: str,
        webhook_id: int,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Like ``GET .../webhooks/<id>/deliveries``: a page, newest first."""
        return self._call(
            webhooks.list_deliveries,
            slug,
            _id(webhook_id, missing=WEBHOOK_NOT_FOUND),
            like=webhooks_views.list_deliveries,
            limit=limit,
            cursor=cursor,
        )

    def iter_deliveries(self, slug: str, webhook_id: int) -> Iterator[dict[str, Any]]:
        """Every delivery of a webhook, newest first."""
        return every_item(self.deliveries, slug, webhook_id)

    def redeliver(self, slug: str, webhook_id: int, delivery_id: int) -> dict[str, Any]:
        """Like ``POST .../deliveries/<id>/redeliver``: the new delivery."""
        return self._call(
            webhooks.redeliver,
            slug,
            _id(webhook_id, missing=WEBHOOK_NOT_FOUND),
            _id(delivery_id, missing=DELIVERY_NOT_FOUND),
            like=webhooks_views.redeliver,
        )


def _id(value: Any, *, missing: str) -> int:
    """Return ``value`` if it is an id as a URL spells one; else raise a 404.

    Over HTTP, a URL whose id is not a positive integer matches no route and
    is a 404; the Python API answers the same, with the message ``missing``.
    """
    if not is_valid(schemas.ID, value):
        raise NotFound(missing)
    id_: int = value
    return id_


def _precondition(if_match: int | str | None) -> Precondition | None:
    """Return the precondition of a Python ``if_match``: a version, or ``"*"``."""
    if if_match is None:
        return None
    if if_match == "*":
        return Precondition(any=True)
    version = validate(schemas.IF_MATCH, {"if_match": if_match})["if_match"]
    return Precondition(frozenset({version}))
