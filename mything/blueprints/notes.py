"""``/orgs/<slug>/notes``: an organization's notes.

A note's answers carry its ``ETag``; reads honour ``If-None-Match`` and
writes ``If-Match`` (see :mod:`mything.conditional`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from .. import services
from ..auth import authenticated
from ..conditional import Precondition, conditional_read, conditional_write, note_etag
from ..credentials import User
from ..endpoints import returns
from ..idempotency import idempotent
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
    result = services.list_notes(caller, slug, **query)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/orgs/<slug>/notes")
@authenticated
@idempotent
@dataschema(NEW_NOTE)
@returns(NOTE, 201, headers=["ETag"])
def create_note(caller: User, slug: str, **fields: Any) -> ApiResult:
    """Create a note."""
    note = services.create_note(caller, slug, **fields)
    location = url_for(".get_note", slug=slug, note_id=note["id"], _external=True)
    return ApiResult(note, 201, headers={"Location": location, "ETag": note_etag(note)})


@blueprint.get("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@conditional_read
@returns(NOTE, headers=["ETag"])
def get_note(caller: User, slug: str, note_id: int) -> ApiResult:
    """Show a note; 304 when If-None-Match names its current ETag."""
    return ApiResult(services.get_note(caller, slug, note_id))


@blueprint.patch("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@conditional_write
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
    note = services.update_note(caller, slug, note_id, if_match=if_match, **changes)
    return ApiResult(note)


@blueprint.delete("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@conditional_write
@returns(None, 204)
def delete_note(
    caller: User, slug: str, note_id: int, if_match: Precondition | None
) -> ApiResult:
    """Delete a note; 412 when If-Match names an older version."""
    services.delete_note(caller, slug, note_id, if_match=if_match)
    return ApiResult(None, 204)
