"""A person's chosen language (/language), kept with them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Nullable: people who never chose one (everyone before this revision) are answered in their
platform's language (Telegram's ``language_code``, Discord's locale), else English. The value is
a catalogue code of ``texts.languages`` (``pt_BR``: at most 8 characters). ``/forget`` clears it.
A plain ``ADD COLUMN`` on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "language")
