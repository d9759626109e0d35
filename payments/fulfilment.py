"""Starting the paid work, with a counter so a poisoned order ends in a refund, not a loop.

``on_paid(order)`` is injected by the composing process (it enqueues the full-length job through
the jobs package). It must be idempotent per order id: recovery calls it again for every order
that is still ``paid`` at start-up, and a job that is already queued or done must not run twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from payments.ledger import Ledger
from payments.records import Order

log = logging.getLogger(__name__)

OnPaid = Callable[[Order], None]


class Fulfilment:
    def __init__(self, ledger: Ledger, on_paid: OnPaid) -> None:
        self.ledger = ledger
        self.on_paid = on_paid

    async def start(self, order: Order, why: str) -> bool:
        """Count the attempt, then hand the order to ``on_paid``; False if that raised.

        A failure is logged and left for recovery: the order stays ``paid`` in the database, so
        it cannot be lost, only delayed.
        """
        await asyncio.to_thread(self.ledger.note_fulfil_attempt, order.id, "system", why)
        try:
            await asyncio.to_thread(self.on_paid, order)
        except Exception:
            log.exception("starting fulfilment of order %s failed; recovery will retry", order.id)
            return False
        return True
