"""mything apps for the benchmarks, with a user, a token and notes to read.

Everything the suite stores in mything goes through its public Python API
(``from mything import MyThing``): users, tokens, organizations and notes
alike, exactly as a host would create them. Two things cannot, and this
module is the only place that does them otherwise:

* **Releasing a ``MyThing``'s connections** (:func:`release`). ``MyThing``
  has no public ``close``: a host builds one per process and lets the
  process end. A run builds dozens, on PostgreSQL and MySQL databases that
  it drops afterwards, so each one's pooled connections must be closed
  when it is done with; that is ``mything.db``'s ``dispose``.
* **Two hundred thousand notes** for the page-depth section
  (:func:`bulk_insert_notes`). Through the API each note costs about a
  millisecond, so filling the list would take longer than the whole run.
  One note is created through the API; SQL then copies it, doubling the
  list until it is long enough, and tags each copy. The statements name
  mything's tables as the database has them (``docs/data-model.md``), the
  same tables the hand-written peers query, and import none of mything's
  modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from sqlalchemy import String, cast, column, func, insert, literal, select, table

from mything import MyThing
from mything.db import get_database

from .contenders import BENCH_RATELIMIT

USER = "bench"
SLUG = "bench"
NOTE_BODY = (
    "A note written for the benchmarks, about as long as a short paragraph that "
    "someone would jot down to remember what was decided in a meeting."
)

#: mything's tables, as the database has them: only the columns used here.
NOTES = table(
    "mything_notes",
    *(column(name) for name in ("id", "org_id", "author_id", "title", "body")),
    *(column(name) for name in ("version", "created_at", "updated_at")),
)
NOTE_TAGS = table(
    "mything_note_tags", column("note_id"), column("tag"), column("position")
)
COPIED = ("org_id", "author_id", "title", "body", "version", "created_at", "updated_at")


#: What a section adds to :func:`bench_config` to have webhooks on loopback.
WEBHOOKS_ON_LOOPBACK: Mapping[str, Any] = {
    "WEBHOOK_ALLOW_PRIVATE": True,
    "WEBHOOK_ALLOW_HTTP": True,
}


def bench_config(
    database_uri: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return mything's configuration for benchmarks: limits on, in memory.

    ``extra`` adds settings, or changes these, for the section that asks.
    """
    return {
        "DATABASE_URI": database_uri,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT": BENCH_RATELIMIT,
        "RATELIMIT_STORAGE_URI": "memory://",
        **(extra or {}),
    }


def release(thing: MyThing) -> None:
    """Close every pooled database connection of ``thing`` (see the module's doc)."""
    get_database(thing.flask_app).dispose()


@dataclass(frozen=True)
class Tenant:
    """A mything app with one user, its token and one organization."""

    thing: MyThing
    token: str
    database_uri: str

    @property
    def headers(self) -> dict[str, str]:
        """The headers that authenticate as the benchmark user."""
        return {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        """Close the app's database connections."""
        release(self.thing)


def make_tenant(
    database_uri: str,
    *,
    notes_count: int = 0,
    config: Mapping[str, Any] | None = None,
) -> Tenant:
    """Build a mything with the benchmark user and organization.

    ``notes_count`` notes are created through the Python API, with tags.
    ``config`` is added to :func:`bench_config`'s settings.
    """
    thing = MyThing(bench_config(database_uri, config))
    thing.init_db()
    thing.create_user(USER)
    token = thing.create_token(USER)
    user = thing.as_user(USER)
    user.create_organization(SLUG, name="Benchmarks")
    for number in range(notes_count):
        user.create_note(
            SLUG, title=f"Note {number}", body=NOTE_BODY, tags=["bench", "perf"]
        )
    return Tenant(thing, token, database_uri)


def bulk_insert_notes(tenant: Tenant, count: int) -> None:
    """Give the benchmark organization ``count`` notes, each with one tag.

    The organization must have no notes yet. See the module's docstring for
    why this goes past the Python API.
    """
    first = tenant.thing.as_user(USER).create_note(SLUG, title="Note", body=NOTE_BODY)
    engine = sqlalchemy.create_engine(tenant.database_uri)
    try:
        with engine.begin() as connection:
            org_id = connection.execute(
                select(NOTES.c.org_id).where(NOTES.c.id == first["id"])
            ).scalar_one()
            present = 1
            while present < count:
                copies = min(present, count - present)
                originals = (
                    select(*(NOTES.c[name] for name in COPIED))
                    .where(NOTES.c.org_id == org_id)
                    .order_by(NOTES.c.id)
                    .limit(copies)
                )
                connection.execute(insert(NOTES).from_select(COPIED, originals))
                present += copies
            tag = literal("tag-") + cast(NOTES.c.id % 10, String)
            connection.execute(
                insert(NOTE_TAGS).from_select(
                    ["note_id", "tag", "position"],
                    select(NOTES.c.id, tag, literal(0)).where(NOTES.c.org_id == org_id),
                )
            )
            written = connection.execute(
                select(func.count()).select_from(NOTES).where(NOTES.c.org_id == org_id)
            ).scalar_one()
        if written != count:
            raise RuntimeError(f"wrote {written} notes, not {count}")
        # Fresh planner statistics, as autovacuum or a periodic ANALYZE would
        # have in production; without them a bulk-loaded table is misjudged.
        # Only mything's tables: the database may hold many others.
        with engine.begin() as connection:
            for name in (NOTES.name, NOTE_TAGS.name):
                connection.exec_driver_sql(f"ANALYZE {name}")
    finally:
        engine.dispose()
