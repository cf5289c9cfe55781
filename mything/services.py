"""mything's operations, each implemented once for HTTP, Python and the CLI.

Blueprints call these functions after validating a request; the Python API
(:class:`~mything.thing.UserApi`) calls them after validating its arguments
with the same schemas. They work on the current app context's connection
(:func:`~mything.db.get_db`) and return JSON-ready values, so what Python
callers get equals what HTTP clients read.

Security rests on one rule: every organization-scoped query starts from
:data:`MEMBER_ORGANIZATIONS`, the fixed filter of the organizations a
user belongs to. A user who is not a member of an organization cannot tell
it from one that does not exist: both are the same 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import (
    ARRAY,
    Row,
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection
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
from .pagination import check_scope, end_page, keyset, load_page, page_parameters
from .schemas import SLUG, USER_NAME
from .tables import (
    MAX_ID,
    memberships,
    note_tags,
    notes,
    organizations,
    raw_timestamp,
    timestamp_formatter,
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
    rows = get_db().execute(_SLUGS, {"user_id": user.id})
    return {"name": user.name, "organizations": [slug for (slug,) in rows]}


# Organizations -------------------------------------------------------------

#: The one filter every organization-scoped operation goes through: the
#: organizations that the user ``:user_id`` belongs to, with its role in each.
#: Like every statement here, it is built once, with bound parameters, so
#: that SQLAlchemy compiles it once.
MEMBER_ORGANIZATIONS = (
    select(
        organizations.c.id,
        organizations.c.slug,
        organizations.c.name,
        organizations.c.created_at,
        memberships.c.role,
    )
    .join(memberships, memberships.c.org_id == organizations.c.id)
    .where(memberships.c.user_id == bindparam("user_id"))
)
_ORGANIZATION = MEMBER_ORGANIZATIONS.where(organizations.c.slug == bindparam("slug"))
_ORGANIZATIONS_PAGE = keyset(MEMBER_ORGANIZATIONS, organizations.c.slug)
_SLUGS = MEMBER_ORGANIZATIONS.with_only_columns(organizations.c.slug).order_by(
    organizations.c.slug
)
#: The id of the organization ``:slug`` if the user ``:user_id`` is a member:
#: the membership check inside the statements that read or write its notes.
_MEMBER_ORG_ID = _ORGANIZATION.with_only_columns(organizations.c.id).scalar_subquery()


def find_organization(user: User, slug: str) -> Row:
    """Return the organization ``slug`` if ``user`` is a member, else a 404."""
    _check_slug(slug)
    row = get_db().execute(_ORGANIZATION, {"user_id": user.id, "slug": slug}).first()
    if row is None:
        raise NotFound("Organization not found.")
    return row


def _check_slug(slug: str) -> None:
    if not is_valid(SLUG, slug):
        # No organization can have it; and PostgreSQL refuses some such
        # strings (a NUL) outright, which must not become a 500.
        raise NotFound("Organization not found.")


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
        _ORGANIZATIONS_PAGE,
        {"user_id": user.id},
        key="slug",
        scope=f"orgs:{user.id}",
        limit=limit,
        cursor=cursor,
        serialize=_organization,
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


_MEMBERS_PAGE = keyset(
    select(users.c.name, memberships.c.role)
    .join(memberships, memberships.c.user_id == users.c.id)
    .where(memberships.c.org_id == bindparam("org_id")),
    users.c.name,
)


def list_members(
    user: User, slug: str, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Return a page of an organization's members, by user name."""
    org = find_organization(user, slug)
    return load_page(
        _MEMBERS_PAGE,
        {"org_id": org.id},
        key="user",
        scope=f"members:{org.id}",
        limit=limit,
        cursor=cursor,
        serialize=lambda row: {"user": row.name, "role": row.role},
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


def _with_tags(found: Select) -> Select:
    """Return the notes that ``found`` selects, with their authors and tags.

    One statement brings a page's notes and their tags together: one row per
    tag (one for a note without tags), newest note first, its tags in order.
    """
    note = found.subquery("note")
    return (
        select(
            note.c.org_id,
            note.c.id,
            note.c.title,
            note.c.body,
            note.c.version,
            users.c.name,
            raw_timestamp(note.c.created_at),
            raw_timestamp(note.c.updated_at),
            note_tags.c.tag,
        )
        .join_from(note, users, users.c.id == note.c.author_id)
        .outerjoin(note_tags, note_tags.c.note_id == note.c.id)
        .order_by(note.c.id.desc(), note_tags.c.position)
    )


# The notes of the organization :slug, if the user :user_id is a member.
_MEMBER_NOTES = select(notes).where(notes.c.org_id == _MEMBER_ORG_ID)
_NOTE = _with_tags(_MEMBER_NOTES.where(notes.c.id == bindparam("note_id")))
_NOTES_PAGE = _with_tags(keyset(_MEMBER_NOTES, notes.c.id, descending=True))
_TAGGED_NOTES_PAGE = _with_tags(
    keyset(
        _MEMBER_NOTES.where(
            exists().where(
                note_tags.c.note_id == notes.c.id, note_tags.c.tag == bindparam("tag")
            )
        ),
        notes.c.id,
        descending=True,
    )
)


def _notes(
    statement: Select, parameters: dict[str, Any]
) -> tuple[int | None, list[dict[str, Any]]]:
    """Run a statement of :func:`_with_tags`; return the organization's id and notes.

    The id is ``None`` when no note was found.
    """
    db = get_db()
    text = timestamp_formatter(db.dialect)
    org_id = None
    found: dict[int, dict[str, Any]] = {}
    rows = db.execute(statement, parameters)
    for in_org, note_id, title, body, version, author, created, updated, tag in rows:
        note = found.get(note_id)
        if note is None:
            org_id = in_org
            note = found[note_id] = {
                "id": note_id,
                "title": title,
                "body": body,
                "tags": [],
                "author": author,
                "version": version,
                "created_at": text(created),
                "updated_at": text(updated),
            }
        if tag is not None:
            note["tags"].append(tag)
    return org_id, list(found.values())


def _find_note(user: User, slug: str, note_id: int) -> dict[str, Any]:
    # Ids are validated as positive integers; larger than any id, none exists.
    _check_slug(slug)
    if note_id <= MAX_ID:
        parameters = {"user_id": user.id, "slug": slug, "note_id": note_id}
        _, found = _notes(_NOTE, parameters)
        if found:
            return found[0]
    # Not found: the organization's 404 if the user is not a member.
    find_organization(user, slug)
    raise NotFound("Note not found.")


_DELETE_TAGS = delete(note_tags).where(note_tags.c.note_id == bindparam("note_id"))
_INSERT_TAGS = insert(note_tags)
#: A new note in the organization :slug, by the user :user_id, if a member:
#: the membership check and the insert in one statement.
_INSERT_MEMBER_NOTE = insert(notes).from_select(
    ["org_id", "author_id", "title", "body", "version", "created_at", "updated_at"],
    _ORGANIZATION.with_only_columns(
        organizations.c.id,
        memberships.c.user_id,
        bindparam("title", type_=notes.c.title.type),
        bindparam("body", type_=notes.c.body.type),
        literal(1, notes.c.version.type),
        bindparam("now", type_=notes.c.created_at.type),
        bindparam("now", type_=notes.c.updated_at.type),
    ),
)
_INSERT_MEMBER_NOTE_RETURNING = _INSERT_MEMBER_NOTE.returning(notes.c.id)


def _note_and_tags() -> Select[Any]:
    # The same insert, whose new id a second, data-modifying CTE gives each
    # tag of :tags (a PostgreSQL array, in order): the note and its tags in
    # one statement. The statement's result is the new note's id, if any.
    note = _INSERT_MEMBER_NOTE_RETURNING.cte("new_note")
    tags = (
        func.unnest(bindparam("tags", type_=ARRAY(note_tags.c.tag.type)))
        .table_valued("tag", with_ordinality="ordinal")
        .render_derived()
    )
    tag_rows = insert(note_tags).from_select(
        ["note_id", "tag", "position"],
        select(note.c.id, tags.c.tag, tags.c.ordinal - 1).join_from(note, tags, true()),
    )
    return select(note.c.id).add_cte(tag_rows.cte("new_tags"))


#: A new note and its tags in one statement, on PostgreSQL.
_INSERT_MEMBER_NOTE_AND_TAGS = _note_and_tags()


def _add_tags(note_id: int, tags: Sequence[str]) -> None:
    if tags:
        get_db().execute(
            _INSERT_TAGS,
            [
                {"note_id": note_id, "tag": tag, "position": position}
                for position, tag in enumerate(tags)
            ],
        )


def _replace_tags(note_id: int, tags: Sequence[str]) -> None:
    get_db().execute(_DELETE_TAGS, {"note_id": note_id})
    _add_tags(note_id, tags)


def list_notes(
    user: User,
    slug: str,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    """Return a page of an organization's notes, newest first, maybe by tag."""
    _check_slug(slug)
    try:
        size, bounds, cursor_scope = page_parameters(
            scope=None, limit=limit, cursor=cursor, descending=True
        )
    except ValidationError:
        # Not even a bad cursor tells a non-member that the organization exists.
        find_organization(user, slug)
        raise
    statement = _NOTES_PAGE if tag is None else _TAGGED_NOTES_PAGE
    parameters = {"user_id": user.id, "slug": slug, "tag": tag, **bounds}
    org_id, items = _notes(statement, parameters)
    if org_id is None:
        # An empty page, or no organization of the user's: which one?
        org_id = find_organization(user, slug).id
    # A cursor names its listing by the organization's id, as 0.1's did; the
    # notes of the page say which organization this is.
    scope = _notes_scope(org_id, tag)
    if cursor_scope is not None:
        check_scope(cursor_scope, scope)
    return end_page(items, size=size, key="id", scope=scope)


def _notes_scope(org_id: int | None, tag: str | None) -> str:
    return f"notes:{org_id}:{tag or ''}"


def create_note(
    user: User,
    slug: str,
    *,
    title: str,
    body: str = "",
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """Create a note in one of the user's organizations and return it."""
    _check_slug(slug)
    db = get_db()
    now = utcnow()
    parameters = {
        "user_id": user.id,
        "slug": slug,
        "title": title,
        "body": body,
        "now": now,
    }
    note_id = _insert_note(db, parameters, tags)
    if note_id is None:
        # Nothing inserted: the user is not a member, or there is no such
        # organization, and the two look the same.
        raise NotFound("Organization not found.")
    note = {"title": title, "body": body, "version": 1}
    # Every field is known: the note is what was written, read back by no one.
    created = isoformat(now)
    return {
        "id": note_id,
        **note,
        "tags": list(tags),
        "author": user.name,
        "created_at": created,
        "updated_at": created,
    }


def _insert_note(
    db: Connection, parameters: dict[str, Any], tags: Sequence[str]
) -> int | None:
    """Insert a note and its tags; return its id, or ``None`` for a non-member."""
    if db.dialect.name == "postgresql":
        # One statement instead of two: the tags' executemany, which psycopg
        # sends as a pipeline, costs more than the rest of the insert.
        with_tags = {**parameters, "tags": list(tags)}
        return db.execute(_INSERT_MEMBER_NOTE_AND_TAGS, with_tags).scalar()
    note_id: int | None
    if db.dialect.insert_returning:
        note_id = db.execute(_INSERT_MEMBER_NOTE_RETURNING, parameters).scalar()
    else:
        # MySQL has no RETURNING; the driver knows the new row's id.
        result = db.execute(_INSERT_MEMBER_NOTE, parameters)
        note_id = result.lastrowid if result.rowcount else None
    if note_id is not None:
        _add_tags(note_id, tags)
    return note_id


def get_note(user: User, slug: str, note_id: int) -> dict[str, Any]:
    """Return one note of one of the user's organizations."""
    return _find_note(user, slug, note_id)


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
    current = _find_note(user, slug, note_id)
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
        user,
        slug,
        note_id,
        if_match,
    )
    if "tags" in changed:
        _replace_tags(note_id, changed["tags"])
    return _find_note(user, slug, note_id)


def delete_note(
    user: User, slug: str, note_id: int, *, if_match: Precondition | None = None
) -> None:
    """Delete a note of one of the user's organizations.

    With ``if_match``, only if its version is one that ``if_match`` allows.
    """
    _find_note(user, slug, note_id)
    _require_precondition(if_match)
    _write_note(delete(notes), user, slug, note_id, if_match)


def _require_precondition(if_match: Precondition | None) -> None:
    if if_match is None and current_app.config["REQUIRE_IF_MATCH"]:
        raise PreconditionRequired()


def _write_note(
    statement: Any,
    user: User,
    slug: str,
    note_id: int,
    if_match: Precondition | None,
) -> None:
    """Run an UPDATE or DELETE of one note, if its version is one ``if_match`` allows.

    The version is part of the statement's WHERE clause, and no row
    affected means the version did not match: the check and the write are
    one atomic step on every database. (The affected row count works
    everywhere; UPDATE ... RETURNING does not exist on MariaDB.)
    """
    statement = statement.where(notes.c.id == note_id, notes.c.org_id == _MEMBER_ORG_ID)
    if if_match is not None and not if_match.any:
        statement = statement.where(notes.c.version.in_(sorted(if_match.versions)))
    parameters = {"user_id": user.id, "slug": slug}
    if get_db().execute(statement, parameters).rowcount == 0:
        # Deleted meanwhile by a request that committed first: a 404 then,
        # as if this one had come a moment later.
        _find_note(user, slug, note_id)
        raise PreconditionFailed()
