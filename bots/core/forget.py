"""``/forget``: the one entry point, :func:`forget_person`, for everything we hold about a person.

A person is held in three places, each owned by its package: payments (account, ratings, usage;
:func:`people.forget_user`), the job pipeline (job records, stored songs and results;
:func:`jobs.forget_user`) and this bot's state (format setting, status messages, song tags;
:meth:`bots.core.state.BotState.forget`). The order is the invariant: payments first, because it
refuses while money is in flight (an order paid but not delivered still needs the person's id and
their job) — then nothing is deleted anywhere; the bot's state last, because it is keyed by the
job ids the pipeline reports deleted.
"""

from __future__ import annotations

from bots.core.services import Services
from jobs import forget_user
from people import ForgetResult


def forget_person(services: Services, platform: str, user_id: str | int, chat_id: int) -> ForgetResult:
    """Forget the person everywhere, or nowhere (``forgotten`` False: payments said why). Blocks:
    async callers use ``asyncio.to_thread``."""
    result = services.payments.forget(platform, user_id)
    if not result.forgotten:
        return result
    report = forget_user(services.queue, platform, user_id)
    services.state.forget(user_id, report.deleted_records, chat_id)
    return result
