"""Payments inside the chat (Telegram Stars, or cards through a provider token): the invoice,
the pre-checkout answer within the platform's deadline, the payment, and its refund.

Only a frontend implementing :class:`~bots.core.ports.InChatPayments` gets here (the core builds
this part on first use, through :func:`~bots.core.ports.in_chat_payments`); on any other platform
the Stars side is never built. The order of operations protects the money: a payment is recorded
in the ledger before anything else happens.

A payment is never lost to a store that is down when it arrives (the platform never sends that
update again): the handler retries the store (:data:`PAYMENT_STORE_RETRY_S`), and recovery
reconciles with the platform's own record of what was paid (:meth:`InChatCheckout.reconcile`,
where the frontend keeps one: :class:`~bots.core.ports.PaymentHistory`) — a payment the ledger
lacks is recorded then, and fulfilled or refunded like any other.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING

from bots.core.context import Context
from bots.core.ports import (
    Chat,
    ChatPayment,
    ChatTransaction,
    InChatPayments,
    Invoice,
    MessageRef,
    PaymentHistory,
    Person,
    payment_history,
)
from jobs import JobRecord
from payments import (
    OrderState,
    PaidOutcome,
    PaidResult,
    Provider,
    RefundRequest,
    RefundStatus,
    StarsPayments,
)
from payments.records import Order
from texts import chat as messages

if TYPE_CHECKING:
    from bots.core.checkout import Checkout

log = logging.getLogger(__name__)

# Answer the pre-checkout question this long before the platform's deadline at the latest.
PRE_CHECKOUT_MARGIN_S = 2.0
# A Stars refund retried after a crash: Telegram says it was already made, which is success.
ALREADY_REFUNDED_MARKERS = ("already_refunded", "charge_already_refunded")
# Waits between tries of recording a payment that just arrived (the store may be briefly down);
# past the last, recovery records it from the platform's own record (``reconcile``).
PAYMENT_STORE_RETRY_S = (0.5, 1.0, 2.0, 4.0)
# Recovery reads the platform's payments of this long ago at most: a payment the store missed
# is found by the next round (every few minutes); the window only bounds each round's reading.
RECONCILE_WINDOW_S = 7 * 24 * 3600
HISTORY_PAGE = 100  # entries per getStarTransactions call (the Bot API's maximum)
HISTORY_MAX_PAGES = 50  # per round: a bot's whole history is never read at once


class InChatCheckout:
    def __init__(self, ctx: Context, frontend: InChatPayments, checkout: Checkout) -> None:
        self.ctx = ctx
        self.frontend = frontend
        self.checkout = checkout
        self.pre_checkout_timeout_s = max(1.0, frontend.pre_checkout_deadline_s - PRE_CHECKOUT_MARGIN_S)
        # Leading entries of the platform's history known to be older than the window (it lists
        # oldest first): later rounds start reading after them.
        self._history_start = 0

    @functools.cached_property
    def stars(self) -> StarsPayments:
        return self.ctx.services.stars

    async def send(self, chat_id: int, preview: JobRecord, order: Order, fmt: str) -> None:
        """The invoice for ``order`` in the chat (its payload names the order)."""
        invoice = self.stars.invoice(order)
        title, _ = await self.ctx.tags(preview)
        await self.frontend.chat(chat_id).send_invoice(
            Invoice(
                payload=invoice.payload,
                title=messages.invoice_title(title),
                description=messages.invoice_description(preview.duration_s / 60, fmt),
                label=invoice.label,
                amount=invoice.amount,
                currency=invoice.currency,
                provider_token=invoice.provider_token,
            )
        )

    async def pre_checkout(self, person: Person, payload: str, amount: int, currency: str) -> str | None:
        """None to accept, else the refusal shown in the payment sheet."""
        try:
            decision = await asyncio.wait_for(
                asyncio.to_thread(
                    self.stars.check_pre_checkout,
                    person.user_id,
                    payload,
                    currency,
                    amount,
                ),
                self.pre_checkout_timeout_s,
            )
        except Exception:
            # Refusing is safe (no money moves); accepting blind could take money for nothing.
            log.exception("pre-checkout check failed; refusing")
            return messages.CHECKOUT_REFUSED
        if decision.ok:
            return None
        return self.ctx.text.error(decision.code, decision.params) or messages.CHECKOUT_REFUSED

    async def payment(self, chat: Chat, payer: Person, paid: ChatPayment) -> None:
        """Money arrived: record it first (so it can't be lost), then start the full job. Money
        for no order we have is refunded to ``payer`` like a duplicate payment. A store that
        stays down through every retry leaves the payment to recovery (:meth:`reconcile`): the
        person is told it arrived and what will follow."""
        try:
            result = await self._record(payer, paid, PAYMENT_STORE_RETRY_S)
        except Exception:
            log.exception(
                "payment %s could not be recorded; recovery records it from the platform's "
                "own record of payments",
                paid.charge_id,
            )
            await chat.send_text(messages.PAYMENT_NOT_RECORDED)
            return
        await self._settle(chat, paid, result)

    async def _record(self, payer: Person, paid: ChatPayment, retry_s: tuple[float, ...] = ()) -> PaidResult:
        """Record the payment, trying again after each wait in ``retry_s`` (idempotent: a try
        that did commit makes the next one a replay)."""
        for wait in (*retry_s, None):
            try:
                return await asyncio.to_thread(
                    self.stars.record_payment,
                    paid.payload,
                    paid.currency,
                    paid.amount,
                    paid.charge_id,
                    paid.provider_ref,
                    payer_id=payer.user_id,
                )
            except Exception:
                if wait is None:
                    raise
                log.warning(
                    "recording payment %s failed; retrying in %.1f s", paid.charge_id, wait, exc_info=True
                )
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _settle(self, chat: Chat, paid: ChatPayment, result: PaidResult) -> None:
        """After the payment is recorded: refund what granted nothing, start what was granted."""
        ctx = self.ctx
        if result.outcome in (PaidOutcome.REPLAY, PaidOutcome.ALREADY_RECORDED):
            return  # the same payment reported again
        if result.needs_refund and result.payment is not None:
            status = await ctx.pay.refunder.refund_payment(
                result.payment.id, f"payment {result.outcome.value}", ctx.actor
            )
            await chat.send_text(
                messages.refunded(paid.amount, paid.currency)
                if status is RefundStatus.REFUNDED
                else messages.REFUND_FAILED
            )
            return
        if result.order is None:  # unreachable: a payment with no order needs a refund
            raise AssertionError(f"payment {paid.charge_id}: {result.outcome.value}, no order")
        try:
            confirmation: MessageRef | None = await chat.send_text(messages.payment_received(None))
        except Exception:
            # A chat that refuses messages (the person blocked the bot) must not leave a paid
            # order unstarted: start it anyway; its events end in stems or a refund.
            log.warning("could not confirm the payment in chat %s", chat.chat_id, exc_info=True)
            confirmation = None
        started = await ctx.services.fulfilment.start(result.order, f"{ctx.platform} payment")
        if confirmation is not None:
            await self._after_start(chat, result.order.id, confirmation, started)

    async def _after_start(self, chat: Chat, order_id: str, status: MessageRef, started: bool) -> None:
        ctx = self.ctx
        order = await asyncio.to_thread(ctx.pay.ledger.get_order, order_id)
        if order is None:
            return
        if not started:
            if order.state in (OrderState.REFUND_PENDING, OrderState.REFUNDED):
                # The work can never happen and no job will say so (the preview's record is
                # gone): fulfilment refunded the order itself.
                payment = await self.checkout.payment_of(order_id)
                if order.state is OrderState.REFUNDED and payment is not None:
                    text = messages.refunded(payment.amount, payment.currency, ctx.text.song_expired)
                else:
                    text = messages.REFUND_FAILED
            else:
                # A passing failure (queue down): the order stays paid and recovery starts it.
                text = messages.PAYMENT_DELAYED
            await ctx.show(chat, status, text)
            return
        record = await ctx.job(order.fulfil_job_id)
        if record is None:  # another process is submitting it right now
            await ctx.show(chat, status, messages.PAYMENT_DELAYED)
            return
        # Its events (progress, then the stems or a refund) edit this message from now on; one
        # answered from the cache or failed at once has its event in the stream already.
        await asyncio.to_thread(ctx.services.state.set_status_message, record.id, status)
        if record.finished:
            return
        ahead = await asyncio.to_thread(ctx.services.queue.position, record.id)
        if ahead:  # the message already says "separating now"
            await ctx.status(chat, record.id, messages.payment_received(ahead + 1))

    async def reconcile(self) -> int:
        """Compare the platform's own record of in-chat payments (where the frontend keeps one)
        with the ledger: every incoming payment of the last :data:`RECONCILE_WINDOW_S` that the
        ledger lacks (the store was down when it arrived) is recorded now, then fulfilled or
        refunded and told like any payment. One the platform shows refunded already is left
        alone. Returns how many were recorded; one that fails to record waits for the next
        round. Safe to run at any time, also beside the live handler (the ledger's event key
        makes the second recording a replay)."""
        history = payment_history(self.frontend)
        if history is None:
            return 0
        entries = await self._recent_history(history)
        refunded = {e.charge_id for e in entries if e.refund}
        incoming = [e for e in entries if e.payment is not None and e.payer is not None]
        known = await asyncio.to_thread(
            self.ctx.pay.ledger.known_charges, Provider.STARS, [e.charge_id for e in incoming]
        )
        recorded = 0
        for entry in incoming:
            if entry.charge_id in known:
                continue
            if entry.charge_id in refunded:
                log.warning("payment %s is refunded on the platform but not in the ledger", entry.charge_id)
                continue
            assert entry.payment is not None and entry.payer is not None
            try:
                result = await self._record(entry.payer, entry.payment)
            except Exception:
                log.exception("recovery could not record payment %s; next round", entry.charge_id)
                continue
            recorded += 1
            log.warning(
                "recovery recorded payment %s the store had missed: %s", entry.charge_id, result.outcome.value
            )
            chat = self.frontend.chat(entry.chat_id if entry.chat_id is not None else entry.payer.user_id)
            try:
                await self._settle(chat, entry.payment, result)
            except Exception:  # the chat refuses messages: the money side is done already
                log.warning(
                    "could not tell chat %s about payment %s", entry.chat_id, entry.charge_id, exc_info=True
                )
        return recorded

    async def _recent_history(self, history: PaymentHistory) -> list[ChatTransaction]:
        """The platform's entries of the last :data:`RECONCILE_WINDOW_S`, read page by page.
        The Bot API lists them oldest first; leading entries older than the window are skipped
        by later rounds. Listed newest first instead, the reading stops at the first old entry
        after a recent one, and nothing is skipped."""
        since = time.time() - RECONCILE_WINDOW_S
        offset, found, old_lead, last_at = self._history_start, [], 0, None
        ascending = True
        for _ in range(HISTORY_MAX_PAGES):
            page = await history.transactions(offset, HISTORY_PAGE)
            for entry in page:
                if last_at is not None and entry.at < last_at:
                    ascending = False
                last_at = entry.at
                if entry.at >= since:
                    found.append(entry)
                elif found:
                    return found  # newest first: everything after this is older still
                else:
                    old_lead += 1
            if len(page) < HISTORY_PAGE:
                break
            offset += len(page)
        if ascending and found:
            self._history_start += old_lead
        return found

    async def refund_in_chat(self, request: RefundRequest) -> str | None:
        """The ledger's refund callback for Telegram Stars (a card paid in Telegram is refunded
        through Stripe by payments itself). The payer's id comes from the payment record, so it
        is there after /forget too; a payment from before payer ids were kept, whose payer was
        forgotten, has none and fails plainly (an admin refunds it by hand)."""
        payer = request.platform_user_id or ""
        if request.platform is None or not payer.isdigit():
            raise RuntimeError(f"payment {request.payment_id}: the payer's id is not known")
        try:
            await self.frontend.refund(Person(request.platform, int(payer)), request.payment.charge_id)
        except Exception as err:
            if any(marker in str(err).lower() for marker in ALREADY_REFUNDED_MARKERS):
                return None
            raise
        return None
