"""A song comes in, a preview goes out: accept → validate → enqueue, then deliver the preview.

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
from pathlib import Path

from bots.core import intake, keyboards
from bots.core.context import DEFAULT_PERFORMER, Context
from bots.core.delivery import file_name
from bots.core.ports import Chat, MessageRef, Person, Upload, supports_invoices
from jobs import BusyError, JobEvent, JobKind, JobRecord, UserFacingError
from jobs.analysis import summary_of
from people import User
from service.limits import OUTPUT_FORMATS
from texts import chat as messages
from texts import languages, text_of

log = logging.getLogger(__name__)


class Songs:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def on_upload(self, chat: Chat, person: Person, upload: Upload) -> None:
        ctx = self.ctx
        user = await ctx.user(person)
        if user.banned:
            await chat.send_text(messages.BANNED)
            return
        if not ctx.pay.rate_limiter.allow(f"{person.platform}:{person.user_id}"):
            await chat.send_text(messages.SLOW_DOWN)
            return
        limit = ctx.frontend.download_limit
        if upload.size is not None and limit is not None and upload.size > limit:
            await chat.send_text(messages.too_big_to_download(upload.size, limit))
            return
        try:  # back-pressure: when the line is already long, say so before downloading
            await asyncio.to_thread(ctx.services.queue.check_capacity)
        except BusyError as busy:
            await chat.send_text(text_of(busy))
            return
        status = await chat.send_text(messages.CHECKING)
        async with ctx.intake_slots:
            try:
                received = await intake.receive(
                    upload,
                    limit,
                    ctx.spool(),
                    max_duration_s=ctx.services.queue.settings.max_duration_s,
                )
            except intake.Rejected as rejected:
                said = ctx.text.error(rejected.code, rejected.params, rejected.user_message)
                await ctx.show(chat, status, said or messages.JOB_FAILED)
                return
            try:
                await self._submit(chat, person, user, upload, received, status)
            finally:
                received.discard()

    async def _submit(
        self,
        chat: Chat,
        person: Person,
        user: User,
        upload: Upload,
        received: intake.Received,
        status: MessageRef,
    ) -> None:
        ctx = self.ctx
        users, queue, state = ctx.pay.users, ctx.services.queue, ctx.services.state
        quota = await asyncio.to_thread(users.consume_preview, user)
        if not quota.allowed:
            await ctx.show(chat, status, messages.quota_exhausted(quota.limit or 0))
            return
        try:
            record = await ctx.audio_work(  # decodes and hashes the whole song
                queue.submit,
                person.user_id,
                person.platform,
                chat.chat_id,
                received.path,
                kind=JobKind.PREVIEW,
                filename=upload.file_name,
                language=languages.current(),  # the song's answers, however late, speak it
            )
        except UserFacingError as err:  # bad audio, too many songs, busy
            await asyncio.to_thread(users.release_preview, user)
            said = ctx.text.error(err.code, err.params)
            await ctx.show(chat, status, said or messages.JOB_FAILED)
            return
        except BaseException:
            await asyncio.to_thread(users.release_preview, user)
            raise
        title = upload.title or Path(upload.file_name).stem or "song"
        performer = upload.performer or DEFAULT_PERFORMER
        await asyncio.to_thread(state.set_tags, record.id, title, performer)
        await asyncio.to_thread(state.set_status_message, record.id, status)
        if record.cached:  # separated before: no job ran and no event will come
            await ctx.status(chat, record.id, messages.CACHED)
            await self.deliver_preview(chat, record)
            return
        told = await asyncio.to_thread(queue.wait, record.id)  # kept current: Flow.run_wait_updates
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
