"""Ratings of our results, the /stats figures and the CSV export.

Every rating carries the job id and the model version that produced the stems, so the approval
rate can be compared per model version when a new checkpoint ships. A user has one rating per job:
changing a reaction (or pressing the other button) overwrites it, removing it withdraws it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.database import Database, rowcount
from db.tables import (
    AccessLevel,
    FeedbackRow,
    OrderRow,
    PaymentRow,
    PaymentStatus,
    UsageRow,
    UserRow,
    utcnow,
)
from metrics import families
from people.records import User

SOURCE_REACTION = "reaction"
SOURCE_BUTTON = "button"
SOURCES = (SOURCE_REACTION, SOURCE_BUTTON)
JOB_ID_MAX = 128
MODEL_VERSION_MAX = 64
VALUE_MAX = 32

# Telegram reaction emoji we read as approval / disapproval; anything else is not a rating.
POSITIVE_REACTIONS = frozenset(
    {"👍", "❤", "❤️", "🔥", "🥰", "👏", "😍", "🎉", "🤩", "💯", "⚡", "🏆", "👌", "😁", "🤝"}
)
NEGATIVE_REACTIONS = frozenset({"👎", "💩", "🤮", "😢", "😡", "🤬", "🥱", "😭", "🤡", "💔"})
CSV_COLUMNS = (
    "created_at",
    "updated_at",
    "user_ref",
    "job_id",
    "model_version",
    "rating",
    "source",
    "value",
)


class FeedbackError(ValueError):
    pass


def rating_for_reaction(emoji: str) -> int | None:
    """+1, -1, or None for an emoji that says nothing about quality."""
    if emoji in POSITIVE_REACTIONS:
        return 1
    if emoji in NEGATIVE_REACTIONS:
        return -1
    return None


@dataclass(frozen=True)
class ModelApproval:
    model_version: str
    up: int
    down: int

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def approval_rate(self) -> float | None:
        return self.up / self.total if self.total else None


@dataclass(frozen=True)
class Stats:
    """The /stats figures. Revenue is net of refunds, per currency (``xtr`` = Stars)."""

    users_total: int
    users_paid: int
    users_banned: int
    previews_today: int
    orders_by_state: dict[str, int]
    revenue: dict[str, int]
    refunds: int
    feedback_total: int
    approval: list[ModelApproval]
    # Payments that matched no order: refunded, and not (yet) refunded - an admin looks at those.
    unmatched_refunded: int = 0
    unmatched_open: int = 0


class FeedbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        user: User,
        job_id: str,
        model_version: str,
        rating: int,
        source: str = SOURCE_BUTTON,
        value: str | None = None,
    ) -> None:
        """Store (or overwrite) this user's rating of this job; a new or changed rating counts
        once in ``vr_feedback_total`` (the same tap twice does not)."""
        if rating not in (1, -1):
            raise FeedbackError("rating must be +1 or -1")
        if source not in SOURCES:
            raise FeedbackError(f"source must be one of {SOURCES}")
        if not job_id or len(job_id) > JOB_ID_MAX:
            raise FeedbackError("job_id must be 1..128 characters")
        model_version = (model_version or "unknown")[:MODEL_VERSION_MAX]
        value = value[:VALUE_MAX] if value else None

        def work(session: Session) -> bool:
            row = session.scalars(
                select(FeedbackRow).where(FeedbackRow.user_id == user.id, FeedbackRow.job_id == job_id)
            ).one_or_none()
            changed = row is None or row.rating != rating
            if row is None:
                session.add(
                    FeedbackRow(
                        user_id=user.id,
                        job_id=job_id,
                        model_version=model_version,
                        rating=rating,
                        source=source,
                        value=value,
                    )
                )
                session.flush()
            else:
                row.rating, row.source, row.value = rating, source, value
                row.model_version = model_version
                row.updated_at = utcnow()
            return changed

        if self.db.run(work):
            families.FEEDBACK.labels(
                families.model_version(model_version),
                families.bounded(user.platform, families.PLATFORMS),
                "up" if rating > 0 else "down",
            ).inc()

    def withdraw(self, user: User, job_id: str, reaction: str | None = None) -> bool:
        """The user removed their reaction: forget that rating. With ``reaction``, only if the
        rating came from that very emoji (taking off 🔥 leaves a 👎 button vote alone)."""
        condition = [FeedbackRow.user_id == user.id, FeedbackRow.job_id == job_id]
        if reaction is not None:
            condition += [FeedbackRow.source == SOURCE_REACTION, FeedbackRow.value == reaction[:VALUE_MAX]]
        with self.db.transaction() as session:
            return rowcount(session, delete(FeedbackRow).where(*condition)) > 0

    def approval_by_model(self) -> list[ModelApproval]:
        with self.db.read() as session:
            return self._approval(session)

    @staticmethod
    def _approval(session: Session) -> list[ModelApproval]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        rows = session.execute(
            select(FeedbackRow.model_version, FeedbackRow.rating, func.count()).group_by(
                FeedbackRow.model_version, FeedbackRow.rating
            )
        ).all()
        for version, rating, n in rows:
            counts[version][0 if rating > 0 else 1] += n
        return [ModelApproval(v, up, down) for v, (up, down) in sorted(counts.items())]

    def stats(self) -> Stats:
        with self.db.read() as session:
            users_total = session.scalar(select(func.count()).select_from(UserRow)) or 0
            users_paid = (
                session.scalar(
                    select(func.count()).select_from(UserRow).where(UserRow.level == AccessLevel.PAID.value)
                )
                or 0
            )
            users_banned = (
                session.scalar(select(func.count()).select_from(UserRow).where(UserRow.banned.is_(True))) or 0
            )
            previews_today = (
                session.scalar(
                    select(func.coalesce(func.sum(UsageRow.previews), 0)).where(
                        UsageRow.day == datetime.now(UTC).date()
                    )
                )
                or 0
            )
            by_state = dict(
                session.execute(select(OrderRow.state, func.count()).group_by(OrderRow.state)).all()
            )
            revenue = dict(
                session.execute(
                    select(PaymentRow.currency, func.sum(PaymentRow.amount))
                    .where(PaymentRow.status == PaymentStatus.CAPTURED.value)
                    .group_by(PaymentRow.currency)
                ).all()
            )
            refunds = (
                session.scalar(
                    select(func.count())
                    .select_from(PaymentRow)
                    .where(PaymentRow.status == PaymentStatus.REFUNDED.value)
                )
                or 0
            )
            feedback_total = session.scalar(select(func.count()).select_from(FeedbackRow)) or 0
            unmatched = dict(
                session.execute(
                    select(PaymentRow.status, func.count())
                    .where(PaymentRow.order_id.is_(None))
                    .group_by(PaymentRow.status)
                ).all()
            )
            unmatched_refunded = int(unmatched.pop(PaymentStatus.REFUNDED.value, 0))
            return Stats(
                users_total=users_total,
                users_paid=users_paid,
                users_banned=users_banned,
                previews_today=int(previews_today),
                orders_by_state={k: int(v) for k, v in by_state.items()},
                revenue={k: int(v) for k, v in revenue.items()},
                refunds=refunds,
                feedback_total=feedback_total,
                approval=self._approval(session),
                unmatched_refunded=unmatched_refunded,
                unmatched_open=sum(int(n) for n in unmatched.values()),
            )

    def export_csv(self) -> str:
        """All ratings as CSV (UTF-8 text). Users appear as ``user:<internal id>``, never by
        platform id, so the export can be shared with whoever tunes the model."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        with self.db.read() as session:
            for row in session.scalars(select(FeedbackRow).order_by(FeedbackRow.id)):
                writer.writerow(
                    (
                        row.created_at.isoformat(),
                        row.updated_at.isoformat(),
                        f"user:{row.user_id}",
                        row.job_id,
                        row.model_version,
                        row.rating,
                        row.source,
                        row.value or "",
                    )
                )
        return out.getvalue()
