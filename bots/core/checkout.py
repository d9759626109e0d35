"""Paying: an order per song, an in-chat invoice or a card link, pre-checkout, payment, refunds.

Every rule about money lives in ``payments`` (what may be paid, at what price, whether a payment
grants or must go back); this module asks it and talks to the person. The order of operations
protects the money: a payment is recorded in the ledger before anything else happens, and a paid
order that cannot be fulfilled is refunded through the ledger exactly once.

What happens after a payment reaches the person through job events only — stems from a job or
from the same-song cache (``done``), a refund when the job failed or the song had expired
(``failed`` with ``refund``) — whichever process took the money.
"""

from __future__ import annotations

import asyncio
import logging

from bots import messages
from bots.core import keyboards
from bots.core.context import Context
from bots.core.ports import Chat, ChatPayment, Invoice, MessageRef, Person
from jobs import JobError, JobKind
from payments import (
    OrderState,
    PaidOutcome,
    Payment,
    RefundRequest,
    RefundStatus,
    SongExpiring,
)

log = logging.getLogger(__name__)

# Telegram cancels a payment whose pre-checkout query is not answered within 10 s.
PRE_CHECKOUT_TIMEOUT_S = 8.0
# A Stars refund retried after a crash: Telegram says it was already made, which is success.
ALREADY_REFUNDED_MARKERS = ("already_refunded", "charge_already_refunded")


class Checkout:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ buy buttons

    async def buy(self, chat: Chat, person: Person, job_id: str, by_card: bool) -> str | None:
        """Open (or reuse) the order for a previewed song and send an invoice or a card link."""
        ctx = self.ctx
        preview = await ctx.owned_job(person, job_id)
        if preview is None or preview.kind is not JobKind.PREVIEW:
            return messages.ORDER_UNKNOWN
        user = await ctx.user(person)
        if user.banned:
            return messages.BANNED
        try:
            # Someone wants to pay for it: keep the song a full retention period from now.
            keep_s = await asyncio.to_thread(ctx.services.queue.keep_song, preview.id)
        except JobError:
            await chat.send_text(messages.SONG_EXPIRED)
            return None
        ledger = ctx.pay.ledger
        # The order carries the format: the paid job runs in it, whoever starts the job.
        fmt = await ctx.output_format(person.user_id)
        order = await asyncio.to_thread(
            ledger.create_order, user, preview.content_hash, preview.id, output_format=fmt
        )
        if order.state in (OrderState.PAID, OrderState.DELIVERED):
            await chat.send_text(messages.ORDER_ALREADY_PAID)
            return None
        if not order.payable:
            await chat.send_text(messages.CHECKOUT_REFUSED)
            return None
        if by_card:
            stripe = ctx.pay.stripe
            if stripe is None:
                return messages.CARD_UNAVAILABLE
            try:  # the session expires before the song can be deleted
                link = await stripe.create_session(order, keep_s=keep_s)
            except SongExpiring:
                await chat.send_text(messages.SONG_EXPIRED)
                return None
            await asyncio.to_thread(ledger.attach_checkout_session, order.id, link.session_id)
            await chat.send_text(messages.card_link(link.url), keyboards.card_link(link.url))
            return None
        invoice = ctx.services.stars.invoice(order)
        title, _ = await ctx.tags(preview)
        await chat.send_invoice(
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
        return None

    # ------------------------------------------------------------------ in-chat payment

    async def pre_checkout(
        self, person: Person, payload: str, amount: int, currency: str
    ) -> str | None:
        """None to accept, else the refusal shown in the payment sheet."""
        try:
            decision = await asyncio.wait_for(
                asyncio.to_thread(
                    self.ctx.services.stars.check_pre_checkout,
                    person.user_id,
                    payload,
                    currency,
                    amount,
                ),
                PRE_CHECKOUT_TIMEOUT_S,
            )
        except Exception:
            # Refusing is safe (no money moves); accepting blind could take money for nothing.
            log.exception("pre-checkout check failed; refusing")
            return messages.CHECKOUT_REFUSED
        return None if decision.ok else (decision.error_message or messages.CHECKOUT_REFUSED)

    async def payment(self, chat: Chat, paid: ChatPayment) -> None:
        """Money arrived: record it first (so it can't be lost), then start the full job."""
        ctx = self.ctx
        result = await asyncio.to_thread(
            ctx.services.stars.record_payment,
            paid.payload,
            paid.currency,
            paid.amount,
            paid.charge_id,
            paid.provider_ref,
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
        if result.order is None:  # PaidOutcome.UNKNOWN_ORDER: nothing to grant or refund by
            log.error(
                "payment %s for an unknown order (payload %r)", paid.charge_id, paid.payload[:40]
            )
            await chat.send_text(messages.REFUND_FAILED)
            return
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
                payment = await self._payment_of(order_id)
                if order.state is OrderState.REFUNDED and payment is not None:
                    text = messages.refunded(
                        payment.amount, payment.currency, messages.SONG_EXPIRED
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

    # ------------------------------------------------------------------ refunds

    async def refund(
        self, chat: Chat | None, order_id: str, reason: str, told: str | None = None
    ) -> None:
        """Refund a paid order once and tell the person (``told``: why, in their words; no
        ``chat``: don't try); repeated events change nothing."""
        ctx = self.ctx
        status = await ctx.pay.refunder.refund_order(order_id, reason, ctx.actor)
        if status is RefundStatus.SKIPPED:
            return  # already refunded (a redelivered event) or never paid
        if status is not RefundStatus.REFUNDED:
            log.error("refund of order %s is pending; it is retried at start-up", order_id)
        if chat is not None:
            await self.tell_refunded(chat, order_id, told)

    async def tell_refunded(self, chat: Chat, order_id: str, told: str | None = None) -> None:
        """Tell the person where their order's refund is: done (with ``told``, why), or not
        confirmed yet (it is retried, and an admin sees it)."""
        order = await asyncio.to_thread(self.ctx.pay.ledger.get_order, order_id)
        payment = await self._payment_of(order_id)
        if order is not None and order.state is OrderState.REFUNDED and payment is not None:
            await chat.send_text(messages.refunded(payment.amount, payment.currency, told))
        else:
            await chat.send_text(messages.REFUND_FAILED)

    async def refund_in_chat(self, request: RefundRequest) -> str | None:
        """The ledger's refund callback for Telegram Stars (a card paid in Telegram is refunded
        through Stripe by payments itself)."""
        try:
            await self.ctx.frontend.refund(
                Person(request.platform, int(request.platform_user_id)), request.payment.charge_id
            )
        except Exception as err:
            if any(marker in str(err).lower() for marker in ALREADY_REFUNDED_MARKERS):
                return None
            raise
        return None

    async def _payment_of(self, order_id: str) -> Payment | None:
        paid = await asyncio.to_thread(self.ctx.pay.ledger.payments_for, order_id)
        return next((p for p in paid if p.granted), paid[0] if paid else None)
