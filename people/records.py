"""The person as the store hands them out: a frozen :class:`User`, never an ORM row.

A user is ``(platform, platform_user_id)`` with an internal id; the ledger names them by that id
only (:attr:`User.actor`), never by platform id or name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.snapshot import snapshot
from db.tables import AccessLevel, UserRow


@dataclass(frozen=True)
class User:
    id: int
    platform: str
    platform_user_id: str
    level: AccessLevel
    banned: bool
    created_at: datetime
    language: str | None = None  # the one chosen with /language (None: the platform's)

    @property
    def is_admin(self) -> bool:
        return self.level is AccessLevel.ADMIN

    @property
    def actor(self) -> str:
        """How this user appears in the ledger: internal id, never the platform id or a name."""
        return f"user:{self.id}"

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return snapshot(cls, row, level=AccessLevel)
