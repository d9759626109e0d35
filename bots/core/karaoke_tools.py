"""Karaoke in the chat: the /settings and preview buttons, and the rendered preview clip.

A tap changes the person's saved preference (:mod:`bots.core.karaoke` says how); under a preview
it also asks a worker for the preview clip in the new settings (:meth:`jobs.JobQueue.render_karaoke`,
seconds of work from the stored stems). The clip comes back as a ``kind="karaoke"`` job event and
goes out as audio whose caption names the settings; a render that failed is said in words. The
paid karaoke file is part of the order (``bots.core.checkout`` stores the preference on it;
``bots.core.results`` sends the file). With ``KARAOKE_ENABLED`` off no button is shown and a
forged tap changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from bots.core.context import Context
from bots.core.delivery import file_name
from bots.core.karaoke import apply_change
from bots.core.ports import Chat, Person
from engine.karaoke import KaraokeSettings, KaraokeSettingsError
from jobs import BusyError, EventType, JobEvent, JobKind, JobNotFoundError, JobRecord, JobStatus
from jobs.analysis import summary_of
from jobs.errors import KaraokeInFlightError, KaraokeQuotaError
from metrics import families
from texts import chat as messages

log = logging.getLogger(__name__)


class KaraokeTools:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def settings_button(self, person: Person, change: str) -> str | None:
        """A /settings tap: the preference changed; the toast says what it is now."""
        changed = await self._change(person, change)
        return None if changed is None else messages.karaoke_saved(changed)

    async def preview_button(self, person: Person, arg: str) -> str | None:
        """A preview tap (``"<change>:<job id>"``): the preference changed and the clip asked
        for in it; the toast says what is coming. A render the pipeline refuses (one of theirs
        still in line, today's allowance used, the workers busy) changes nothing: the toast
        says why, and the preference stays what they last heard."""
        change, _, job_id = arg.partition(":")
        ctx = self.ctx
        record = await ctx.owned_job(person, job_id)
        if record is None or record.kind is not JobKind.PREVIEW or record.status is not JobStatus.DONE:
            return messages.KARAOKE_PREVIEW_GONE
        # Each tap is a render on a worker: taps count against the person's request rate.
        if ctx.karaoke_enabled and not ctx.pay.rate_limiter.allow(f"{person.platform}:{person.user_id}"):
            families.RATE_LIMITED.labels(families.bounded(person.platform, families.PLATFORMS)).inc()
            return messages.KARAOKE_SLOW_DOWN
        if not ctx.karaoke_enabled:
            return None
        changed = apply_change(await ctx.karaoke(person.user_id), change)
        if changed is None:
            return None
        if not changed.is_identity:
            try:
                queued = await asyncio.to_thread(ctx.services.queue.render_karaoke, record.id, changed)
            except JobNotFoundError:
                return messages.KARAOKE_PREVIEW_GONE
            except KaraokeInFlightError:
                return messages.KARAOKE_ONE_AT_A_TIME
            except KaraokeQuotaError as exc:
                return messages.karaoke_quota(exc.per_day)
            except BusyError:
                families.BUSY_REFUSALS.labels(
                    families.bounded(person.platform, families.PLATFORMS), "karaoke"
                ).inc()
                return messages.KARAOKE_BUSY
        await asyncio.to_thread(ctx.services.state.set_karaoke, person.user_id, changed)
        if changed.is_identity:
            return messages.KARAOKE_ORIGINAL
        text = messages.karaoke_rendering(changed) if queued else messages.KARAOKE_ALREADY_MAKING
        return _with_landing(text, record, changed)

    async def _change(self, person: Person, change: str) -> KaraokeSettings | None:
        if not self.ctx.karaoke_enabled:
            return None
        state = self.ctx.services.state
        changed = apply_change(await self.ctx.karaoke(person.user_id), change)
        if changed is not None:
            await asyncio.to_thread(state.set_karaoke, person.user_id, changed)
        return changed

    async def on_event(self, chat: Chat, event: JobEvent) -> None:
        """A rendered preview clip (DONE) goes out as audio; a failure (FAILED) is said. Sent at
        most once per event: a redelivered event (at-least-once) finds it marked."""
        ctx = self.ctx
        state = ctx.services.state
        if await asyncio.to_thread(state.event_handled, event.stream_id):
            return
        try:
            settings = KaraokeSettings.parse(event.karaoke)
        except KaraokeSettingsError:
            log.error("karaoke event with bad settings %r for job %s", event.karaoke, event.job_id)
            return
        if event.type is EventType.DONE:
            await self._send_clip(chat, event, settings)
        elif event.type is EventType.FAILED:
            said = ctx.text.error(event.error_code, event.error_params, event.error_message)
            await chat.send_text(said or messages.KARAOKE_FAILED)
        await asyncio.to_thread(state.mark_event_handled, event.stream_id)

    async def _send_clip(self, chat: Chat, event: JobEvent, settings: KaraokeSettings) -> None:
        ctx = self.ctx
        record = await ctx.job(event.job_id)
        if record is None:
            return  # forgotten (/forget) since: nothing to send it as
        title, performer = await ctx.tags(record)
        key = event.outputs["karaoke"]
        fmt = PurePosixPath(key).suffix.lstrip(".")
        workdir = Path(tempfile.mkdtemp(prefix=f"karaoke-{record.id[:8]}-", dir=ctx.spool()))
        try:
            path = await asyncio.to_thread(
                ctx.services.queue.storage.get_file,
                key,
                workdir / file_name(title, "karaoke preview", fmt),
            )
            ref = await chat.send_audio(
                path,
                title=messages.karaoke_title(title),
                performer=performer,
                caption=_with_landing(messages.karaoke_caption(settings), record, settings),
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await asyncio.to_thread(ctx.services.state.remember_results, record.id, [ref])


def _with_landing(text: str, record: JobRecord, settings: KaraokeSettings) -> str:
    """``text`` and, for a key step on a song whose key is known (and sure), where it lands:
    "A minor → B minor, +2"."""
    result = summary_of(record)
    if settings.semitones == 0 or result is None or not result.key_is_sure:
        return text
    return f"{text}\n{messages.key_shift_lands(result.key, settings.semitones)}"
