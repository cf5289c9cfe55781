"""``/orgs/<slug>/notes``: an organization's notes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from .. import services
from ..auth import authenticated
from ..idempotency import idempotent
from ..openapi import returns
from ..results import ApiResult
from ..schemas import NEW_NOTE, NOTE, NOTE_CHANGES, NOTES_QUERY, page_of
from ..validation import argsschema, dataschema

blueprint = Blueprint("notes", __name__)


@blueprint.get("/orgs/<slug>/notes")
@authenticated
@argsschema(NOTES_QUERY)
@returns(page_of(NOTE))
def list_notes(caller: services.User, slug: str, **query: Any) -> ApiResult:
    """List an organization's notes, newest first, optionally with one tag."""
    result = services.list_notes(caller, slug, **query)
    return ApiResult(result, next_page=result["next_cursor"])


@blueprint.post("/orgs/<slug>/notes")
@authenticated
@idempotent
@dataschema(NEW_NOTE)
@returns(NOTE, 201)
def create_note(caller: services.User, slug: str, **fields: Any) -> ApiResult:
    """Create a note."""
    note = services.create_note(caller, slug, **fields)
    location = url_for(".get_note", slug=slug, note_id=note["id"], _external=True)
    return ApiResult(note, 201, headers={"Location": location})


@blueprint.get("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@returns(NOTE)
def get_note(caller: services.User, slug: str, note_id: int) -> ApiResult:
    """Show a note."""
    return ApiResult(services.get_note(caller, slug, note_id))


@blueprint.patch("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@dataschema(NOTE_CHANGES)
@returns(NOTE)
def update_note(
    caller: services.User, slug: str, note_id: int, **changes: Any
) -> ApiResult:
    """Change some fields of a note."""
    return ApiResult(services.update_note(caller, slug, note_id, **changes))


@blueprint.delete("/orgs/<slug>/notes/<id:note_id>")
@authenticated
@returns(None, 204)
def delete_note(caller: services.User, slug: str, note_id: int) -> ApiResult:
    """Delete a note."""
    services.delete_note(caller, slug, note_id)
    return ApiResult(None, 204)
