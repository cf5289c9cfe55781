"""``/orgs/<slug>/notes``: an organization's notes.

A note's answers carry its ``ETag``; reads honour ``If-None-Match`` and
writes ``If-Match`` (see :mod:`mything.conditional`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from ..auth import authenticated
from ..conditional import Precondition, conditional_read, conditional_write, etag_of
from ..endpoints import returns
from ..idempotency import idempotent
from ..operations import notes
from ..operations.users import User
from ..results import ApiResult
from ..schemas import NEW_NOTE, NOTE, NOTE_CHANGES, NOTES_QUERY, page_of
from ..validation import argsschema, dataschema

blueprint = Blueprint("notes", __name__)


@blueprint.get("/orgs/<slug>/notes")
@authenticated
@argsschema(NOTES_QUERY)
@returns(page_of(NOTE))
def list_notes(caller: User, slug: str, **query: Any) -> ApiResult:
    """List an organization's notes, newest first, optionally with one tag."""
    result = notes.list_notes(caller, slug, **query)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/orgs/<slug>/notes")
@authenticated
@idempotent
@dataschema(NEW_NOTE)
@returns(NOTE, 201, headers=["ETag"])
def create_note(caller: User, slug: str, **fields: Any) -> ApiResult:
    """Create a note."""
    note = notes.create_note(caller, slug, **fields)
    location = url_for(".get_note", slug=slug, note_id=note["id"], _external=True)
    return ApiResult(note, 201, headers={"Location": location, "ETag": etag_of(note)})


@blueprint.get("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@conditional_read
@returns(NOTE, headers=["ETag"])
def get_note(caller: User, slug: str, note_id: int) -> ApiResult:
    """Show a note; 304 when If-None-Match names its current ETag."""
    return ApiResult(notes.get_note(caller, slug, note_id))


@blueprint.patch("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@conditional_write("note_id")
@dataschema(NOTE_CHANGES)
@returns(NOTE, headers=["ETag"])
def update_note(
    caller: User,
    slug: str,
    note_id: int,
    if_match: Precondition | None,
    **changes: Any,
) -> ApiResult:
    """Change some fields of a note; 412 when If-Match names an older version."""
    note = notes.update_note(caller, slug, note_id, if_match=if_match, **changes)
    return ApiResult(note)


@blueprint.delete("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@conditional_write("note_id")
@returns(None, 204)
def delete_note(
    caller: User, slug: str, note_id: int, if_match: Precondition | None
) -> ApiResult:
    """Delete a note; 412 when If-Match names an older version."""
    notes.delete_note(caller, slug, note_id, if_match=if_match)
    return ApiResult(None, 204)
