"""Paying: an order per song, then an in-chat invoice (:mod:`bots.core.invoices`, only where the
platform has them) or a card link; refunds.

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

from bots.core import keyboards
from bots.core.context import Context
from bots.core.invoices import InChatCheckout
from bots.core.ports import Chat, Person, in_chat_payments, supports_invoices
from jobs import JobError, JobKind
from payments import OrderState, Payment, RefundStatus, SongExpiring
from texts import chat as messages
from texts import languages

log = logging.getLogger(__name__)


class Checkout:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._invoices: InChatCheckout | None = None

    @property
    def invoices(self) -> InChatCheckout:
        """Invoices in the chat (Telegram); :class:`NotImplementedError` on a platform without
        them, which never builds the Stars side at all."""
        if self._invoices is None:
            self._invoices = InChatCheckout(self.ctx, in_chat_payments(self.ctx.frontend), self)
        return self._invoices

    # ------------------------------------------------------------------ buy buttons

    async def buy(self, chat: Chat, person: Person, job_id: str, by_card: bool) -> str | None:
        """Open (or reuse) the order for a previewed song and send an invoice or a card link."""
        ctx = self.ctx
        if not by_card and not supports_invoices(ctx.frontend):
            return ctx.text.NO_IN_CHAT_PAYMENTS  # a forged button: this platform sells by link
        if by_card and not ctx.offers_card_link:
            return ctx.text.card_unavailable  # a forged button: no card link is offered here
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
            await chat.send_text(ctx.text.song_expired)
            return None
        ledger = ctx.pay.ledger
        # The order carries the format and the karaoke version (same price): the paid job makes
        # them, whoever starts the job.
        fmt = await ctx.output_format(person.user_id)
        karaoke = await ctx.karaoke(person.user_id) if ctx.karaoke_enabled else None
        order = await asyncio.to_thread(
            ledger.create_order,
            user,
            preview.content_hash,
            preview.id,
            output_format=fmt,
            karaoke=None if karaoke is None or karaoke.is_identity else karaoke.to_string(),
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
                return ctx.text.card_unavailable
            try:  # the session expires before the song can be deleted
                link = await stripe.create_session(order, keep_s=keep_s, language=languages.current())
            except SongExpiring:
                await chat.send_text(ctx.text.song_expired)
                return None
            await asyncio.to_thread(ledger.attach_checkout_session, order.id, link.session_id)
            await chat.send_text(messages.card_link(link.url), keyboards.card_link(link.url))
            return None
        await self.invoices.send(chat.chat_id, preview, order, fmt)
        return None

    # ------------------------------------------------------------------ refunds

    async def refund(self, chat: Chat | None, order_id: str, reason: str, told: str | None = None) -> None:
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
        payment = await self.payment_of(order_id)
        if order is not None and order.state is OrderState.REFUNDED and payment is not None:
            await chat.send_text(messages.refunded(payment.amount, payment.currency, told))
        else:
            await chat.send_text(messages.REFUND_FAILED)

    async def payment_of(self, order_id: str) -> Payment | None:
        paid = await asyncio.to_thread(self.ctx.pay.ledger.payments_for, order_id)
        return next((p for p in paid if p.granted), paid[0] if paid else None)
