"""Starting the paid work, with a counter so a poisoned order ends in a refund, not a loop.

``on_paid(order)`` is injected by the composing process (``web.jobs_bridge`` enqueues the
full-length job). It must be idempotent per order: recovery calls it again for every order that is
still ``paid`` at start-up, and a job that is already queued or done must not run twice.

``on_paid`` raises ``FulfilmentImpossible`` when the work can never happen and there is nobody to
tell (the preview's job record is gone): the order is refunded at once. A song that expired is
not that case: the job bridge records a failed job whose event makes the person's bot refund the
order and tell them. Any other exception is treated as transient (queue down): the order stays
``paid`` and is retried by the sweep or at the next start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from payments.ledger import Ledger
from payments.records import Order
from payments.refunds import Refunder

log = logging.getLogger(__name__)

# Starts the paid work. Returning False means "already under way, nothing new started" (not
# counted as an attempt); None or True means work was (re)submitted.
OnPaid = Callable[[Order], bool | None]
# Recovery gives up an order (started too often without delivery) through the person's bot, so
# the refund is made once and told: ``give_up(order, reason)`` returns True when it handed the
# order over (the bot refunds and says why), False when it could not (recovery then refunds).
GiveUp = Callable[[Order, str], bool]


class FulfilmentImpossible(Exception):
    """The paid work can never be done (e.g. the uploaded song expired): refund, don't retry."""


class Fulfilment:
    def __init__(self, ledger: Ledger, on_paid: OnPaid, refunder: Refunder) -> None:
        self.ledger = ledger
        self.on_paid = on_paid
        self.refunder = refunder

    async def start(self, order: Order, why: str) -> bool:
        """Hand the order to ``on_paid``; False if the work could not be started.

        Every submission and every failure counts as an attempt (recovery refunds an order after
        ``MAX_FULFIL_ATTEMPTS``); finding the work already under way does not. A transient
        failure is logged and left for retry: the order stays ``paid`` in the database, so it
        cannot be lost, only delayed.
        """
        try:
            started = await asyncio.to_thread(self.on_paid, order)
        except FulfilmentImpossible as exc:
            log.warning("order %s cannot be fulfilled (%s); refunding", order.id, exc)
            await self._count(order, f"{why}: impossible")
            await self.refunder.refund_order(order.id, f"cannot fulfil: {exc}", "system")
            return False
        except Exception as exc:
            log.exception("starting fulfilment of order %s failed; will retry", order.id)
            await self._count(order, f"{why}: failed: {exc!r}"[:200])
            return False
        if started is not False:
            await self._count(order, why)
        return True

    async def _count(self, order: Order, why: str) -> None:
        await asyncio.to_thread(self.ledger.note_fulfil_attempt, order.id, "system", why)
