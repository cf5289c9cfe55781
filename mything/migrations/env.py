"""The Alembic environment of mything's migrations, run only from Python.

:mod:`mything.migrations` hands over an open connection (and the schema, on
PostgreSQL); there is no ``alembic.ini``. Alembic keeps mything's revision in
its own table, ``mything_alembic_version``, and sees nothing else of the
database: :func:`include_name` hides every table that is not mything's, so
a comparison with the code (``alembic check``) never reports, and a
migration never touches, a host's tables or its own ``alembic_version``.
"""

from alembic import context

from mything.migrations import VERSION_TABLE, include_name
from mything.tables import metadata

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    version_table_schema=config.attributes.get("schema"),
    include_name=include_name,
    compare_type=True,
    # SQLite's DDL is transactional too (mything's connections issue BEGIN
    # themselves), so a failed migration there leaves nothing behind.
    transactional_ddl=True if connection.dialect.name == "sqlite" else None,
)

with context.begin_transaction():
    context.run_migrations()
