"""The bot's whole conversation, platform-neutral: upload → validate → enqueue → progress →
preview → pay → deliver → feedback, plus the commands around it.

A frontend (``bots.telegram``, later ``bots.discord``) turns its platform's updates into calls on
:class:`Flow` and implements :class:`~bots.core.ports.Chat` for the replies. The flow talks to the
job pipeline and the payments store through :class:`~bots.core.services.Services`; both are
synchronous libraries, so every call into them goes through ``asyncio.to_thread`` and the chat
stays responsive while a song is being decoded or a transaction commits.

Results come back as job events (a Redis Stream read by :meth:`Flow.run_events`), not as replies
to the upload: a bot that restarts mid-job still delivers, and delivery is idempotent because
events can come twice (``record.delivered_at`` is checked first).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bots import messages
from bots.core import intake
from bots.core.delivery import StemsTooLarge, fit_for_upload
from bots.core.ports import Button, Chat, Frontend, Invoice, Keyboard, MessageRef, Person, Upload
from bots.core.services import Services
from engine.constants import OUTPUT_FORMATS
from engine.errors import AudioError
from jobs import EventType, JobError, JobEvent, JobKind, JobRecord, JobStatus
from payments import (
    SOURCE_BUTTON,
    SOURCE_REACTION,
    AccessLevel,
    OrderState,
    PaidOutcome,
    Provider,
    RefundRequest,
    RefundStatus,
    User,
    UserError,
    build_invoice,
    rating_for_reaction,
)

log = logging.getLogger(__name__)

# Button actions (kept short: Telegram allows 64 bytes of callback data, job ids take 32).
ACTION_BUY = "buy"
ACTION_CARD = "card"
ACTION_FORMAT = "fmt"
ACTION_FEEDBACK = "fb"
FEEDBACK_UP = "up"
FEEDBACK_DOWN = "down"
STEMS = ("vocals", "instrumental")
DEFAULT_PERFORMER = "Vocal Remover"
# Stars refunds already made count as done (Telegram answers CHARGE_ALREADY_REFUNDED).
ALREADY_REFUNDED_MARKERS = ("already_refunded", "charge_already_refunded")
PRE_CHECKOUT_TIMEOUT_S = 8.0  # Telegram cancels the payment after 10 s without an answer


class Flow:
    """One instance per bot process, shared by all chats."""

    def __init__(self, frontend: Frontend, services: Services, spool_dir: Path) -> None:
        self.frontend = frontend
        self.services = services
        self.spool_dir = spool_dir
        self.platform = frontend.platform
        self.actor = frontend.platform  # how this bot appears in the ledger

    # ================================================================== small helpers

    @property
    def _pay(self):  # noqa: ANN202 - payments.Payments; kept short for readability below
        return self.services.payments

    async def _user(self, person: Person) -> User:
        return await asyncio.to_thread(
            self._pay.users.get_or_create, person.platform, person.user_id
        )

    def _is_admin(self, person: Person) -> bool:
        return self._pay.settings.is_admin(person.platform, person.user_id)

    async def _job(self, job_id: str) -> JobRecord | None:
        return await asyncio.to_thread(self.services.queue.get, job_id)

    async def _owned_job(self, person: Person, job_id: str) -> JobRecord | None:
        """The job if it belongs to this person on this platform — never someone else's."""
        record = await self._job(job_id) if job_id else None
        if record is None or record.platform != person.platform:
            return None
        if record.user_id != str(person.user_id):
            return None
        return record

    def _format_keyboard(self, current: str) -> list[Button]:
        return [
            Button(messages.format_button(fmt, current), ACTION_FORMAT, fmt)
            for fmt in OUTPUT_FORMATS
        ]

    def _preview_keyboard(self, job_id: str, current_format: str) -> Keyboard:
        price = self._pay.settings.price_stars
        rows: list[list[Button]] = []
        if self.frontend.supports_invoices:
            rows.append([Button(messages.buy_stars_button(price), ACTION_BUY, job_id)])
        if self._pay.stripe is not None:
            rows.append([Button(messages.PAY_BY_CARD_BUTTON, ACTION_CARD, job_id)])
        rows.append(self._format_keyboard(current_format))
        return rows

    def _feedback_keyboard(self, job_id: str) -> Keyboard:
        return [
            [
                Button(messages.THUMBS_UP, ACTION_FEEDBACK, f"{FEEDBACK_UP}:{job_id}"),
                Button(messages.THUMBS_DOWN, ACTION_FEEDBACK, f"{FEEDBACK_DOWN}:{job_id}"),
            ]
        ]

    async def _tags(self, record: JobRecord) -> tuple[str, str]:
        """Title and performer for the stems: what the person's app showed, else the file name."""
        for job_id in (record.id, record.source_job_id):
            if job_id:
                tags = await asyncio.to_thread(self.services.state.tags, job_id)
                if tags:
                    return tags
        return Path(record.filename or "song").stem or "song", DEFAULT_PERFORMER

    async def _status(self, chat: Chat, job_id: str, text: str) -> None:
        """Edit the job's status message, or send one if it is unknown (e.g. a card payment)."""
        ref = await asyncio.to_thread(self.services.state.status_message, job_id)
        if ref is None:
            ref = await chat.send_text(text)
            await asyncio.to_thread(self.services.state.set_status_message, job_id, ref)
        else:
            await chat.edit_text(ref, text)

    # ================================================================== commands

    async def on_start(self, chat: Chat, person: Person) -> None:
        await self._user(person)
        settings = self.services.queue.settings
        await chat.send_text(
            messages.start(
                price_stars=self._pay.settings.price_stars,
                retention_hours=round(settings.retention_s / 3600),
                max_minutes=round(settings.max_duration_s / 60),
            )
        )

    async def on_help(self, chat: Chat, person: Person) -> None:
        await chat.send_text(messages.help_text(self._is_admin(person)))

    async def on_settings(self, chat: Chat, person: Person) -> None:
        current = await asyncio.to_thread(self.services.state.output_format, person.user_id)
        await chat.send_text(messages.settings(current), [self._format_keyboard(current)])

    async def on_history(self, chat: Chat, person: Person) -> None:
        user = await self._user(person)
        orders = await asyncio.to_thread(self._pay.ledger.user_orders, user.id)
        lines = [
            f"{o.created_at:%Y-%m-%d} · {o.price_stars} ⭐ · {o.state.value}" for o in orders
        ]
        await chat.send_text(messages.history(lines))

    async def on_cancel(self, chat: Chat, person: Person) -> None:
        """Cancel the person's previews in line (paid jobs run to the end: they were bought)."""
        queue = self.services.queue
        active = await asyncio.to_thread(queue.active_jobs, person.platform, person.user_id)
        previews = [r for r in active if r.kind is JobKind.PREVIEW]
        cancelled = [
            r for r in previews if await asyncio.to_thread(queue.cancel, r.id, person.user_id)
        ]
        await chat.send_text(messages.CANCELLED if cancelled else messages.NOTHING_TO_CANCEL)

    async def on_forget(self, chat: Chat, person: Person, confirmed: bool) -> None:
        if not confirmed:
            await chat.send_text(messages.FORGET_CONFIRM)
            return
        result = await asyncio.to_thread(self._pay.forget, person.platform, person.user_id)
        if not result.forgotten:
            await chat.send_text(result.message or messages.INTERNAL_ERROR)
            return
        queue = self.services.queue
        for record in await asyncio.to_thread(queue.active_jobs, person.platform, person.user_id):
            await asyncio.to_thread(queue.cancel, record.id, person.user_id)
        await asyncio.to_thread(self.services.state.forget, person.user_id)
        await chat.send_text(messages.FORGOTTEN)

    async def on_unsupported(self, chat: Chat, person: Person) -> None:
        await chat.send_text(messages.UNSUPPORTED_MESSAGE)

    async def on_internal_error(self, chat: Chat) -> None:
        await chat.send_text(messages.INTERNAL_ERROR)

    # ================================================================== upload → preview job

    async def on_upload(self, chat: Chat, person: Person, upload: Upload) -> None:
        user = await self._user(person)
        if user.banned:
            await chat.send_text(messages.BANNED)
            return
        if not self._pay.rate_limiter.allow(f"{person.platform}:{person.user_id}"):
            await chat.send_text(messages.SLOW_DOWN)
            return
        limit = self.frontend.download_limit
        settings = self.services.queue.settings
        if upload.size is not None and limit is not None and upload.size > limit:
            await chat.send_text(messages.too_big_to_download(upload.size, limit))
            return
        status = await chat.send_text(messages.CHECKING)
        try:
            received = await intake.receive(
                upload, limit, self.spool_dir, max_duration_s=settings.max_duration_s
            )
        except intake.Rejected as rejected:
            await chat.edit_text(status, rejected.user_message)
            return
        try:
            await self._submit_preview(chat, person, user, upload, received, status)
        finally:
            received.discard()

    async def _submit_preview(
        self,
        chat: Chat,
        person: Person,
        user: User,
        upload: Upload,
        received: intake.Received,
        status: MessageRef,
    ) -> None:
        quota = await asyncio.to_thread(self._pay.users.consume_preview, user)
        if not quota.allowed:
            await chat.edit_text(status, messages.quota_exhausted(quota.limit or 0))
            return
        queue = self.services.queue
        try:
            record = await asyncio.to_thread(
                queue.submit,
                person.user_id,
                person.platform,
                chat.chat_id,
                received.path,
                kind=JobKind.PREVIEW,
                filename=upload.file_name,
            )
        except (AudioError, JobError) as err:
            await asyncio.to_thread(self._pay.users.release_preview, user)
            await chat.edit_text(status, err.user_message)
            return
        except BaseException:
            await asyncio.to_thread(self._pay.users.release_preview, user)
            raise
        title = upload.title or Path(upload.file_name).stem or "song"
        state = self.services.state
        await asyncio.to_thread(
            state.set_tags, record.id, title, upload.performer or DEFAULT_PERFORMER
        )
        await asyncio.to_thread(state.set_status_message, record.id, status)
        if record.cached:
            await chat.edit_text(status, messages.CACHED)
            await self._deliver_preview(chat, record)
            return
        ahead = await asyncio.to_thread(queue.position, record.id)
        await chat.edit_text(status, messages.received(None if ahead is None else ahead + 1))

    # ================================================================== job events

    async def run_events(self, stop: asyncio.Event) -> None:
        """Consume this platform's job events until ``stop`` is set."""
        await self.services.events.run(self.on_job_event, stop)

    async def on_job_event(self, event: JobEvent) -> None:
        chat = self.frontend.chat(int(event.chat_id))
        full = event.kind == JobKind.FULL
        if event.type is EventType.PROGRESS:
            await self._status(chat, event.job_id, messages.progress(event.progress, full))
        elif event.type is EventType.RETRYING:
            await self._status(chat, event.job_id, messages.RETRYING)
        elif event.type is EventType.DONE:
            record = await self._job(event.job_id)
            if record is None:
                log.error("done event for unknown job %s", event.job_id)
            elif full:
                await self._deliver_full(chat, record)
            else:
                await self._deliver_preview(chat, record)
        else:  # FAILED / CANCELLED
            await self._job_ended_badly(chat, event)

    async def _job_ended_badly(self, chat: Chat, event: JobEvent) -> None:
        if event.type is EventType.CANCELLED:
            text = messages.CANCELLED
        else:
            text = event.error_message or messages.PREVIEW_FAILED
        if event.kind == JobKind.PREVIEW:
            user = await self._user(Person(event.platform, int(event.user_id)))
            await asyncio.to_thread(self._pay.users.release_preview, user)
            await self._status(chat, event.job_id, text)
            return
        if event.refund and event.order_id:
            await self._refund(chat, event.order_id, f"{event.type.value}: {event.error_code}")
        else:
            await self._status(chat, event.job_id, text)

    async def _refund(self, chat: Chat, order_id: str, reason: str) -> None:
        """Refund a paid order once and tell the person; repeated events change nothing."""
        status = await self._pay.refunder.refund_order(order_id, reason, self.actor)
        if status is RefundStatus.SKIPPED:
            return  # already refunded (a redelivered event) or never paid
        paid = await asyncio.to_thread(self._pay.ledger.payments_for, order_id)
        payment = next((p for p in paid if p.granted), paid[0] if paid else None)
        if status is RefundStatus.REFUNDED and payment is not None:
            await chat.send_text(messages.refunded(payment.amount, payment.currency))
        else:
            log.error("refund of order %s is pending; an admin must check it", order_id)
            await chat.send_text(messages.REFUND_FAILED)

    # ================================================================== preview delivery

    async def _deliver_preview(self, chat: Chat, record: JobRecord) -> None:
        if record.delivered_at is not None:
            return  # an event handed out twice: the person already has it
        queue = self.services.queue
        title, performer = await self._tags(record)
        fmt = await asyncio.to_thread(self.services.state.output_format, record.user_id)
        workdir = Path(tempfile.mkdtemp(prefix=f"preview-{record.id[:8]}-", dir=self._spool()))
        try:
            files = {
                name: await asyncio.to_thread(
                    queue.fetch_output, record.id, name, workdir / Path(key).name
                )
                for name, key in record.outputs.items()
            }
            refs = [
                await chat.send_audio(
                    files["instrumental"],
                    title=messages.instrumental_title(title),
                    performer=performer,
                ),
                await chat.send_audio(
                    files["vocals"], title=messages.vocals_title(title), performer=performer
                ),
                await chat.send_image(
                    files["waveform"],
                    caption=messages.preview_caption(
                        record.preview_start_s or 0.0,
                        min(queue.settings.preview_length_s, record.duration_s),
                        self._pay.settings.price_stars,
                        card=self._pay.stripe is not None,
                    ),
                    buttons=self._preview_keyboard(record.id, fmt),
                ),
            ]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await asyncio.to_thread(self.services.state.remember_results, record.id, refs)
        await asyncio.to_thread(queue.mark_delivered, record.id)
        await self._status(chat, record.id, messages.PREVIEW_READY)

    def _spool(self) -> Path:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        return self.spool_dir

    # ================================================================== buttons

    async def on_button(
        self, chat: Chat, person: Person, action: str, arg: str, message: MessageRef
    ) -> str | None:
        """Handle a tap; the returned text is shown briefly by the platform (or None)."""
        if action == ACTION_FORMAT:
            return await self._choose_format(person, arg)
        if action == ACTION_FEEDBACK:
            vote, _, job_id = arg.partition(":")
            return await self._feedback_button(person, job_id, vote)
        if action in (ACTION_BUY, ACTION_CARD):
            return await self._buy(chat, person, arg, by_card=action == ACTION_CARD)
        return None

    async def _choose_format(self, person: Person, fmt: str) -> str | None:
        if fmt not in OUTPUT_FORMATS:
            return None
        await asyncio.to_thread(self.services.state.set_output_format, person.user_id, fmt)
        return messages.format_saved(fmt)

    async def _buy(self, chat: Chat, person: Person, job_id: str, by_card: bool) -> str | None:
        preview = await self._owned_job(person, job_id)
        if preview is None or preview.kind is not JobKind.PREVIEW:
            return messages.ORDER_UNKNOWN
        user = await self._user(person)
        if user.banned:
            return messages.BANNED
        ledger = self._pay.ledger
        order = await asyncio.to_thread(
            ledger.create_order, user, preview.content_hash, preview.id
        )
        if order.state in (OrderState.PAID, OrderState.DELIVERED):
            await chat.send_text(messages.ORDER_ALREADY_PAID)
            return None
        if not order.payable:
            await chat.send_text(messages.CHECKOUT_REFUSED)
            return None
        if by_card:
            stripe = self._pay.stripe
            if stripe is None:
                return messages.CARD_UNAVAILABLE
            link = await stripe.create_session(order)
            await asyncio.to_thread(ledger.attach_checkout_session, order.id, link.session_id)
            await chat.send_text(
                messages.card_link(link.url),
                [[Button(messages.PAY_BY_CARD_BUTTON, url=link.url)]],
            )
            return None
        stars = build_invoice(order)
        title, _ = await self._tags(preview)
        await chat.send_invoice(
            Invoice(
                payload=stars.payload,
                title=messages.invoice_title(title),
                description=messages.invoice_description(
                    preview.duration_s / 60,
                    await asyncio.to_thread(self.services.state.output_format, person.user_id),
                ),
                label=stars.label,
                amount=stars.amount,
                currency=stars.currency,
            )
        )
        return None

    # ================================================================== paying (Telegram Stars)

    async def on_pre_checkout(
        self, person: Person, payload: str, amount: int, currency: str
    ) -> str | None:
        """None to accept, else the refusal shown in the payment sheet. Must answer in 10 s."""
        try:
            decision = await asyncio.wait_for(
                asyncio.to_thread(
                    self.services.stars.check_pre_checkout,
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

    async def on_payment(
        self,
        chat: Chat,
        person: Person,
        *,
        payload: str,
        amount: int,
        currency: str,
        charge_id: str,
        provider_ref: str | None,
    ) -> None:
        """Money arrived: record it first (so it can't be lost), then start the full job."""
        result = await asyncio.to_thread(
            self.services.stars.record_payment, payload, currency, amount, charge_id, provider_ref
        )
        if result.outcome in (PaidOutcome.REPLAY, PaidOutcome.ALREADY_RECORDED):
            return  # the same payment reported again
        if result.needs_refund and result.payment is not None:
            status = await self._pay.refunder.refund_payment(
                result.payment.id, f"payment {result.outcome.value}", self.actor
            )
            await chat.send_text(
                messages.refunded(amount, currency)
                if status is RefundStatus.REFUNDED
                else messages.REFUND_FAILED
            )
            return
        if result.outcome is PaidOutcome.UNKNOWN_ORDER or result.order is None:
            log.error("payment %s for an unknown order (payload %r)", charge_id, payload[:40])
            await chat.send_text(messages.REFUND_FAILED)
            return
        status = await chat.send_text(messages.payment_received(None))
        started = await self._pay_fulfilment_start(result.order.id)
        await self._after_fulfilment_start(chat, result.order.id, status, started)

    async def _pay_fulfilment_start(self, order_id: str) -> bool:
        order = await asyncio.to_thread(self._pay.ledger.get_order, order_id)
        if order is None:
            return False
        return await self.services.fulfilment.start(order, f"{self.platform} payment")

    async def _after_fulfilment_start(
        self, chat: Chat, order_id: str, status: MessageRef, started: bool
    ) -> None:
        order = await asyncio.to_thread(self._pay.ledger.get_order, order_id)
        if order is None:
            return
        if order.state in (OrderState.REFUND_PENDING, OrderState.REFUNDED):
            # The work can never happen (the song expired): Fulfilment refunded it.
            paid = await asyncio.to_thread(self._pay.ledger.payments_for, order_id)
            payment = next((p for p in paid if p.granted), None)
            if order.state is OrderState.REFUNDED and payment is not None:
                text = f"{messages.SONG_EXPIRED}\n{messages.refunded(payment.amount, payment.currency)}"
            else:
                text = messages.REFUND_FAILED
            await chat.edit_text(status, text)
            return
        if not started or not order.fulfil_job_id:
            await chat.edit_text(status, messages.PAYMENT_DELAYED)
            return
        job_id = order.fulfil_job_id
        await asyncio.to_thread(self.services.state.set_status_message, job_id, status)
        record = await self._job(job_id)
        if record is not None and record.status is JobStatus.DONE:
            await self._deliver_full(chat, record)  # answered from the cache: no event follows
            return
        ahead = await asyncio.to_thread(self.services.queue.position, job_id)
        if ahead:  # the message already says "separating now"
            await chat.edit_text(status, messages.payment_received(ahead + 1))

    # ================================================================== full delivery

    async def _deliver_full(self, chat: Chat, record: JobRecord) -> None:
        if record.delivered_at is not None:
            return
        queue = self.services.queue
        title, performer = await self._tags(record)
        workdir = Path(tempfile.mkdtemp(prefix=f"full-{record.id[:8]}-", dir=self._spool()))
        try:
            stems = [
                await asyncio.to_thread(
                    queue.fetch_output, record.id, name, workdir / Path(record.outputs[name]).name
                )
                for name in STEMS
            ]
            try:
                fitted = await fit_for_upload(
                    stems, record.output_format, self.frontend.upload_limit, workdir / "fit"
                )
            except StemsTooLarge:
                if record.order_id:
                    await chat.send_text(messages.still_too_big(self.frontend.upload_limit))
                    await self._refund(chat, record.order_id, "stems over the upload limit")
                return
            if fitted.fell_back:
                await chat.send_text(
                    messages.fell_back(fitted.wanted, fitted.fmt, self.frontend.upload_limit)
                )
            refs = []
            for name, path in zip(STEMS, fitted.files, strict=True):
                named = path.with_name(f"{_file_stem(title)} ({name}).{fitted.fmt}")
                path.rename(named)
                if fitted.fmt == "mp3":
                    refs.append(
                        await chat.send_audio(
                            named, title=messages.stem_title(title, name), performer=performer
                        )
                    )
                else:  # chat apps play only mp3/m4a inline; lossless goes as a file
                    refs.append(await chat.send_file(named))
            refs.append(
                await chat.send_text(
                    messages.delivered(fitted.fmt), self._feedback_keyboard(record.id)
                )
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await asyncio.to_thread(self.services.state.remember_results, record.id, refs)
        await asyncio.to_thread(queue.mark_delivered, record.id)
        if record.order_id:
            await asyncio.to_thread(self._pay.ledger.mark_delivered, record.order_id, self.actor)
        await self._status(chat, record.id, messages.FULL_READY)

    async def resume(self) -> None:
        """At start-up: re-send refunds and paid work a crash interrupted (payments' recovery),
        then deliver paid orders whose job already finished without an event to say so."""
        self._pay.refunder.register(Provider.STARS, self._refund_stars)
        await self._pay.recover(self.services.bridge.on_paid)
        for order in await asyncio.to_thread(self._pay.ledger.orders_in_state, OrderState.PAID):
            record = await self._job(order.fulfil_job_id) if order.fulfil_job_id else None
            if (
                record is not None
                and record.platform == self.platform
                and record.cached
                and record.status is JobStatus.DONE
            ):
                await self._deliver_full(self.frontend.chat(int(record.chat_id)), record)

    async def _refund_stars(self, request: RefundRequest) -> str | None:
        try:
            await self.frontend.refund(
                Person(request.platform, int(request.platform_user_id)), request.charge_id
            )
        except Exception as err:
            if any(marker in str(err).lower() for marker in ALREADY_REFUNDED_MARKERS):
                return None  # a retried refund Telegram already made
            raise
        return None

    # ================================================================== feedback

    async def on_reaction(
        self, chat: Chat, person: Person, message: MessageRef, emoji: str | None
    ) -> None:
        job_id = await asyncio.to_thread(self.services.state.job_for_message, message)
        record = await self._owned_job(person, job_id or "")
        if record is None:
            return  # a reaction on a message that isn't a result of theirs
        user = await self._user(person)
        if emoji is None:
            await asyncio.to_thread(self._pay.feedback.withdraw, user, record.id)
            return
        rating = rating_for_reaction(emoji)
        if rating is None:
            return  # an emoji that says nothing about quality
        await asyncio.to_thread(
            self._pay.feedback.record,
            user,
            record.id,
            record.model_version,
            rating,
            SOURCE_REACTION,
            emoji,
        )

    async def _feedback_button(self, person: Person, job_id: str, vote: str) -> str | None:
        record = await self._owned_job(person, job_id)
        if record is None or vote not in (FEEDBACK_UP, FEEDBACK_DOWN):
            return messages.FEEDBACK_UNKNOWN
        user = await self._user(person)
        rating = 1 if vote == FEEDBACK_UP else -1
        value = messages.THUMBS_UP if rating > 0 else messages.THUMBS_DOWN
        await asyncio.to_thread(
            self._pay.feedback.record,
            user,
            record.id,
            record.model_version,
            rating,
            SOURCE_BUTTON,
            value,
        )
        return messages.FEEDBACK_THANKS

    # ================================================================== admin

    async def on_admin(self, chat: Chat, person: Person, command: str, args: Sequence[str]) -> None:
        if not self._is_admin(person):
            await chat.send_text(messages.NOT_ADMIN)
            return
        admin = await self._user(person)
        handler = {
            "stats": self._admin_stats,
            "grant": self._admin_grant,
            "refund": self._admin_refund,
            "ban": self._admin_ban,
            "unban": self._admin_ban,
        }.get(command)
        if handler is None:
            await chat.send_text(messages.help_text(is_admin=True))
            return
        await chat.send_text(await handler(admin, command, list(args)))

    async def _admin_stats(self, admin: User, command: str, args: list[str]) -> str:
        stats = await asyncio.to_thread(self._pay.stats)
        queue = self.services.queue
        return messages.stats(
            users_total=stats.users_total,
            users_paid=stats.users_paid,
            users_banned=stats.users_banned,
            previews_today=stats.previews_today,
            queued={str(kind): q.count for kind, q in queue.queues.items()},
            orders=stats.orders_by_state,
            revenue=stats.revenue,
            refunds=stats.refunds,
            approval=[
                (a.model_version, a.up, a.down, a.approval_rate) for a in stats.approval
            ],
        )

    async def _target(self, raw: str) -> User | None:
        if not raw.isdigit():
            return None
        return await asyncio.to_thread(self._pay.users.get, self.platform, raw)

    async def _admin_grant(self, admin: User, command: str, args: list[str]) -> str:
        if len(args) != 2 or args[1] not in (AccessLevel.FREE.value, AccessLevel.PAID.value):
            return messages.usage("grant", "<user id> paid|free")
        target = await self._target(args[0])
        if target is None:
            return messages.UNKNOWN_USER
        level = AccessLevel(args[1])
        try:
            await asyncio.to_thread(self._pay.users.set_level, target.id, level, admin.actor)
        except UserError as err:
            return str(err)
        return messages.granted(args[0], level.value)

    async def _admin_refund(self, admin: User, command: str, args: list[str]) -> str:
        if len(args) != 1:
            return messages.usage("refund", "<order id>")
        order_id = args[0]
        status = await self._pay.refunder.refund_order(
            order_id, "refunded by an admin", admin.actor, allow_delivered=True
        )
        return messages.admin_refund(order_id, status.value)

    async def _admin_ban(self, admin: User, command: str, args: list[str]) -> str:
        if not args:
            return messages.usage(command, "<user id> [reason]")
        target = await self._target(args[0])
        if target is None:
            return messages.UNKNOWN_USER
        ban = command == "ban"
        try:
            await asyncio.to_thread(
                self._pay.users.set_banned, target.id, ban, admin.actor, " ".join(args[1:])
            )
        except UserError as err:  # e.g. banning an admin
            return str(err)
        return messages.banned(args[0]) if ban else messages.unbanned(args[0])


def _file_stem(title: str) -> str:
    """A file name for a person's download: their song's title, minus path-hostile characters."""
    cleaned = "".join(c for c in title if c.isalnum() or c in " -_.,()&'").strip(" .")
    return cleaned[:60] or "song"
