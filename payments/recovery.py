"""Start-up recovery: no paid order is left behind by a crash.

Run once when a payments-owning process starts (and safe to run again at any time):

1. refunds that were started but never confirmed are sent again (same idempotency key);
2. every order still ``paid`` (money in, stems not delivered) is handed to fulfilment again -
   re-enqueued, or re-sent if its job already finished (``on_paid`` decides, idempotently);
3. an order that has been started ``max_attempts`` times without being delivered is refunded
   instead of being retried forever — through the person's bot when a ``give_up`` hook is given
   (the job bridge records the order's job as failed; its event makes the bot refund once and
   tell the person why), else directly here (nobody is told).

Run it in one process per deployment (the payments service; see docs/PAYMENTS.md).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from db.tables import OrderState
from payments.fulfilment import Fulfilment, GiveUp
from payments.ledger import Ledger
from payments.records import Order
from payments.refunds import Refunder, RefundStatus

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    redriven: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)
    refunds_retried: list[RefundStatus] = field(default_factory=list)
    handed_over: list[str] = field(default_factory=list)  # to the person's bot, to refund and tell


async def _hand_over(give_up: GiveUp | None, order: Order, reason: str) -> bool:
    """True if the person's bot now has the order to refund and tell; False: refund here."""
    if give_up is None:
        return False
    try:
        return await asyncio.to_thread(give_up, order, reason)
    except Exception:  # the queue is down: refund here rather than keep the money waiting
        log.exception("could not hand order %s over to its bot; refunding here", order.id)
        return False


async def recover(
    ledger: Ledger,
    fulfilment: Fulfilment,
    refunder: Refunder,
    max_attempts: int,
    give_up: GiveUp | None = None,
) -> RecoveryReport:
    report = RecoveryReport()
    report.refunds_retried = await refunder.retry_pending()
    for order in await asyncio.to_thread(ledger.orders_in_state, OrderState.PAID):
        if order.fulfil_attempts >= max_attempts:
            reason = f"not delivered after {order.fulfil_attempts} attempts"
            if await _hand_over(give_up, order, reason):
                report.handed_over.append(order.id)
                continue
            status = await refunder.refund_order(order.id, reason, "recovery")
            if status is not RefundStatus.SKIPPED:
                report.refunded.append(order.id)
            continue
        await fulfilment.start(order, "recovery after restart")
        report.redriven.append(order.id)
    if report.redriven or report.refunded or report.refunds_retried or report.handed_over:
        log.warning(
            "recovery: %d order(s) re-driven, %d refunded, %d handed to their bot to refund, "
            "%d pending refund(s) retried",
            len(report.redriven),
            len(report.refunded),
            len(report.handed_over),
            len(report.refunds_retried),
        )
    return report
