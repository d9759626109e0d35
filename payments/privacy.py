"""/forget: delete what we hold about a person, keep what the law makes us keep.

Deleted: ratings, daily usage counters, entitlements, the platform id itself. Kept, detached from
the person: orders, payments and ledger lines (accounting records; the ledger is append-only and
never held a name or platform id - it names users as ``user:<internal id>``). The user row stays
as a pseudonymous tombstone so those records keep a valid foreign key.

Refused while money is in flight (an order paid but not delivered, or a refund pending): we still
need the platform id to deliver the stems or send the refund.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from payments.db import Database
from payments.ledger import append_entry
from payments.models import (
    AccessLevel,
    EntitlementRow,
    FeedbackRow,
    OrderRow,
    OrderState,
    PaymentRow,
    PaymentStatus,
    UsageRow,
    UserRow,
)

FORGOTTEN_PREFIX = "forgotten-"
ORDER_IN_FLIGHT = "order_in_flight"
MSG_IN_FLIGHT = (
    "You have a paid order that is still being processed. Please try /forget again once "
    "your stems have arrived (or the payment was refunded)."
)


@dataclass(frozen=True)
class ForgetResult:
    forgotten: bool
    message: str | None = None  # friendly reason when not forgotten
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        """Why not, as a stable code the bots' text catalogue may word its own way."""
        return ORDER_IN_FLIGHT if self.message == MSG_IN_FLIGHT else None


def forget_user(db: Database, platform: str, platform_user_id: str | int) -> ForgetResult:
    platform = platform.strip().lower()
    pid = str(platform_user_id).strip()

    def work(session: Session) -> ForgetResult:
        user = session.scalars(
            select(UserRow)
            .where(UserRow.platform == platform, UserRow.platform_user_id == pid)
            .with_for_update()
        ).one_or_none()
        if user is None:
            return ForgetResult(True, deleted={})
        in_flight = session.scalar(
            select(func.count())
            .select_from(OrderRow)
            .where(
                OrderRow.user_id == user.id,
                OrderRow.state.in_([OrderState.PAID.value, OrderState.REFUND_PENDING.value]),
            )
        )
        refunding = session.scalar(
            select(func.count())
            .select_from(PaymentRow)
            .join(OrderRow, PaymentRow.order_id == OrderRow.id)
            .where(
                OrderRow.user_id == user.id,
                PaymentRow.status == PaymentStatus.REFUND_PENDING.value,
            )
        )
        if in_flight or refunding:
            return ForgetResult(False, MSG_IN_FLIGHT)
        deleted = {
            "feedback": session.execute(delete(FeedbackRow).where(FeedbackRow.user_id == user.id)).rowcount,
            "usage": session.execute(delete(UsageRow).where(UsageRow.user_id == user.id)).rowcount,
            "entitlements": session.execute(
                delete(EntitlementRow).where(EntitlementRow.user_id == user.id)
            ).rowcount,
        }
        user.platform_user_id = f"{FORGOTTEN_PREFIX}{uuid.uuid4().hex}"
        user.level = AccessLevel.FREE.value
        user.banned = False
        append_entry(session, actor=f"user:{user.id}", action="user_forgotten", ref=f"user:{user.id}")
        return ForgetResult(True, deleted=deleted)

    return db.run(work)
