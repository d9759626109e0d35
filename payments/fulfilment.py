"""Starting the paid work, with a counter so a poisoned order ends in a refund, not a loop.

``on_paid(order)`` is injected by the composing process (``payments.jobs_bridge`` enqueues the
full-length job). It must be idempotent per order: recovery calls it again for every order that is
still ``paid`` at start-up, and a job that is already queued or done must not run twice.

``on_paid`` raises ``FulfilmentImpossible`` when the work can never happen (the song was deleted):
the order is refunded at once. Any other exception is treated as transient (queue down): the
order stays ``paid`` and is retried by the sweep or at the next start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from payments.downloads import StemLocator
from payments.ledger import Ledger
from payments.records import Order
from payments.refunds import Refunder

log = logging.getLogger(__name__)

OnPaid = Callable[[Order], None]


@dataclass(frozen=True)
class ServiceHooks:
    """What the composing process plugs in: how to start paid work, where stems live."""

    on_paid: OnPaid
    locate_stem: StemLocator | None = None


class FulfilmentImpossible(Exception):
    """The paid work can never be done (e.g. the uploaded song expired): refund, don't retry."""


class Fulfilment:
    def __init__(self, ledger: Ledger, on_paid: OnPaid, refunder: Refunder) -> None:
        self.ledger = ledger
        self.on_paid = on_paid
        self.refunder = refunder

    async def start(self, order: Order, why: str) -> bool:
        """Count the attempt, then hand the order to ``on_paid``; False if it did not start.

        A transient failure is logged and left for retry: the order stays ``paid`` in the
        database, so it cannot be lost, only delayed.
        """
        await asyncio.to_thread(self.ledger.note_fulfil_attempt, order.id, "system", why)
        try:
            await asyncio.to_thread(self.on_paid, order)
        except FulfilmentImpossible as exc:
            log.warning("order %s cannot be fulfilled (%s); refunding", order.id, exc)
            await self.refunder.refund_order(order.id, f"cannot fulfil: {exc}", "system")
            return False
        except Exception:
            log.exception("starting fulfilment of order %s failed; will retry", order.id)
            return False
        return True
