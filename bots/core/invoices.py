"""Payments inside the chat (Telegram Stars, or cards through a provider token): the invoice,
the pre-checkout answer within the platform's deadline, the payment, and its refund.

Only a frontend implementing :class:`~bots.core.ports.InChatPayments` gets here (the core builds
this part on first use, through :func:`~bots.core.ports.in_chat_payments`); on any other platform
the Stars side is never built. The order of operations protects the money: a payment is recorded
in the ledger before anything else happens.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING

from bots import messages
from bots.core.context import Context
from bots.core.ports import Chat, ChatPayment, InChatPayments, Invoice, MessageRef, Person
from jobs import JobRecord
from payments import OrderState, PaidOutcome, RefundRequest, RefundStatus, StarsPayments
from payments.records import Order

if TYPE_CHECKING:
    from bots.core.checkout import Checkout

log = logging.getLogger(__name__)

# Answer the pre-checkout question this long before the platform's deadline at the latest.
PRE_CHECKOUT_MARGIN_S = 2.0
# A Stars refund retried after a crash: Telegram says it was already made, which is success.
ALREADY_REFUNDED_MARKERS = ("already_refunded", "charge_already_refunded")


class InChatCheckout:
    def __init__(self, ctx: Context, frontend: InChatPayments, checkout: Checkout) -> None:
        self.ctx = ctx
        self.frontend = frontend
        self.checkout = checkout
        self.pre_checkout_timeout_s = max(1.0, frontend.pre_checkout_deadline_s - PRE_CHECKOUT_MARGIN_S)

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

    async def pre_checkout(
        self, person: Person, payload: str, amount: int, currency: str
    ) -> str | None:
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
        return self.ctx.text.error(decision.code, decision.error_message) or messages.CHECKOUT_REFUSED

    async def payment(self, chat: Chat, payer: Person, paid: ChatPayment) -> None:
        """Money arrived: record it first (so it can't be lost), then start the full job. Money
        for no order we have is refunded to ``payer`` like a duplicate payment."""
        ctx = self.ctx
        result = await asyncio.to_thread(
            self.stars.record_payment,
            paid.payload,
            paid.currency,
            paid.amount,
            paid.charge_id,
            paid.provider_ref,
            payer_id=payer.user_id,
        )
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
            status: MessageRef | None = await chat.send_text(messages.payment_received(None))
        except Exception:
            # A chat that refuses messages (the person blocked the bot) must not leave a paid
            # order unstarted: start it anyway; its events end in stems or a refund.
            log.warning("could not confirm the payment in chat %s", chat.chat_id, exc_info=True)
            status = None
        started = await ctx.services.fulfilment.start(result.order, f"{ctx.platform} payment")
        if status is not None:
            await self._after_start(chat, result.order.id, status, started)

    async def _after_start(
        self, chat: Chat, order_id: str, status: MessageRef, started: bool
    ) -> None:
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
                    text = messages.refunded(
                        payment.amount, payment.currency, ctx.text.song_expired
                    )
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

    async def refund_in_chat(self, request: RefundRequest) -> str | None:
        """The ledger's refund callback for Telegram Stars (a card paid in Telegram is refunded
        through Stripe by payments itself)."""
        try:
            await self.frontend.refund(
                Person(request.platform, int(request.platform_user_id)), request.payment.charge_id
            )
        except Exception as err:
            if any(marker in str(err).lower() for marker in ALREADY_REFUNDED_MARKERS):
                return None
            raise
        return None
