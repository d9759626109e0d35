"""A song comes in, a preview goes out: accept → validate → enqueue, then deliver the preview.

A song comes in through either door: sent in the chat (:meth:`Songs.on_upload`), or — too big
for the chat, or after ``/upload`` — through a one-time upload link (:meth:`Songs.offer_link`;
the web server takes the file and the bot carries on at its ``upload`` event,
:meth:`Songs.on_uploaded`). Both use the same checks and admission (``jobs.intake``,
``web.admission``).

The upload is answered at once with a status message that is then edited as the song moves
(checked, place in line with the expected wait — told again as the line moves — progress %,
ready), so a person always sees where their song is and when it should be ready.
Rejections cost nothing: the declared size is checked before downloading, ``intake`` probes the
file before anything is queued, and a preview that never happened gives its free quota back.
A burst of uploads waits for one of ``MAX_CONCURRENT_INTAKES`` slots (its status message already
says "checking"), and decoding runs on the audio pool, so payments and commands stay quick.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from pathlib import Path

from bots.core import intake, keyboards
from bots.core.context import DEFAULT_PERFORMER, Context
from bots.core.delivery import file_name
from bots.core.ports import Chat, MessageRef, Person, Upload, continuation_chat_id, supports_invoices
from jobs import JobEvent, JobKind, JobRecord, JobStatus
from jobs.analysis import summary_of
from metrics import families
from service import logs
from service.limits import MAX_FILE_BYTES, OUTPUT_FORMATS
from texts import chat as messages
from texts import languages

log = logging.getLogger(__name__)


class Songs:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def on_upload(self, chat: Chat, person: Person, upload: Upload) -> None:
        ctx = self.ctx
        received_at, started = time.time(), time.monotonic()
        platform = families.bounded(person.platform, families.PLATFORMS)

        async def first_answer(text: str) -> MessageRef:
            """The bot's first answer to the song, timed (``vr_first_answer_seconds``)."""
            sent = await chat.send_text(text)
            families.FIRST_ANSWER.labels(platform).observe(time.monotonic() - started)
            return sent

        admission = ctx.admission
        user = await ctx.user(person)
        refused = admission.refuse_person(user)
        if refused is not None:
            await first_answer(refused.user_message)
            return
        limit = ctx.frontend.download_limit
        if upload.size is not None and limit is not None and limit < upload.size <= MAX_FILE_BYTES:
            await self.offer_link(chat, person, too_big=(upload.size, limit))
            return
        refused = await admission.refuse_busy(person.platform)  # before downloading
        if refused is not None:
            await first_answer(refused.user_message)
            return
        status = await first_answer(messages.CHECKING)
        async with ctx.intake_slots:
            try:
                received = await intake.receive(
                    upload,
                    limit,
                    ctx.spool(),
                    max_duration_s=ctx.services.queue.settings.max_duration_s,
                )
                try:
                    record = await admission.submit(
                        user,
                        chat.chat_id,
                        received.path,
                        filename=upload.file_name,
                        language=languages.current(),
                        run=ctx.audio_work,
                    )
                finally:
                    received.discard()
            except intake.Rejected as rejected:
                said = ctx.text.error(rejected.code, rejected.params, rejected.user_message)
                await ctx.show(chat, status, said or messages.JOB_FAILED)
                return
        title = upload.title or Path(upload.file_name).stem or "song"
        await self._accepted(chat, record, status, title, upload.performer, received_at)

    async def _accepted(
        self,
        chat: Chat,
        record: JobRecord,
        status: MessageRef | None,
        title: str,
        performer: str | None = None,
        received_at: float | None = None,
    ) -> None:
        """A song is in line (or answered from the cache): its tags and status message kept,
        the person told where it is. ``received_at``: when the song reached us (the start of
        ``vr_upload_to_preview_seconds``)."""
        ctx = self.ctx
        state = ctx.services.state
        logs.bind_job(record.id, record.platform)  # the rest of this upload's lines name the job
        performer = performer or DEFAULT_PERFORMER
        await asyncio.to_thread(state.set_tags, record.id, title, performer, received_at)
        if status is not None:
            await asyncio.to_thread(state.set_status_message, record.id, status)
        if record.cached:  # separated before: no job ran and no event will come
            await ctx.status(chat, record.id, messages.CACHED)
            await self.deliver_preview(chat, record)
            return
        # Kept current while it waits: Flow.run_wait_updates.
        told = await asyncio.to_thread(ctx.services.queue.wait, record.id)
        said = messages.received(None) if told is None else messages.received(told.place, told.seconds)
        await ctx.status(chat, record.id, said)

    async def show_wait(self, chat: Chat, event: JobEvent) -> None:
        """A waiting preview's place and expected wait, told again (a WAITING event): edited
        into its status message. Only an edit — a song whose status message is unknown gets no
        new message — and a figure, never worth a retry: a failed edit is let go."""
        ctx = self.ctx
        ref = await asyncio.to_thread(ctx.services.state.status_message, event.job_id)
        if ref is None:
            return
        try:
            await chat.edit_text(ref, messages.received(event.place, event.wait_s))
        except Exception:  # gone, rate-limited, the platform down: the next update comes soon
            log.info("could not update the wait of job %s", event.job_id, exc_info=True)

    async def offer_link(self, chat: Chat, person: Person, too_big: tuple[int, int] | None = None) -> None:
        """/upload, or a file over the chat's download limit (``too_big``: its size and the
        limit): a one-time upload link for this person, the song continuing in this chat (the
        person's own, where the chat is public: :func:`continuation_chat_id`)."""
        ctx = self.ctx
        links = ctx.services.upload_links
        if links is None:
            if too_big is not None:
                await chat.send_text(messages.too_big_to_download(*too_big))
            else:
                await chat.send_text(messages.UPLOAD_UNAVAILABLE)
            return
        if not links.rate.allow(f"{person.platform}:{person.user_id}"):
            await chat.send_text(messages.UPLOAD_LINKS_SLOW_DOWN)
            return
        where = continuation_chat_id(ctx.frontend, chat)
        url = links.url(person.platform, person.user_id, where, languages.current())
        minutes = round(links.ttl_s / 60)
        if too_big is not None:
            await chat.send_text(messages.too_big_with_link(too_big[0], too_big[1], url, minutes))
        else:
            await chat.send_text(messages.upload_link(url, MAX_FILE_BYTES, minutes))

    async def on_uploaded(self, chat: Chat, job_id: str) -> None:
        """A song came in through an upload link (its ``upload`` event): the chat hears of it as
        of a song sent there — its status message — and the job's own events follow. A song
        already running or done when this arrives (its events were first) is left to them."""
        record = await self.ctx.job(job_id)
        if record is None:
            return  # forgotten meanwhile
        if not record.cached and record.status is not JobStatus.QUEUED:
            return
        title = Path(record.filename or "song").stem or "song"
        await self._accepted(chat, record, None, title, received_at=record.created_at)

    async def deliver_preview(self, chat: Chat, record: JobRecord) -> None:
        """Both 30 s stems as audio with title/performer, then the waveform with the buttons."""
        if record.delivered_at is not None:
            return  # an event handed out twice: the person already has it
        ctx = self.ctx
        queue = ctx.services.queue
        title, performer = await ctx.tags(record)
        keyboard = keyboards.preview(
            record.id,
            ctx.price,
            in_chat=supports_invoices(ctx.frontend),
            card=ctx.offers_card_link,
            current=await ctx.output_format(record.user_id),
            page_url=ctx.results_page(record.id),
            karaoke_tools=ctx.karaoke_enabled,
            buy_url=ctx.buy_link(record.id),
        )
        caption = messages.preview_caption(
            record.preview_start_s or 0.0,
            min(queue.settings.preview_length_s, record.duration_s),
            ctx.price,
            card=ctx.card_too,
        )
        workdir = Path(tempfile.mkdtemp(prefix=f"preview-{record.id[:8]}-", dir=ctx.spool()))
        try:
            files = {
                name: await asyncio.to_thread(
                    queue.fetch_output,
                    record.id,
                    name,
                    workdir / file_name(title, f"{name} preview", Path(key).suffix.lstrip(".")),
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
                await chat.send_image(files["waveform"], caption=caption, buttons=keyboard),
            ]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await asyncio.to_thread(ctx.services.state.remember_results, record.id, refs)
        await asyncio.to_thread(queue.mark_delivered, record.id)
        received_at = await asyncio.to_thread(ctx.services.state.received_at, record.id)
        if received_at is not None:
            families.UPLOAD_TO_PREVIEW.labels(families.bounded(record.platform, families.PLATFORMS)).observe(
                max(0.0, time.time() - received_at)
            )
        # Answered from the cache, the numbers may be known already; else they are edited in.
        await ctx.status(chat, record.id, messages.preview_ready(summary_of(record)))

    async def show_key_and_tempo(self, chat: Chat, job_id: str) -> None:
        """A job's key and tempo are ready (its analysis event, after the stems): edit them into
        its status message. Before the stems are delivered there is nothing to edit — the
        delivery shows them then; for a song forgotten meanwhile, nothing."""
        ctx = self.ctx
        record = await ctx.job(job_id)
        if record is None or record.delivered_at is None:
            return
        result = summary_of(record)
        if result is None:
            return
        if record.kind is JobKind.PREVIEW:
            text = messages.preview_ready(result)
        else:
            preview = await ctx.job(record.source_job_id)
            text = messages.full_ready(result, summary_of(preview) if preview else None)
        await ctx.status(chat, record.id, text)

    async def choose_format(self, person: Person, fmt: str) -> str | None:
        if fmt not in OUTPUT_FORMATS:
            return None
        await asyncio.to_thread(self.ctx.services.state.set_output_format, person.user_id, fmt)
        return messages.format_saved(fmt)
