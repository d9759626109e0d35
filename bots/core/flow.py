"""The bot's whole conversation, platform-neutral: upload → validate → enqueue → progress →
preview → pay → deliver → feedback, plus the commands around it.

A frontend (``bots.telegram``, ``bots.discord``) turns its platform's updates into the
``on_*`` calls below and implements :class:`~bots.core.ports.Chat` for the replies; it never
decides what to say. :class:`Flow` routes each call to the part that owns it:

* :mod:`bots.core.songs` — a song in, a preview out;
* :mod:`bots.core.checkout` — orders, invoices, card links, pre-checkout, payments, refunds;
* :mod:`bots.core.results` — the paid stems out, reactions and 👍/👎 in;
* :mod:`bots.core.commands` — /start … /forget and the admin commands;
* :mod:`bots.core.karaoke_tools` — the karaoke buttons and the preview clip in a new key.

Results arrive as job events (a Redis Stream read by :meth:`Flow.run_events`), not as replies to
the upload, so a bot that restarts mid-job still delivers; delivery is idempotent because an
event can come twice (``record.delivered_at`` is checked first). Every paid result arrives this
way, also one answered from the same-song cache. Events are handled concurrently (one job's in
order); one that keeps failing (the person blocked the bot) is given up after a few tries
(:meth:`Flow.on_event_given_up`: a paid result that can't be handed over is refunded).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

from bots.core import keyboards
from bots.core.checkout import Checkout
from bots.core.commands import Commands
from bots.core.context import Context
from bots.core.karaoke_tools import KaraokeTools
from bots.core.ports import (
    Chat,
    ChatPayment,
    Frontend,
    MessageRef,
    Person,
    Reaction,
    Upload,
    event_chat,
    payment_history,
    supports_invoices,
)
from bots.core.results import Results
from bots.core.services import Services
from bots.core.songs import Songs
from jobs import EventType, JobEvent, JobKind
from jobs.analysis import ANALYSIS_KIND
from jobs.events import KARAOKE_KIND, UPLOAD_KIND
from payments import Provider
from service import logs
from texts import chat as messages
from texts.languages import speak

log = logging.getLogger(__name__)

# How often a bot looks for waiting previews due to be told their wait again (each one is told
# every WAIT_UPDATE_INTERVAL_S; this only sets how late a turn may be taken).
WAIT_UPDATES_POLL_S = 2.0


def person_locale(person: Person | None) -> str | None:
    return person.locale if person is not None else None


class Flow:
    """One instance per bot process, shared by all chats."""

    def __init__(self, frontend: Frontend, services: Services, spool_dir: Path) -> None:
        self.ctx = Context(frontend, services, spool_dir)
        self.songs = Songs(self.ctx)
        self.results = Results(self.ctx, refund=self._refund)
        self.checkout = Checkout(self.ctx)
        self.commands = Commands(self.ctx)
        self.karaoke = KaraokeTools(self.ctx)

    @property
    def frontend(self) -> Frontend:
        return self.ctx.frontend

    async def _refund(self, chat: Chat, order_id: str, reason: str) -> None:
        await self.checkout.refund(chat, order_id, reason)

    # ================================================================== start-up

    @property
    def owns_recovery(self) -> bool:
        """Payments' recovery runs in one process per deployment: the web server where it takes
        Stripe's webhooks (``STRIPE_WEBHOOK_SECRET`` set,
        :attr:`payments.Settings.takes_stripe_webhooks`); without them, the bot that takes money
        in the chat (Telegram). A bot that sells only by card link (Discord) never runs it."""
        service = self.ctx.pay.settings.takes_stripe_webhooks
        return supports_invoices(self.frontend) and not service

    async def resume(self) -> None:
        """At start-up: register in-chat refunds and re-send this bot's pending ones; where this
        process owns recovery (:attr:`owns_recovery`), paid orders whose job never started are
        started now. Finished work needs nothing here: its events wait in the stream for
        :meth:`run_events`."""
        pay, ctx = self.ctx.pay, self.ctx
        if supports_invoices(self.frontend):
            pay.refunder.register(Provider.STARS, self.checkout.invoices.refund_in_chat)
        await self._reconcile()
        if self.owns_recovery:
            await pay.recover(ctx.services.bridge.on_paid, ctx.services.bridge.give_up)
        elif supports_invoices(self.frontend):
            await pay.refunder.retry_pending(ctx.actor)

    def close(self) -> None:
        self.ctx.close()

    @property
    def reconciles(self) -> bool:
        """In-chat payments the store missed are looked for in the platform's own record by the
        bot that takes them — the only process that can read it — whoever owns recovery."""
        return supports_invoices(self.frontend) and payment_history(self.frontend) is not None

    async def _reconcile(self) -> None:
        if not self.reconciles:
            return
        try:
            await self.checkout.invoices.reconcile()
        except Exception:  # the platform or the store is down: the next round tries again
            log.exception("reconciling in-chat payments failed")

    async def run_recovery(self, stop: asyncio.Event, interval_s: float) -> None:
        """Every ``interval_s`` until ``stop``: in-chat payments the store missed are recorded
        from the platform's own record (:attr:`reconciles`); and, where this process owns
        recovery (:attr:`owns_recovery`), payments' recovery again — a paid order whose job
        could not be started (the queue was briefly down) is started, or refunded after
        ``MAX_FULFIL_ATTEMPTS``; refunds left pending are sent again. With neither to do it
        returns at once."""
        if not self.owns_recovery and not self.reconciles:
            return
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
                return
            await self._reconcile()
            if not self.owns_recovery:
                continue
            try:
                bridge = self.ctx.services.bridge
                await self.ctx.pay.recover(bridge.on_paid, bridge.give_up)
            except Exception:  # the store or the queue is down: try again next round
                log.exception("periodic recovery failed")

    # ================================================================== job events

    async def run_events(self, stop: asyncio.Event) -> None:
        """Consume this platform's job events until ``stop`` is set."""
        await self.ctx.services.events.run(self.on_job_event, stop, self.on_event_given_up)

    def _event_chat(self, event: JobEvent) -> Chat:
        """Where an event is answered: the chat the song came from — except that what is the
        person's own (a paid job's messages, a karaoke clip, a refund notice) goes to the person
        alone where that chat is public (:class:`~bots.core.ports.PersonalChats`)."""
        personal = event.kind in (JobKind.FULL, KARAOKE_KIND) or bool(event.order_id)
        person = Person(event.platform, int(event.user_id))
        return event_chat(self.frontend, int(event.chat_id), person, personal, event.job_id)

    async def on_job_event(self, event: JobEvent) -> None:
        """Answered in the language the job record carries (the person's when the song came);
        every line logged meanwhile names the job and its platform."""
        with speak(event.language), logs.about_job(event.job_id, event.platform):
            await self._on_job_event(event)

    async def _on_job_event(self, event: JobEvent) -> None:
        chat = self._event_chat(event)
        if event.kind == KARAOKE_KIND:  # a preview clip in a new key: not the preview's status
            await self.karaoke.on_event(chat, event)
            return
        if event.kind == ANALYSIS_KIND:  # key and tempo, after the stems: edited into the status
            await self.songs.show_key_and_tempo(chat, event.job_id)
            return
        if event.kind == UPLOAD_KIND:  # a song in through an upload link: as if sent here
            await self.songs.on_uploaded(chat, event.job_id)
            return
        full = event.kind == JobKind.FULL
        if event.type is EventType.WAITING:
            await self.songs.show_wait(chat, event)
        elif event.type is EventType.PROGRESS:
            await self.ctx.status(chat, event.job_id, messages.progress(event.progress, full))
        elif event.type is EventType.RETRYING:
            await self.ctx.status(chat, event.job_id, messages.RETRYING)
        elif event.type is EventType.DONE:
            record = await self.ctx.job(event.job_id)
            if record is None:
                log.error("done event for a job with no record: %s", event.job_id)
            elif full:
                await self.results.deliver_full(chat, record)
            else:
                await self.songs.deliver_preview(chat, record)
        else:
            await self._ended_badly(chat, event)

    async def _ended_badly(self, chat: Chat, event: JobEvent) -> None:
        """A failed or cancelled job: free preview given back, paid job refunded once."""
        if event.type is EventType.CANCELLED:
            if not event.refund and await self.ctx.job(event.job_id) is None:
                return  # the person used /forget: their jobs were cancelled and deleted
            text = messages.CANCELLED
        else:
            said = self.ctx.text.error(event.error_code, event.error_params, event.error_message)
            text = said or messages.JOB_FAILED
        if event.kind == JobKind.PREVIEW:
            users = self.ctx.pay.users
            # get, not get_or_create: after /forget the cancel event must not bring them back.
            user = await asyncio.to_thread(users.get, event.platform, event.user_id)
            if user is not None:
                await asyncio.to_thread(users.release_preview, user)
        if event.refund and event.order_id:
            told = said if event.type is EventType.FAILED else None
            await self.checkout.refund(chat, event.order_id, f"{event.type}: {event.error_code}", told)
        else:
            await self.ctx.status(chat, event.job_id, text)

    async def on_event_given_up(self, event: JobEvent, error: BaseException | None) -> None:
        """An event that failed every try (the person blocked the bot, a file that can't be
        sent). Only money needs an answer: a paid result that can't be handed over is refunded,
        and its files are let go; a paid job that ended badly is refunded. The person is told if
        the chat still takes messages. Raising here keeps the event for another try."""
        if not event.order_id:
            return
        with speak(event.language):
            await self._given_up(event, error)

    async def _given_up(self, event: JobEvent, error: BaseException | None) -> None:
        assert event.order_id is not None  # on_event_given_up answers paid jobs only
        if event.type is EventType.DONE:
            reason = f"could not deliver: {type(error).__name__ if error else 'no answer'}"
            told: str | None = messages.UNDELIVERABLE
        elif event.refund:
            reason = f"{event.type}: {event.error_code}"
            told = self.ctx.text.error(event.error_code, event.error_params, event.error_message)
        else:
            return
        await self.checkout.refund(None, event.order_id, reason)
        if event.type is EventType.DONE:
            record = await self.ctx.job(event.job_id)
            if record is not None:
                await asyncio.to_thread(self.ctx.services.queue.release, record.id)
        try:
            await self.checkout.tell_refunded(self._event_chat(event), event.order_id, told)
        except Exception:  # the chat is what failed in the first place
            log.warning(
                "could not tell chat %s about the refund of %s", event.chat_id, event.order_id, exc_info=True
            )

    async def run_wait_updates(self, stop: asyncio.Event, interval_s: float = WAIT_UPDATES_POLL_S) -> None:
        """Every ``interval_s`` until ``stop``: the waiting previews of this platform whose turn
        has come are told their place and expected wait again, as WAITING events on the stream
        (:mod:`jobs.wait_updates`: at most once per ``WAIT_UPDATE_INTERVAL_S`` each, however many
        replicas run this), which :meth:`run_events` turns into edits of their status messages."""
        queue = self.ctx.services.queue
        while not stop.is_set():
            try:
                await asyncio.to_thread(queue.announce_waits, self.frontend.platform)
            except Exception:  # Redis is down: the next round tries again
                log.warning("telling the waiting previews their wait failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    # ================================================================== songs and buttons

    async def on_upload(self, chat: Chat, person: Person, upload: Upload) -> None:
        with speak(await self.ctx.language(person)):
            await self.songs.on_upload(chat, person, upload)

    async def on_upload_command(self, chat: Chat, person: Person) -> None:
        """/upload: a one-time link to send a song from the browser (any size up to ours)."""
        with speak(await self.ctx.language(person)):
            user = await self.ctx.user(person)
            refused = self.ctx.admission.refuse_banned(user)
            if refused is not None:
                await chat.send_text(refused.user_message)
                return
            await self.songs.offer_link(chat, person)

    async def on_unsupported(self, chat: Chat, person: Person) -> None:
        with speak(await self.ctx.language(person)):
            await chat.send_text(self.ctx.text.send_a_song)

    async def on_button(
        self, chat: Chat, person: Person, action: str, arg: str, message: MessageRef
    ) -> str | None:
        """Handle a tap; the returned text is shown briefly by the platform (or None)."""
        if action == keyboards.LANGUAGE:
            return await self.commands.choose_language(person, arg)
        with speak(await self.ctx.language(person)):
            return await self._on_button(chat, person, action, arg, message)

    async def _on_button(
        self, chat: Chat, person: Person, action: str, arg: str, message: MessageRef
    ) -> str | None:
        if action == keyboards.FORMAT:
            return await self.songs.choose_format(person, arg)
        if action == keyboards.FEEDBACK:
            return await self.results.button(person, arg)
        if action == keyboards.KARAOKE_SETTINGS:
            return await self.karaoke.settings_button(person, arg)
        if action == keyboards.KARAOKE_PREVIEW:
            return await self.karaoke.preview_button(person, arg)
        if action == keyboards.SHOW_PAGE:
            return await self.results.page_button(chat, person, arg)
        if action in (keyboards.BUY, keyboards.CARD):
            return await self.checkout.buy(chat, person, arg, by_card=action == keyboards.CARD)
        return None

    # ================================================================== paying

    async def on_pre_checkout(self, person: Person, payload: str, amount: int, currency: str) -> str | None:
        """None to accept, else the refusal shown in the payment sheet."""
        with speak(await self.ctx.language(person)):
            return await self.checkout.invoices.pre_checkout(person, payload, amount, currency)

    async def on_payment(self, chat: Chat, person: Person, paid: ChatPayment) -> None:
        with speak(await self.ctx.language(person)):
            await self.checkout.invoices.payment(chat, person, paid)

    # ================================================================== feedback

    async def on_reaction(self, person: Person, reaction: Reaction) -> None:
        """One emoji added to or taken off a message (see :class:`Reaction`)."""
        await self.results.reaction(person, reaction)

    # ================================================================== commands

    async def on_start(self, chat: Chat, person: Person) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.start(chat, person)

    async def on_help(self, chat: Chat, person: Person) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.help(chat, person)

    async def on_settings(self, chat: Chat, person: Person) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.settings(chat, person)

    async def on_history(self, chat: Chat, person: Person) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.history(chat, person)

    async def on_cancel(self, chat: Chat, person: Person) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.cancel(chat, person)

    async def on_status(self, chat: Chat, person: Person) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.status(chat, person)

    async def on_forget(self, chat: Chat, person: Person, confirmed: bool) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.forget(chat, person, confirmed)

    async def on_language(self, chat: Chat, person: Person, choice: str | None) -> None:
        """/language: the buttons of every language, or (with a choice) switch to it."""
        await self.commands.language(chat, person, choice)

    async def on_admin(self, chat: Chat, person: Person, command: str, args: Sequence[str]) -> None:
        with speak(await self.ctx.language(person)):
            await self.commands.admin(chat, person, command, args)

    async def on_internal_error(self, chat: Chat, person: Person | None = None) -> None:
        """Something failed handling ``person``'s update: say so, in their language when the
        store still answers (it may be what failed)."""
        code = None
        if person is not None:
            with contextlib.suppress(Exception):
                code = await self.ctx.language(person)
        with speak(code or person_locale(person)):
            await chat.send_text(messages.INTERNAL_ERROR)
