"""/forget: delete what we hold about a person, keep what the law makes us keep.

Deleted: ratings, daily usage counters, entitlements, the chosen language, the platform id
itself. Kept, detached from
the person: orders, payments and ledger lines (accounting records; the ledger is append-only and
never held a name or platform id - it names users as ``user:<internal id>``). The user row stays
as a pseudonymous tombstone so those records keep a valid foreign key. A Stars payment keeps its
payer's Telegram id (``payments.payer_ref``), part of the payment record: a later refund (an
admin's, of a delivered order) is sent with it. A ban and today's previews are kept under a
keyed HMAC of the platform id (:mod:`people.abuse`), so forgetting lifts neither.

Refused while money is in flight (an order paid but not delivered, a refund pending, or a payment
of theirs that granted nothing and is not refunded yet - one that matched no order among them):
we still need the person to deliver the stems or tell them about the refund.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from db.audit import append_entry
from db.database import Database, rowcount
from db.tables import (
    AccessLevel,
    EntitlementRow,
    FeedbackRow,
    OrderRow,
    OrderState,
    PaymentRow,
    PaymentStatus,
    UsageRow,
    UserRow,
    utcnow,
)
from people.abuse import keep_limits
from service.errors import ErrorCode

__all__ = ["FORGOTTEN_PREFIX", "ForgetResult", "forget_user"]
# What /forget puts in place of a platform id: no longer anybody's address.
FORGOTTEN_PREFIX = "forgotten-"


@dataclass(frozen=True)
class ForgetResult:
    forgotten: bool
    # Why not, when not forgotten: a stable code the text catalogue words (the bots' own way).
    code: ErrorCode | None = None
    deleted: dict[str, int] = field(default_factory=dict)


def forget_user(db: Database, platform: str, platform_user_id: str | int, abuse_key: bytes) -> ForgetResult:
    """Forget the person, or refuse while money is in flight (see the module doc); ``abuse_key``
    keys the HMAC their ban and today's previews are kept under."""
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
        # Theirs: paid for their order, or by them (a payment that matched no order has no order
        # to join, only its payer).
        refunding = session.scalar(
            select(func.count())
            .select_from(PaymentRow)
            .outerjoin(OrderRow, PaymentRow.order_id == OrderRow.id)
            .where(
                or_(OrderRow.user_id == user.id, PaymentRow.user_id == user.id),
                or_(
                    PaymentRow.status == PaymentStatus.REFUND_PENDING.value,
                    (PaymentRow.status == PaymentStatus.CAPTURED.value) & PaymentRow.granted.is_(False),
                ),
            )
        )
        if in_flight or refunding:
            return ForgetResult(False, ErrorCode.ORDER_IN_FLIGHT)
        keep_limits(session, abuse_key, user, utcnow().date())
        deleted = {
            "feedback": rowcount(session, delete(FeedbackRow).where(FeedbackRow.user_id == user.id)),
            "usage": rowcount(session, delete(UsageRow).where(UsageRow.user_id == user.id)),
            "entitlements": rowcount(
                session, delete(EntitlementRow).where(EntitlementRow.user_id == user.id)
            ),
        }
        user.platform_user_id = f"{FORGOTTEN_PREFIX}{uuid.uuid4().hex}"
        user.level = AccessLevel.FREE.value
        user.banned = False
        user.language = None
        append_entry(session, actor=f"user:{user.id}", action="user_forgotten", ref=f"user:{user.id}")
        return ForgetResult(True, deleted=deleted)

    return db.run(work)
