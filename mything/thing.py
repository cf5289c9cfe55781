"""The contained app: one object that is a WSGI application and a Python API.

:class:`MyThing` owns a Flask app built by :func:`~mything.app.create_app`
and hides it behind a small surface. Hosts use it three ways::

    thing = MyThing({"DATABASE_URI": "sqlite:///app.db"})

    # 1. as a WSGI app, alone or mounted under a prefix
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

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from . import credentials, schemas, services
from .app import create_app
from .conditional import Precondition
from .db import get_database, transaction
from .errors import NotFound, Unauthorized
from .validation import validate, validate_arguments, without_none
from .validators import is_valid

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

T = TypeVar("T")

NOTE_NOT_FOUND = "Note not found."
TOKEN_NOT_FOUND = "Token not found."


class MyThing:
    """mything as one object: call it as a WSGI app, or use its methods.

    ``config`` overrides the defaults, the ``MYTHING_CONFIG`` file and the
    ``MYTHING_*`` environment variables.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.flask_app = create_app(config)
        self.flask_app.my_thing = self

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        return self.flask_app(environ, start_response)

    def __repr__(self) -> str:
        return f"<MyThing {self.flask_app.config['DATABASE_URI']!r}>"

    def run(self, operation: Callable[[], T], /) -> T:
        """Call ``operation`` in an app context of this thing, in a transaction."""
        with self.flask_app.app_context(), transaction():
            return operation()

    def init_db(self) -> None:
        """Bring the database schema to the newest revision; safe to call again."""
        get_database(self.flask_app).upgrade()

    def add_numbers(self, a: int, b: int) -> dict[str, int]:
        """Return ``{"sum": a + b}``, like ``POST /add``."""
        return services.add_numbers(**validate(schemas.ADD_BODY, {"a": a, "b": b}))

    def create_user(self, name: str) -> dict[str, str]:
        """Create a user (an administrative operation: no caller is checked)."""
        clean = validate(schemas.NEW_USER, {"name": name})
        return self.run(lambda: services.create_user(clean["name"]))

    def create_token(
        self,
        name: str,
        *,
        label: str | None = None,
        scope: str | None = None,
        expires_in_days: int | None = None,
    ) -> str:
        """Issue a token for the user ``name`` and return its secret, shown only once.

        ``label`` names the token (default ``"unnamed"``); ``scope`` is
        ``"read"`` or ``"write"`` (the default); it expires after
        ``expires_in_days`` (default ``TOKEN_DEFAULT_DAYS``).
        """

        def operation() -> str:
            clean = validate_arguments(
                schemas.ADMIN_TOKEN,
                name=label,
                scope=scope,
                expires_in_days=expires_in_days,
            )
            return credentials.create_token(name, label=clean.pop("name"), **clean)

        return self.run(operation)

    def as_user(self, name: str) -> UserApi:
        """Return the HTTP API as Python calls, made by the user ``name``."""
        return UserApi(self, name)


class UserApi:
    """The operations of the HTTP API, called from Python as one user.

    Arguments are validated by the same schemas as HTTP requests (an
    argument left as ``None`` gets the schema's default), results equal the
    HTTP response bodies, and failures raise
    :class:`~mything.errors.ApiException` with the HTTP status.
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
        schema: Any = None,
        **arguments: Any,
    ) -> T:
        """Run ``operation(caller, *path, **arguments)`` as this user, in a transaction.

        ``arguments`` are validated by ``schema`` first, as the request body
        or query of the same HTTP call would be.
        """

        def call() -> T:
            caller = credentials.find_user(self.name)
            if caller is None:
                raise Unauthorized(f"There is no user {self.name!r}.")
            given = without_none(arguments.items())
            clean = validate_arguments(schema, **given) if schema else given
            return operation(caller, *path, **clean)

        return self.thing.run(call)

    def me(self) -> dict[str, Any]:
        """Like ``GET /me``."""
        return self._call(services.describe_user)

    def tokens(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /me/tokens``: a page of the user's tokens, newest first."""
        return self._call(
            credentials.list_tokens,
            schema=schemas.PAGE_QUERY,
            limit=limit,
            cursor=cursor,
        )

    def create_token(
        self,
        name: str,
        *,
        scope: str | None = None,
        expires_in_days: int | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /me/tokens``: the new token, with its secret as ``"token"``."""
        return self._call(
            credentials.issue_token,
            schema=schemas.NEW_TOKEN,
            name=name,
            scope=scope,
            expires_in_days=expires_in_days,
        )

    def token(self, token_id: int) -> dict[str, Any]:
        """Like ``GET /me/tokens/<id>``."""
        return self._call(credentials.get_token, _id(token_id, missing=TOKEN_NOT_FOUND))

    def revoke_token(self, token_id: int) -> None:
        """Like ``DELETE /me/tokens/<id>``: the token stops working at once."""
        self._call(credentials.revoke_token, _id(token_id, missing=TOKEN_NOT_FOUND))

    def organizations(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs``: a page of the user's organizations."""
        return self._call(
            services.list_organizations,
            schema=schemas.PAGE_QUERY,
            limit=limit,
            cursor=cursor,
        )

    def create_organization(self, slug: str, *, name: str) -> dict[str, Any]:
        """Like ``POST /orgs``: the user becomes the owner."""
        return self._call(
            services.create_organization,
            schema=schemas.NEW_ORGANIZATION,
            slug=slug,
            name=name,
        )

    def organization(self, slug: str) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>``."""
        return self._call(services.get_organization, slug)

    def members(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/members``."""
        return self._call(
            services.list_members,
            slug,
            schema=schemas.PAGE_QUERY,
            limit=limit,
            cursor=cursor,
        )

    def add_member(
        self, slug: str, user: str, *, role: str | None = None
    ) -> dict[str, str]:
        """Like ``POST /orgs/<slug>/members``; owners only."""

        def operation(caller: credentials.User, user: str, role: str) -> dict[str, str]:
            return services.add_member(caller, slug, user, role=role)

        return self._call(operation, schema=schemas.NEW_MEMBER, user=user, role=role)

    def remove_member(self, slug: str, user: str) -> None:
        """Like ``DELETE /orgs/<slug>/members/<user>``; owners only."""
        self._call(services.remove_member, slug, user)

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
            services.list_notes,
            slug,
            schema=schemas.NOTES_QUERY,
            limit=limit,
            cursor=cursor,
            tag=tag,
        )

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
            services.create_note,
            slug,
            schema=schemas.NEW_NOTE,
            title=title,
            body=body,
            tags=tags,
        )

    def note(self, slug: str, note_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/notes/<id>``."""
        return self._call(services.get_note, slug, _id(note_id, missing=NOTE_NOT_FOUND))

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

        def operation(caller: credentials.User) -> dict[str, Any]:
            clean = validate(schemas.NOTE_CHANGES, changes)
            return services.update_note(
                caller,
                slug,
                _id(note_id, missing=NOTE_NOT_FOUND),
                if_match=precondition,
                **clean,
            )

        return self._call(operation)

    def delete_note(
        self, slug: str, note_id: int, *, if_match: int | str | None = None
    ) -> None:
        """Like ``DELETE /orgs/<slug>/notes/<id>``; ``if_match`` as for updates."""
        self._call(
            services.delete_note,
            slug,
            _id(note_id, missing=NOTE_NOT_FOUND),
            if_match=_precondition(if_match),
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
