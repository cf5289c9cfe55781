"""An organization's notes: the example of speed.

Notes are what clients read and write most, so this module carries the
measured tricks of the operations, each marked ``# PERF:`` with the finding
in ``benchmarks/findings.md`` that pays for it: statements built once, a
page and its tags in one statement, the membership check inside the
statement that writes, and PostgreSQL's note-and-tags insert. For a new
resource, start from :mod:`~mything.operations.organizations` instead, and
add a trick here only with a measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
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

from ..conditional import Precondition
from ..config import settings
from ..db import DriverStatement, get_db
from ..encoding import isoformat
from ..errors import (
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationError,
)
from ..pagination import check_scope, end_page, keyset, page_parameters
from ..tables import (
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
from .events import Chain, record_event
from .organizations import find_organization
from .tenancy import MEMBER_ORGANIZATION, MEMBER_ORGANIZATION_ID, check_slug
from .users import User

NOTE_NOT_FOUND = "Note not found."


def note_json(
    note_id: int,
    *,
    title: str,
    body: str,
    tags: list[str],
    author: str,
    version: int,
    created_at: str,
    updated_at: str,
) -> dict[str, Any]:
    """Return a note as the API shows it: the one place its shape is written."""
    return {
        "id": note_id,
        "title": title,
        "body": body,
        "tags": tags,
        "author": author,
        "version": version,
        "created_at": created_at,
        "updated_at": updated_at,
    }


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


# PERF: every statement here is built once, at import, with bound parameters
# (benchmarks/findings.md#statements-built-once).

#: The notes of the organization :slug, if the user :user_id is a member.
_MEMBER_NOTES = select(notes).where(notes.c.org_id == MEMBER_ORGANIZATION_ID)
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
    # PERF: timestamps are formatted from the driver's raw value, once per
    # note (benchmarks/findings.md#timestamps-from-the-driver).
    text = timestamp_formatter(db.dialect)
    org_id = None
    found: dict[int, dict[str, Any]] = {}
    rows = db.execute(statement, parameters)
    for in_org, note_id, title, body, version, author, created, updated, tag in rows:
        note = found.get(note_id)
        if note is None:
            org_id = in_org
            note = found[note_id] = note_json(
                note_id,
                title=title,
                body=body,
                tags=[],
                author=author,
                version=version,
                created_at=text(created),
                updated_at=text(updated),
            )
        if tag is not None:
            note["tags"].append(tag)
    return org_id, list(found.values())


def _find_note(user: User, slug: str, note_id: int) -> dict[str, Any]:
    return _find_note_in_org(user, slug, note_id)[1]


def _find_note_in_org(
    user: User, slug: str, note_id: int
) -> tuple[int, dict[str, Any]]:
    """Return the id of the note's organization, and the note."""
    # Ids are validated as positive integers; larger than any id, none exists.
    check_slug(slug)
    if note_id <= MAX_ID:
        parameters = {"user_id": user.id, "slug": slug, "note_id": note_id}
        org_id, found = _notes(_NOTE, parameters)
        if org_id is not None:
            return org_id, found[0]
    # Not found: the organization's 404 if the user is not a member.
    find_organization(user, slug)
    raise NotFound(NOTE_NOT_FOUND)


_DELETE_TAGS = delete(note_tags).where(note_tags.c.note_id == bindparam("note_id"))
# PERF: benchmarks/findings.md#statements-on-the-driver. A new note's statements
# run on the driver, as the ledger's do (DriverStatement).
_INSERT_TAGS = DriverStatement(insert(note_tags))
#: A new note in the organization :slug, by the user :user_id, if a member:
#: the membership check and the insert in one statement.
_INSERT_MEMBER_NOTE = insert(notes).from_select(
    ["org_id", "author_id", "title", "body", "version", "created_at", "updated_at"],
    MEMBER_ORGANIZATION.with_only_columns(
        organizations.c.id,
        memberships.c.user_id,
        bindparam("title", type_=notes.c.title.type),
        bindparam("body", type_=notes.c.body.type),
        literal(1, notes.c.version.type),
        bindparam("now", type_=notes.c.created_at.type),
        bindparam("now", type_=notes.c.updated_at.type),
    ),
)
_INSERT_MEMBER_NOTE_RETURNING = _INSERT_MEMBER_NOTE.returning(
    notes.c.id, notes.c.org_id
)
_INSERT_MEMBER_NOTE_ON_DRIVER = DriverStatement(_INSERT_MEMBER_NOTE_RETURNING)


def _note_and_tags() -> Select[Any]:
    # The same insert, whose new id a second, data-modifying CTE gives each
    # tag of :tags (a PostgreSQL array, in order): the note and its tags in
    # one statement. Its result is the new note's id and organization's, if any.
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
    return select(note.c.id, note.c.org_id).add_cte(tag_rows.cte("new_tags"))


#: A new note and its tags in one statement, on PostgreSQL.
_INSERT_MEMBER_NOTE_AND_TAGS = DriverStatement(_note_and_tags())


def _add_tags(note_id: int, tags: Sequence[str]) -> None:
    if tags:
        _INSERT_TAGS.execute(
            get_db(),
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
    check_slug(slug)
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
    check_slug(slug)
    db = get_db()
    now = utcnow()
    parameters = {
        "user_id": user.id,
        "slug": slug,
        "title": title,
        "body": body,
        "now": now,
    }
    inserted = _insert_note(db, parameters, tags)
    if inserted is None:
        # Nothing inserted: the user is not a member, or there is no such
        # organization, and the two look the same.
        raise NotFound("Organization not found.")
    note_id, org_id = inserted
    # Every field is known: the note is what was written, read back by no one.
    created = isoformat(now)
    note = note_json(
        note_id,
        title=title,
        body=body,
        tags=list(tags),
        author=user.name,
        version=1,
        created_at=created,
        updated_at=created,
    )
    record_event(
        "note.created", note, chain=Chain(org_id), organization=slug, actor=user
    )
    return note


_ORGANIZATION_ID = select(organizations.c.id).where(
    organizations.c.slug == bindparam("slug")
)


def _insert_note(
    db: Connection, parameters: dict[str, Any], tags: Sequence[str]
) -> tuple[int, int] | None:
    """Insert a note and its tags; return its id and its organization's.

    ``None`` for a non-member.
    """
    if db.dialect.name == "postgresql":
        # PERF: benchmarks/findings.md#note-with-tags. One statement instead
        # of two: the tags' executemany, which psycopg sends as a pipeline,
        # costs more than the rest of the insert.
        with_tags = {**parameters, "tags": list(tags)}
        row = _INSERT_MEMBER_NOTE_AND_TAGS.first(db, with_tags)
        return None if row is None else (row[0], row[1])
    if db.dialect.insert_returning:
        row = _INSERT_MEMBER_NOTE_ON_DRIVER.first(db, parameters)
        inserted = None if row is None else (row[0], row[1])
    else:
        # MySQL has no RETURNING; the driver knows the new row's id.
        result = db.execute(_INSERT_MEMBER_NOTE, parameters)
        inserted = None
        if result.rowcount:
            org_id = db.execute(_ORGANIZATION_ID, parameters).scalar_one()
            inserted = (result.lastrowid, org_id)
    if inserted is not None:
        _add_tags(inserted[0], tags)
    return inserted


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
    org_id, current = _find_note_in_org(user, slug, note_id)
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
    note = _find_note(user, slug, note_id)
    record_event(
        "note.updated",
        note,
        chain=Chain(org_id),
        organization=slug,
        actor=user,
        changes={key: {"from": current[key], "to": note[key]} for key in changed},
    )
    return note


def delete_note(
    user: User, slug: str, note_id: int, *, if_match: Precondition | None = None
) -> None:
    """Delete a note of one of the user's organizations.

    With ``if_match``, only if its version is one that ``if_match`` allows.
    """
    org_id, note = _find_note_in_org(user, slug, note_id)
    _require_precondition(if_match)
    _write_note(delete(notes), user, slug, note_id, if_match)
    record_event(
        "note.deleted", note, chain=Chain(org_id), organization=slug, actor=user
    )


def _require_precondition(if_match: Precondition | None) -> None:
    if if_match is None and settings().require_if_match:
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
    statement = statement.where(
        notes.c.id == note_id, notes.c.org_id == MEMBER_ORGANIZATION_ID
    )
    if if_match is not None and not if_match.any:
        statement = statement.where(notes.c.version.in_(sorted(if_match.versions)))
    parameters = {"user_id": user.id, "slug": slug}
    if get_db().execute(statement, parameters).rowcount == 0:
        # Deleted meanwhile by a request that committed first: a 404 then,
        # as if this one had come a moment later.
        _find_note(user, slug, note_id)
        raise PreconditionFailed()
