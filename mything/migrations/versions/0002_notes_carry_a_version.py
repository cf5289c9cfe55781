"""Notes carry a version, the source of their ETag (1 for every note so far).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op
from sqlalchemy import Column, Integer

from mything.migrations import ddl

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ddl.add_missing_column(
        op.get_bind(),
        "mything_notes",
        Column("version", Integer, nullable=False, server_default="1"),
    )


def downgrade() -> None:
    ddl.drop_existing_column(op.get_bind(), "mything_notes", "version")
