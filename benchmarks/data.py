"""mything apps for the benchmarks, with a user, a token and notes to read.

The in-process section needs a small organization; the page-depth section
needs 200 000 notes in one, which are written straight into the tables in
large batches (SQLAlchemy Core ``executemany``), since creating them one by
one through the API would take longer than the whole benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, insert, literal, select

from mything import MyThing
from mything.db import get_database
from mything.tables import note_tags, notes, organizations, users

from .apps import BENCH_RATELIMIT

USER = "bench"
SLUG = "bench"
NOTE_BODY = (
    "A note written for the benchmarks, about as long as a short paragraph that "
    "someone would jot down to remember what was decided in a meeting."
)
INSERT_BATCH = 10_000


def bench_config(database_uri: str) -> dict[str, Any]:
    """Return mything's configuration for benchmarks: limits on, in memory."""
    return {
        "DATABASE_URI": database_uri,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT": BENCH_RATELIMIT,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@dataclass(frozen=True)
class Tenant:
    """A mything app with one user, its token and one organization."""

    thing: MyThing
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The headers that authenticate as the benchmark user."""
        return {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        """Close the app's database connections."""
        get_database(self.thing.flask_app).dispose()


def make_tenant(database_uri: str, *, notes_count: int = 0) -> Tenant:
    """Build a mything with the benchmark user and organization.

    ``notes_count`` notes are created through the Python API, with tags.
    """
    thing = MyThing(bench_config(database_uri))
    thing.init_db()
    thing.create_user(USER)
    token = thing.create_token(USER)
    user = thing.as_user(USER)
    user.create_organization(SLUG, name="Benchmarks")
    for number in range(notes_count):
        user.create_note(
            SLUG, title=f"Note {number}", body=NOTE_BODY, tags=["bench", "perf"]
        )
    return Tenant(thing, token)


def bulk_insert_notes(tenant: Tenant, count: int) -> None:
    """Add ``count`` notes, each with one tag, to the benchmark organization."""
    # The engine of writers: on SQLite, the others stay in autocommit.
    engine = get_database(tenant.thing.flask_app).writer
    with engine.begin() as connection:
        org_id = connection.execute(
            select(organizations.c.id).where(organizations.c.slug == SLUG)
        ).scalar_one()
        author_id = connection.execute(
            select(users.c.id).where(users.c.name == USER)
        ).scalar_one()
        for batch in _note_batches(count, org_id=org_id, author_id=author_id):
            connection.execute(insert(notes), batch)
        tag = literal("tag-") + cast(notes.c.id % 10, String)
        connection.execute(
            insert(note_tags).from_select(
                ["note_id", "tag", "position"],
                select(notes.c.id, tag, literal(0)).where(notes.c.org_id == org_id),
            )
        )
    # Fresh planner statistics, as autovacuum or a periodic ANALYZE would
    # have in production; without them a bulk-loaded table is misjudged.
    # Only mything's tables: the database may hold many others.
    with engine.begin() as connection:
        for table in (notes, note_tags):
            connection.exec_driver_sql(f"ANALYZE {table.name}")


def _note_batches(
    count: int, *, org_id: int, author_id: int
) -> Iterator[list[dict[str, Any]]]:
    now = datetime.now(UTC)
    for start in range(0, count, INSERT_BATCH):
        yield [
            {
                "org_id": org_id,
                "author_id": author_id,
                "title": f"Note {number}",
                "body": NOTE_BODY,
                "created_at": now,
                "updated_at": now,
            }
            for number in range(start, min(start + INSERT_BATCH, count))
        ]
