"""What a refund needs, and what abuse limits need, survive /forget.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

* ``payments.payer_ref``: a Stars payment's payer (the Telegram user id ``refundStarPayment``
  takes), kept with the payment record when the person is forgotten. Existing Stars payments get
  their payer's id where the user is not forgotten already. A plain ``ADD COLUMN``.
* ``abuse_marks``: a keyed HMAC of a forgotten person's platform id with their ban and today's
  preview count (see ``people.abuse``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("payer_ref", sa.String(64), nullable=True))
    op.execute(
        "UPDATE payments SET payer_ref = (SELECT users.platform_user_id FROM users "
        "WHERE users.id = payments.user_id AND users.platform_user_id NOT LIKE 'forgotten-%') "
        "WHERE provider = 'stars'"
    )
    op.create_table(
        "abuse_marks",
        sa.Column("mark", sa.String(64), nullable=False),
        sa.Column("banned", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("previews", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mark", name=op.f("pk_abuse_marks")),
    )


def downgrade() -> None:
    op.drop_table("abuse_marks")
    op.drop_column("payments", "payer_ref")
