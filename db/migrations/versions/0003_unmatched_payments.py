"""Payments that match no order are kept (and refunded) like any other: ``payments.order_id``
may be NULL, and ``payments.user_id`` names the payer, which a refund of such a payment needs
(Telegram refunds Stars to a user id).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Existing payments get their order's user as payer. SQLite cannot change a column's NULL
constraint in place, so the table is rebuilt (Alembic's batch mode); PostgreSQL alters it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("order_id", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_payments_user_id_users", "users", ["user_id"], ["id"])
    op.execute(
        "UPDATE payments SET user_id = "
        "(SELECT orders.user_id FROM orders WHERE orders.id = payments.order_id)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM payments WHERE order_id IS NULL")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("fk_payments_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")
        batch.alter_column("order_id", existing_type=sa.String(32), nullable=False)
