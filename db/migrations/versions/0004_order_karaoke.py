"""Orders carry the karaoke variant the buyer chose, so the paid job renders it with the stems.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Nullable: orders created before this revision (or with karaoke off) have none and get the stems
only. The value is ``engine.karaoke.KaraokeSettings``' compact form (at most 13 characters). A
plain ``ADD COLUMN`` (no batch table copy) on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("karaoke", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "karaoke")
