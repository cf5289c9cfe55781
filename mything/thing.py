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
from .db import commit_db, get_database
from .errors import Unauthorized
from .validation import validate, without_none

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

T = TypeVar("T")


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

    def _run(self, operation: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call ``operation`` in an app context and commit if it succeeds."""
        with self.flask_app.app_context():
            result = operation(*args, **kwargs)
            commit_db()
            return result

    def init_db(self) -> None:
        """Bring the database schema to the newest revision; safe to call again."""
        get_database(self.flask_app).upgrade()

    def add_numbers(self, a: int, b: int) -> dict[str, int]:
        """Return ``{"sum": a + b}``, like ``POST /add``."""
        clean = validate(schemas.ADD_BODY, {"a": a, "b": b})
        return services.add_numbers(**clean)

    def create_user(self, name: str) -> dict[str, str]:
        """Create a user (an administrative operation: no caller is checked)."""
        clean = validate(schemas.NEW_USER, {"name": name})
        return self._run(services.create_user, clean["name"])

    def create_token(
        self,
        name: str,
        *,
        label: str | None = None,
        scope: str = "write",
        expires_in_days: int | None = None,
    ) -> str:
        """Issue a token for the user ``name`` and return its secret, shown only once.

        ``label`` names the token (default ``"unnamed"``); ``scope`` is
        ``"read"`` or ``"write"``; it expires after ``expires_in_days``
        (default ``TOKEN_DEFAULT_DAYS``).
        """
        data = without_none(
            [
                ("name", "unnamed" if label is None else label),
                ("scope", scope),
                ("expires_in_days", expires_in_days),
            ]
        )

        def operation() -> str:
            clean = validate(schemas.NEW_TOKEN, data)
            return credentials.create_token(name, label=clean.pop("name"), **clean)

        return self._run(operation)

    def as_user(self, name: str) -> UserApi:
        """Return the HTTP API as Python calls, made by the user ``name``."""
        return UserApi(self, name)


class UserApi:
    """The operations of the HTTP API, called from Python as one user.

    Arguments are validated by the same schemas as HTTP requests, results
    equal the HTTP response bodies, and failures raise
    :class:`~mything.errors.ApiException` with the HTTP status.
    """

    def __init__(self, thing: MyThing, name: str) -> None:
        self.thing = thing
        self.name = name

    def __repr__(self) -> str:
        return f"<UserApi {self.name!r}>"

    def _as_caller(self, operation: Callable[[services.User], T]) -> T:
        """Run ``operation(user)`` for this API's user, in a transaction."""

        def call() -> T:
            user = services.find_user(self.name)
            if user is None:
                raise Unauthorized(f"There is no user {self.name!r}.")
            return operation(user)

        return self.thing._run(call)

    def me(self) -> dict[str, Any]:
        """Like ``GET /me``."""
        return self._as_caller(services.describe_user)

    def tokens(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /me/tokens``: a page of the user's tokens, newest first."""
        args = without_none([("limit", limit), ("cursor", cursor)])

        def operation(caller: services.User) -> dict[str, Any]:
            return credentials.list_tokens(caller, **validate(schemas.PAGE_QUERY, args))

        return self._as_caller(operation)

    def create_token(
        self,
        name: str,
        *,
        scope: str = "write",
        expires_in_days: int | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /me/tokens``: the new token, with its secret as ``"token"``."""
        data = without_none(
            [("name", name), ("scope", scope), ("expires_in_days", expires_in_days)]
        )

        def operation(caller: services.User) -> dict[str, Any]:
            clean = validate(schemas.NEW_TOKEN, data)
            return credentials.issue_token(caller, **clean)

        return self._as_caller(operation)

    def token(self, token_id: int) -> dict[str, Any]:
        """Like ``GET /me/tokens/<id>``."""
        return self._as_caller(lambda caller: credentials.get_token(caller, token_id))

    def revoke_token(self, token_id: int) -> None:
        """Like ``DELETE /me/tokens/<id>``: the token stops working at once."""
        self._as_caller(lambda caller: credentials.revoke_token(caller, token_id))

    def organizations(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs``: a page of the user's organizations."""
        args = without_none([("limit", limit), ("cursor", cursor)])

        def operation(caller: services.User) -> dict[str, Any]:
            return services.list_organizations(
                caller, **validate(schemas.PAGE_QUERY, args)
            )

        return self._as_caller(operation)

    def create_organization(self, slug: str, *, name: str) -> dict[str, Any]:
        """Like ``POST /orgs``: the user becomes the owner."""

        def operation(caller: services.User) -> dict[str, Any]:
            clean = validate(schemas.NEW_ORGANIZATION, {"slug": slug, "name": name})
            return services.create_organization(caller, **clean)

        return self._as_caller(operation)

    def organization(self, slug: str) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>``."""
        return self._as_caller(lambda caller: services.get_organization(caller, slug))

    def members(
        self, slug: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/members``."""
        args = without_none([("limit", limit), ("cursor", cursor)])

        def operation(caller: services.User) -> dict[str, Any]:
            return services.list_members(
                caller, slug, **validate(schemas.PAGE_QUERY, args)
            )

        return self._as_caller(operation)

    def add_member(
        self, slug: str, user: str, *, role: str = "member"
    ) -> dict[str, str]:
        """Like ``POST /orgs/<slug>/members``; owners only."""

        def operation(caller: services.User) -> dict[str, str]:
            clean = validate(schemas.NEW_MEMBER, {"user": user, "role": role})
            return services.add_member(caller, slug, clean["user"], role=clean["role"])

        return self._as_caller(operation)

    def remove_member(self, slug: str, user: str) -> None:
        """Like ``DELETE /orgs/<slug>/members/<user>``; owners only."""
        self._as_caller(lambda caller: services.remove_member(caller, slug, user))

    def notes(
        self,
        slug: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/notes``: a page of notes, newest first."""
        args = without_none([("limit", limit), ("cursor", cursor), ("tag", tag)])

        def operation(caller: services.User) -> dict[str, Any]:
            return services.list_notes(
                caller, slug, **validate(schemas.NOTES_QUERY, args)
            )

        return self._as_caller(operation)

    def create_note(
        self,
        slug: str,
        *,
        title: str,
        body: str | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        """Like ``POST /orgs/<slug>/notes``."""
        data = without_none([("title", title), ("body", body), ("tags", tags)])

        def operation(caller: services.User) -> dict[str, Any]:
            return services.create_note(
                caller, slug, **validate(schemas.NEW_NOTE, data)
            )

        return self._as_caller(operation)

    def note(self, slug: str, note_id: int) -> dict[str, Any]:
        """Like ``GET /orgs/<slug>/notes/<id>``."""
        return self._as_caller(lambda caller: services.get_note(caller, slug, note_id))

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

        def operation(caller: services.User) -> dict[str, Any]:
            clean = validate(schemas.NOTE_CHANGES, changes)
            return services.update_note(
                caller, slug, note_id, if_match=precondition, **clean
            )

        return self._as_caller(operation)

    def delete_note(
        self, slug: str, note_id: int, *, if_match: int | str | None = None
    ) -> None:
        """Like ``DELETE /orgs/<slug>/notes/<id>``; ``if_match`` as for updates."""
        precondition = _precondition(if_match)
        self._as_caller(
            lambda caller: services.delete_note(
                caller, slug, note_id, if_match=precondition
            )
        )


def _precondition(if_match: int | str | None) -> Precondition | None:
    """Return the precondition of a Python ``if_match``: a version, or ``"*"``."""
    if if_match is None:
        return None
    if if_match == "*":
        return Precondition(any=True)
    version = validate(schemas.IF_MATCH, {"if_match": if_match})["if_match"]
    return Precondition(frozenset({version}))
