"""Abuse limits that outlive /forget: a ban and today's free previews, under a keyed HMAC.

Forgetting a person deletes their platform id, but must not lift a ban or hand out a fresh day of
free previews (else both are bypassed at will). So /forget keeps, for a person who is banned or
used previews today, one :class:`~db.tables.AbuseMarkRow`: ``HMAC-SHA256(key,
"<platform>:<platform id>")`` with the ban and today's count — no platform id, no user row,
nothing else. The key is ``ABUSE_HMAC_SECRET`` (:attr:`payments.settings.Settings.abuse_key`), so
the marks name nobody to whoever reads the database without it; the mark is
:func:`service.pseudonyms.abuse_mark`, the one the pipeline keys its karaoke render count by.
When the person comes back, their new account takes the ban and today's count over and the mark
is deleted; marks holding no ban and an earlier day are deleted at the next /forget.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete
from sqlalchemy.orm import Session

from db.audit import append_entry
from db.tables import AbuseMarkRow, UsageRow, UserRow, utcnow
from service.pseudonyms import abuse_mark

__all__ = ["abuse_mark", "keep_limits", "restore_limits", "take_over"]


def keep_limits(session: Session, key: bytes, user: UserRow, today: date) -> bool:
    """At /forget, before the platform id goes: keep the person's ban and today's previews under
    their mark (merged with one left by an earlier /forget); True if a mark was kept. Marks that
    no longer limit anyone (no ban, an earlier day) are dropped here."""
    session.execute(delete(AbuseMarkRow).where(AbuseMarkRow.banned.is_(False), AbuseMarkRow.day < today))
    usage = session.get(UsageRow, (user.id, today))
    previews = usage.previews if usage is not None else 0
    if not user.banned and not previews:
        return False
    mark = abuse_mark(key, user.platform, user.platform_user_id)
    row = session.get(AbuseMarkRow, mark)
    if row is None:
        session.add(AbuseMarkRow(mark=mark, banned=user.banned, day=today, previews=previews))
        return True
    row.banned = row.banned or user.banned
    row.previews = max(row.previews, previews) if row.day == today else previews
    row.day = today
    return True


def take_over(session: Session, key: bytes, user: UserRow, today: date) -> bool:
    """For a new account: the ban and today's previews a /forget kept for its platform id, if
    any (the mark is deleted: from now on the account holds them). True if it was banned."""
    row = session.get(AbuseMarkRow, abuse_mark(key, user.platform, user.platform_user_id))
    if row is None:
        return False
    user.banned = user.banned or row.banned
    if row.day == today and row.previews:
        session.add(UsageRow(user_id=user.id, day=today, previews=row.previews))
    session.delete(row)
    return row.banned


def restore_limits(session: Session, key: bytes, row: UserRow) -> None:
    """A new account takes over the ban and today's previews a /forget kept for its platform id
    (see above); a ban taken over is audited like any ban."""
    if take_over(session, key, row, utcnow().date()):
        append_entry(
            session,
            actor="system",
            action="user_banned",
            ref=f"user:{row.id}",
            detail={"reason": "banned before /forget"},
        )
