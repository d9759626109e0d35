"""Users, access levels, bans and the daily free-preview quota.

A user is ``(platform, platform_user_id)`` - the numeric id the chat platform gives us. We never
store names or usernames: the bots pass ids only, so /forget has little to forget.

Levels: ``free`` (``FREE_PREVIEWS_PER_DAY`` previews), ``paid`` (set automatically by the first
granted payment; ``PAID_PREVIEWS_PER_DAY``), ``admin`` (unlimited, may ban/refund/see stats).
Admins come from ``ADMIN_IDS`` or from another admin's ``set_level``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.audit import append_entry
from db.database import Database, rowcount
from db.tables import LANGUAGE_MAX, AccessLevel, UsageRow, UserRow
from people.abuse import restore_limits
from people.records import User

PLATFORM_MAX = 16
PLATFORM_ID_MAX = 64


class UserSettings(Protocol):
    """What the users store reads of the deployment's settings (``payments.Settings`` has it
    all): declared here so that ``people`` never imports ``payments``."""

    @property
    def free_previews_per_day(self) -> int: ...

    @property
    def paid_previews_per_day(self) -> int: ...

    @property
    def abuse_key(self) -> bytes: ...

    def is_admin(self, platform: str, platform_user_id: str | int) -> bool: ...


class UserError(ValueError):
    """Bad identity input or a forbidden change (e.g. banning an admin)."""


@dataclass(frozen=True)
class PreviewQuota:
    """Answer to "may this user get another preview today?" with the numbers to tell them."""

    allowed: bool
    used: int
    limit: int | None  # None: unlimited
    resets_at: datetime

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def utc_today() -> date:
    return datetime.now(UTC).date()


def _next_midnight(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


class Users:
    def __init__(self, db: Database, settings: UserSettings) -> None:
        self.db = db
        self.settings = settings

    def _view(self, row: UserRow) -> User:
        user = User.from_row(row)
        if self.settings.is_admin(row.platform, row.platform_user_id):
            user = replace(user, level=AccessLevel.ADMIN)
        return user

    @staticmethod
    def _identity(platform: str, platform_user_id: str | int) -> tuple[str, str]:
        platform = platform.strip().lower()
        pid = str(platform_user_id).strip()
        if not platform or len(platform) > PLATFORM_MAX:
            raise UserError("platform must be 1..16 characters")
        if not pid or len(pid) > PLATFORM_ID_MAX:
            raise UserError("platform user id must be 1..64 characters")
        return platform, pid

    def get_or_create(self, platform: str, platform_user_id: str | int) -> User:
        """The user for a platform id, created on first contact (race-safe). A new account
        takes over the ban and today's previews a /forget kept for this platform id
        (:mod:`people.abuse`), so forgetting lifts neither."""
        platform, pid = self._identity(platform, platform_user_id)

        def work(session: Session) -> User:
            row = session.scalars(
                select(UserRow).where(UserRow.platform == platform, UserRow.platform_user_id == pid)
            ).one_or_none()
            if row is None:
                row = UserRow(
                    platform=platform,
                    platform_user_id=pid,
                    level=AccessLevel.FREE.value,
                    banned=False,
                )
                session.add(row)
                session.flush()
                restore_limits(session, self.settings.abuse_key, row)
            return self._view(row)

        return self.db.run(work)

    def get(self, platform: str, platform_user_id: str | int) -> User | None:
        platform, pid = self._identity(platform, platform_user_id)
        with self.db.read() as session:
            row = session.scalars(
                select(UserRow).where(UserRow.platform == platform, UserRow.platform_user_id == pid)
            ).one_or_none()
            return self._view(row) if row is not None else None

    def by_id(self, user_id: int) -> User | None:
        with self.db.read() as session:
            row = session.get(UserRow, user_id)
            return self._view(row) if row is not None else None

    def set_banned(self, user_id: int, banned: bool, actor: str, reason: str = "") -> User:
        """Ban or unban; a banned user gets no previews, orders or downloads. Audited."""

        def work(session: Session) -> User:
            row = session.get(UserRow, user_id)
            if row is None:
                raise UserError(f"no user {user_id}")
            if banned and self._view(row).is_admin:
                raise UserError("admins cannot be banned")
            if row.banned != banned:
                row.banned = banned
                append_entry(
                    session,
                    actor=actor,
                    action="user_banned" if banned else "user_unbanned",
                    ref=f"user:{user_id}",
                    detail={"reason": reason} if reason else None,
                )
            return self._view(row)

        return self.db.run(work)

    def set_level(self, user_id: int, level: AccessLevel, actor: str) -> User:
        def work(session: Session) -> User:
            row = session.get(UserRow, user_id)
            if row is None:
                raise UserError(f"no user {user_id}")
            if row.level != level.value:
                append_entry(
                    session,
                    actor=actor,
                    action="user_level",
                    ref=f"user:{user_id}",
                    detail={"from": row.level, "to": level.value},
                )
                row.level = level.value
            return self._view(row)

        return self.db.run(work)

    def set_language(self, user_id: int, language: str | None) -> User:
        """Keep the language the person chose (a ``texts.languages`` code; None: back to their
        platform's). Not audited: it is a preference, not an account change."""
        if language is not None and not 0 < len(language) <= LANGUAGE_MAX:
            raise UserError(f"language must be 1..{LANGUAGE_MAX} characters")

        def work(session: Session) -> User:
            row = session.get(UserRow, user_id)
            if row is None:
                raise UserError(f"no user {user_id}")
            row.language = language
            return self._view(row)

        return self.db.run(work)

    def preview_limit(self, user: User) -> int | None:
        if user.level is AccessLevel.ADMIN:
            return None
        if user.level is AccessLevel.PAID:
            return self.settings.paid_previews_per_day
        return self.settings.free_previews_per_day

    def consume_preview(self, user: User) -> PreviewQuota:
        """Take one preview from today's quota, atomically (two parallel uploads can't both
        slip past the limit: the increment is conditional on ``previews < limit``)."""
        day = utc_today()
        resets = _next_midnight(day)
        if user.banned:
            return PreviewQuota(False, 0, 0, resets)
        limit = self.preview_limit(user)

        def work(session: Session) -> PreviewQuota:
            condition = [UsageRow.user_id == user.id, UsageRow.day == day]
            if limit is not None:
                condition.append(UsageRow.previews < limit)
            moved = rowcount(
                session, update(UsageRow).where(*condition).values(previews=UsageRow.previews + 1)
            )
            row = session.get(UsageRow, (user.id, day))
            if row is not None:  # counted now (moved), or at the limit already
                return PreviewQuota(moved == 1, row.previews, limit, resets)
            if limit == 0:
                return PreviewQuota(False, 0, limit, resets)
            session.add(UsageRow(user_id=user.id, day=day, previews=1))
            session.flush()  # a concurrent first preview makes this re-run via Database.run
            return PreviewQuota(True, 1, limit, resets)

        return self.db.run(work)

    def release_preview(self, user: User) -> None:
        """Give a preview back when it failed for reasons that are not the user's fault."""
        day = utc_today()
        with self.db.transaction() as session:
            session.execute(
                update(UsageRow)
                .where(UsageRow.user_id == user.id, UsageRow.day == day, UsageRow.previews > 0)
                .values(previews=UsageRow.previews - 1)
            )

    def previews_used_today(self, user: User) -> int:
        with self.db.read() as session:
            row = session.get(UsageRow, (user.id, utc_today()))
            return row.previews if row is not None else 0
