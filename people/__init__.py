"""People: users and their access levels, bans and the abuse limits that outlive ``/forget``, the
daily preview quota, per-user rate limits, feedback (ratings) and ``/forget`` itself.

Public API (the bots import from here; ``payments.Payments`` builds these over one database)::

    from people import AccessLevel, User, UserError

    user = pay.users.get_or_create("telegram", tg_user_id)    # platform ids only, no names
    quota = pay.users.consume_preview(user)         # PreviewQuota(allowed, used, limit, resets_at)
    pay.users.release_preview(user)                 # preview failed, give it back
    pay.rate_limiter.allow(f"telegram:{tg_user_id}")  # per-user requests/minute (in memory)
    pay.users.set_banned(user.id, True, actor=admin.actor)
    pay.feedback.record(user, job_id, model_version, +1 / -1, source="reaction", value="👍")
    pay.forget("telegram", tg_user_id)              # /forget -> ForgetResult

Direction: ``people`` imports ``db`` and ``service`` only, never ``payments``, ``web`` or the bots
(``tests/test_layout.py``): an order belongs to a person, not the other way round, so ``payments``
imports ``people``. What the users store reads of the settings is :class:`UserSettings`.
"""

from db.tables import AccessLevel
from people.feedback import (
    SOURCE_BUTTON,
    SOURCE_REACTION,
    FeedbackError,
    FeedbackStore,
    ModelApproval,
    Stats,
    rating_for_reaction,
)
from people.privacy import ForgetResult, forget_user
from people.ratelimit import RateLimiter
from people.records import User
from people.users import PreviewQuota, UserError, Users, UserSettings

__all__ = [
    "SOURCE_BUTTON",
    "SOURCE_REACTION",
    "AccessLevel",
    "FeedbackError",
    "FeedbackStore",
    "ForgetResult",
    "ModelApproval",
    "PreviewQuota",
    "RateLimiter",
    "Stats",
    "User",
    "UserError",
    "UserSettings",
    "Users",
    "forget_user",
    "rating_for_reaction",
]
