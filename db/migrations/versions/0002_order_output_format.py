"""Orders carry the output format the buyer chose, so paid stems come in that format.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Nullable: orders created before this revision had no choice recorded and keep the pipeline's
default format. A plain ``ADD COLUMN`` (no batch table copy) on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("output_format", sa.String(8), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 and PostgreSQL both drop a column in place.
    op.drop_column("orders", "output_format")
