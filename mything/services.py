"""mything's operations, each implemented once for HTTP, Python and the CLI.

Blueprints call these functions after validating a request; the Python API
(:class:`~mything.thing.UserApi`) calls them after validating its arguments
with the same schemas. They work on the current app context's connection
(:func:`~mything.db.get_db`) and return JSON-ready values, so what Python
callers get equals what HTTP clients read.

Security rests on one rule: every organization-scoped query starts from
:func:`get_available_organizations`, the fixed filter of the organizations a
user belongs to. A user who is not a member of an organization cannot tell
it from one that does not exist: both are the same 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from .conditional import Precondition
from .credentials import User, find_user
from .db import get_db, inserted_id, writing
from .encoding import isoformat
from .errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationError,
)
from .pagination import load_page
from .schemas import SLUG, USER_NAME
from .tables import (
    MAX_ID,
    memberships,
    note_tags,
    notes,
    organizations,
    users,
    utcnow,
)
from .validators import is_valid


def add_numbers(a: int, b: int) -> dict[str, int]:
    """Add two integers: the demo operation of ``/add``."""
    return {"sum": a + b}


# Users -----------------------------------------------------------------------


def create_user(name: str) -> dict[str, str]:
    """Create the user ``name``; a name that is taken is a 409."""
    try:
        with get_db().begin_nested():
            get_db().execute(insert(users).values(name=name, created_at=utcnow()))
    except IntegrityError:
        raise Conflict(f"The user {name!r} already exists.") from None
    return {"name": name}


def ensure_user(name: str) -> User:
    """Return the user ``name``, creating it first if it is new.

    Used for users that a host authenticated itself (``REMOTE_USER``). Two
    first requests by a new user may arrive at once; both get the user.
    """
    user = find_user(name)
    if user is not None:
        return user
    # A GET writes the new user in a transaction of its own (see writing),
    # and so must read it back there too.
    with writing() as connection:
        found = connection.execute(select(users.c.id).where(users.c.name == name))
        user_id = found.scalar()
        if user_id is None:
            try:
                with connection.begin_nested():
                    user_id = inserted_id(
                        connection.execute(
                            insert(users).values(name=name, created_at=utcnow())
                        )
                    )
            except IntegrityError:
                # Created meanwhile by a concurrent request: read it.
                user_id = connection.execute(
                    select(users.c.id).where(users.c.name == name)
                ).scalar_one()
    return User(user_id, name)


def describe_user(user: User) -> dict[str, Any]:
    """Return ``/me``: the user's name and the slugs of its organizations."""
    query = get_available_organizations(user).order_by(organizations.c.slug)
    slugs = [row.slug for row in get_db().execute(query)]
    return {"name": user.name, "organizations": slugs}


# Organizations -------------------------------------------------------------


def get_available_organizations(user: User) -> Select:
    """Return the query of the organizations ``user`` belongs to, with its role.

    This is the one filter every organization-scoped operation goes through.
    """
    return (
        select(
            organizations.c.id,
            organizations.c.slug,
            organizations.c.name,
            organizations.c.created_at,
            memberships.c.role,
        )
        .join(memberships, memberships.c.org_id == organizations.c.id)
        .where(memberships.c.user_id == user.id)
    )


def find_organization(user: User, slug: str) -> Row:
    """Return the organization ``slug`` if ``user`` is a member, else a 404."""
    if not is_valid(SLUG, slug):
        # No organization can have it; and PostgreSQL refuses some such
        # strings (a NUL) outright, which must not become a 500.
        raise NotFound("Organization not found.")
    query = get_available_organizations(user).where(organizations.c.slug == slug)
    row = get_db().execute(query).first()
    if row is None:
        raise NotFound("Organization not found.")
    return row


def _organization(row: Row) -> dict[str, Any]:
    return {
        "slug": row.slug,
        "name": row.name,
        "role": row.role,
        "created_at": isoformat(row.created_at),
    }


def list_organizations(
    user: User, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of the user's organizations, by slug."""
    return load_page(
        get_available_organizations(user),
        key=organizations.c.slug,
        scope=f"orgs:{user.id}",
        limit=limit,
        cursor=cursor,
        serialize=lambda rows: [_organization(row) for row in rows],
    )


def create_organization(user: User, slug: str, *, name: str) -> dict[str, Any]:
    """Create an organization with ``user`` as its owner; a taken slug is a 409."""
    db = get_db()
    now = utcnow()
    try:
        with db.begin_nested():
            org_id = inserted_id(
                db.execute(
                    insert(organizations).values(slug=slug, name=name, created_at=now)
                )
            )
    except IntegrityError:
        raise Conflict(f"The slug {slug!r} is taken.") from None
    db.execute(
        insert(memberships).values(
            org_id=org_id, user_id=user.id, role="owner", created_at=now
        )
    )
    return _organization(find_organization(user, slug))


def get_organization(user: User, slug: str) -> dict[str, Any]:
    """Return one of the user's organizations."""
    return _organization(find_organization(user, slug))


# Members -------------------------------------------------------------------


def _require_owner(org: Row) -> None:
    if org.role != "owner":
        raise Forbidden("Only an owner of the organization can manage its members.")


def list_members(
    user: User, slug: str, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of an organization's members, by user name."""
    org = find_organization(user, slug)
    query = (
        select(users.c.name, memberships.c.role)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.org_id == org.id)
    )
    return load_page(
        query,
        key=users.c.name,
        scope=f"members:{org.id}",
        limit=limit,
        cursor=cursor,
        serialize=lambda rows: [{"user": row.name, "role": row.role} for row in rows],
    )


def add_member(user: User, slug: str, member: str, *, role: str) -> dict[str, str]:
    """Add the user ``member`` to an organization; owners only."""
    org = find_organization(user, slug)
    _require_owner(org)
    new_member = find_user(member)
    if new_member is None:
        raise ValidationError(
            errors=[{"path": "user", "message": f"there is no user {member!r}"}]
        )
    try:
        with get_db().begin_nested():
            get_db().execute(
                insert(memberships).values(
                    org_id=org.id, user_id=new_member.id, role=role, created_at=utcnow()
                )
            )
    except IntegrityError:
        raise Conflict(f"{member!r} is already a member.") from None
    return {"user": member, "role": role}


def remove_member(user: User, slug: str, member: str) -> None:
    """Remove ``member`` from an organization; owners only, never the last owner."""
    db = get_db()
    org = find_organization(user, slug)
    _require_owner(org)
    if not is_valid(USER_NAME, member):
        raise NotFound(f"{member!r} is not a member.")
    target = db.execute(
        select(memberships.c.user_id, memberships.c.role)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org.id, users.c.name == member)
    ).first()
    if target is None:
        raise NotFound(f"{member!r} is not a member.")
    if target.role == "owner":
        # Locking the owners makes two owners who remove each other at the
        # same moment take turns; otherwise both would count two owners and
        # the organization would be left with none. (SQLite needs no lock:
        # its write transactions already take turns.)
        owners = db.execute(
            select(memberships.c.user_id)
            .where(memberships.c.org_id == org.id, memberships.c.role == "owner")
            .with_for_update()
        ).all()
        if len(owners) <= 1:
            raise Conflict("The last owner of an organization cannot be removed.")
    db.execute(
        delete(memberships).where(
            memberships.c.org_id == org.id, memberships.c.user_id == target.user_id
        )
    )


# Notes ---------------------------------------------------------------------


def _note_query() -> Select:
    return select(
        notes.c.id,
        notes.c.title,
        notes.c.body,
        notes.c.version,
        users.c.name.label("author"),
        notes.c.created_at,
        notes.c.updated_at,
    ).join(users, users.c.id == notes.c.author_id)


def _serialize_notes(rows: Sequence[Row]) -> list[dict[str, Any]]:
    tags: dict[int, list[str]] = {row.id: [] for row in rows}
    if tags:
        tag_rows = get_db().execute(
            select(note_tags.c.note_id, note_tags.c.tag)
            .where(note_tags.c.note_id.in_(list(tags)))
            .order_by(note_tags.c.note_id, note_tags.c.position)
        )
        for note_id, tag in tag_rows:
            tags[note_id].append(tag)
    return [
        {
            "id": row.id,
            "title": row.title,
            "body": row.body,
            "tags": tags[row.id],
            "author": row.author,
            "version": row.version,
            "created_at": isoformat(row.created_at),
            "updated_at": isoformat(row.updated_at),
        }
        for row in rows
    ]


def _find_note(org: Row, note_id: int) -> Row:
    # Ids are validated as positive integers; larger than any id, none exists.
    if note_id > MAX_ID:
        raise NotFound("Note not found.")
    query = _note_query().where(notes.c.org_id == org.id, notes.c.id == note_id)
    row = get_db().execute(query).first()
    if row is None:
        raise NotFound("Note not found.")
    return row


def _write_tags(note_id: int, tags: list[str]) -> None:
    db = get_db()
    db.execute(delete(note_tags).where(note_tags.c.note_id == note_id))
    if tags:
        db.execute(
            insert(note_tags),
            [
                {"note_id": note_id, "tag": tag, "position": position}
                for position, tag in enumerate(tags)
            ],
        )


def list_notes(
    user: User,
    slug: str,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    """Return a page of an organization's notes, newest first, maybe by tag."""
    org = find_organization(user, slug)
    query = _note_query().where(notes.c.org_id == org.id)
    if tag is not None:
        query = query.where(
            exists().where(note_tags.c.note_id == notes.c.id, note_tags.c.tag == tag)
        )
    return load_page(
        query,
        key=notes.c.id,
        descending=True,
        scope=f"notes:{org.id}:{tag or ''}",
        limit=limit,
        cursor=cursor,
        serialize=_serialize_notes,
    )


def create_note(
    user: User,
    slug: str,
    *,
    title: str,
    body: str = "",
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """Create a note in one of the user's organizations and return it."""
    org = find_organization(user, slug)
    now = utcnow()
    note_id = inserted_id(
        get_db().execute(
            insert(notes).values(
                org_id=org.id,
                author_id=user.id,
                title=title,
                body=body,
                created_at=now,
                updated_at=now,
            )
        )
    )
    _write_tags(note_id, list(tags))
    return _serialize_notes([_find_note(org, note_id)])[0]


def get_note(user: User, slug: str, note_id: int) -> dict[str, Any]:
    """Return one note of one of the user's organizations."""
    org = find_organization(user, slug)
    return _serialize_notes([_find_note(org, note_id)])[0]


def update_note(
    user: User,
    slug: str,
    note_id: int,
    *,
    if_match: Precondition | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """Change some of a note's title, body and tags; return the note.

    A change makes a new version. With ``if_match``, the note is changed
    only if its version is one that ``if_match`` allows (else a 412); the
    version is checked by the statement that writes, so of two writers who
    read the same version, exactly one succeeds.
    """
    org = find_organization(user, slug)
    current = _serialize_notes([_find_note(org, note_id)])[0]
    _require_precondition(if_match)
    changed = {key: value for key, value in changes.items() if current[key] != value}
    if not changed:
        # Nothing to write, so nothing to lose: the note stays as it is.
        if if_match is not None and not if_match.allows(current["version"]):
            raise PreconditionFailed()
        return current
    fields = {key: value for key, value in changed.items() if key != "tags"}
    _write_note(
        update(notes).values(
            **fields, version=notes.c.version + 1, updated_at=utcnow()
        ),
        org,
        note_id,
        if_match,
    )
    if "tags" in changed:
        _write_tags(note_id, list(changed["tags"]))
    return _serialize_notes([_find_note(org, note_id)])[0]


def delete_note(
    user: User, slug: str, note_id: int, *, if_match: Precondition | None = None
) -> None:
    """Delete a note of one of the user's organizations.

    With ``if_match``, only if its version is one that ``if_match`` allows.
    """
    org = find_organization(user, slug)
    _find_note(org, note_id)
    _require_precondition(if_match)
    _write_note(delete(notes), org, note_id, if_match)


def _require_precondition(if_match: Precondition | None) -> None:
    if if_match is None and current_app.config["REQUIRE_IF_MATCH"]:
        raise PreconditionRequired()


def _write_note(
    statement: Any, org: Row, note_id: int, if_match: Precondition | None
) -> None:
    """Run an UPDATE or DELETE of one note, if its version is one ``if_match`` allows.

    The version is part of the statement's WHERE clause, and no row
    affected means the version did not match: the check and the write are
    one atomic step on every database. (The affected row count works
    everywhere; UPDATE ... RETURNING does not exist on MariaDB.)
    """
    statement = statement.where(notes.c.id == note_id, notes.c.org_id == org.id)
    if if_match is not None and not if_match.any:
        statement = statement.where(notes.c.version.in_(sorted(if_match.versions)))
    if get_db().execute(statement).rowcount == 0:
        # Deleted meanwhile by a request that committed first: a 404 then,
        # as if this one had come a moment later.
        _find_note(org, note_id)
        raise PreconditionFailed()
