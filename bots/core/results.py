"""The paid stems go out, and the person's verdict on them comes back.

Stems are sent in the person's chosen format unless that would pass the chat's upload limit
(then FLAC, then MP3 320k, and the person is told why); stems over the limit even as MP3 (most
full songs on Discord, whose limit is 10 MB without boosts) come as signed, expiring download
links (``web.downloads``) — refunded only when there is no way to hand them over. MP3 goes
as playable audio with title and performer; lossless formats go as files, which chat apps do not
play inline. Every message carrying a result is remembered, so a reaction on any of them rates that job.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bots.core import keyboards
from bots.core.context import Context
from bots.core.delivery import Fitted, StemsTooLarge, file_name, fit_for_upload
from bots.core.ports import Chat, MessageRef, Person, Reaction, UploadTooLarge
from engine.karaoke import KaraokeSettings
from jobs import JobRecord
from jobs.analysis import summary_of
from jobs.records import KARAOKE_OUTPUT
from metrics import families
from people import SOURCE_BUTTON, SOURCE_REACTION, rating_for_reaction
from texts import chat as messages

STEMS = ("vocals", "instrumental")
KARAOKE = KARAOKE_OUTPUT  # the order's karaoke version, sent after the stems when it has one

Refund = Callable[[Chat, str, str], Awaitable[None]]


def delivered_parts(record: JobRecord) -> tuple[str, ...]:
    """What a paid job hands over: both stems, then the karaoke version its order chose."""
    return (*STEMS, KARAOKE) if KARAOKE in record.own_outputs() else STEMS


class Results:
    def __init__(self, ctx: Context, refund: Refund) -> None:
        self.ctx = ctx
        self.refund = refund

    async def deliver_full(self, chat: Chat, record: JobRecord) -> None:
        if record.delivered_at is not None:
            return  # an event handed out twice: the person already has the stems
        ctx = self.ctx
        queue = ctx.services.queue
        limit = await chat.upload_limit()
        title, performer = await ctx.tags(record)
        workdir = Path(tempfile.mkdtemp(prefix=f"full-{record.id[:8]}-", dir=ctx.spool()))
        try:
            parts = delivered_parts(record)
            stems = [
                await asyncio.to_thread(
                    queue.fetch_output,
                    record.id,
                    name,
                    workdir / f"{name}{Path(record.outputs[name]).suffix}",
                )
                for name in parts
            ]
            try:
                fitted = await fit_for_upload(
                    stems, record.output_format, limit, workdir / "fit", ctx.audio_pool
                )
            except StemsTooLarge:
                refs = await self._send_links(chat, record, parts, limit)
                if refs is None:
                    return
                fmt = record.output_format
            else:
                try:
                    refs = await self._send_files(
                        chat, fitted, parts, title, performer, limit, record.karaoke
                    )
                    fmt = fitted.fmt
                except UploadTooLarge:  # the chat's real limit is lower than it said
                    refs = await self._send_links(chat, record, parts, None)
                    if refs is None:
                        return
                    fmt = record.output_format
            page = ctx.results_page(record.id)
            refs.append(
                await chat.send_text(
                    messages.delivered(fmt, ctx.paid_kept_days if page else None),
                    keyboards.feedback(record.id, page),
                )
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await asyncio.to_thread(ctx.services.state.remember_results, record.id, refs)
        # The links and the page we just handed out stay valid DOWNLOAD_TTL_S: so do the files.
        links = ctx.services.links
        await asyncio.to_thread(queue.mark_delivered, record.id, links.ttl_s if links else 0.0)
        if record.order_id:
            moved = await asyncio.to_thread(ctx.pay.ledger.mark_delivered, record.order_id, ctx.actor)
            if moved:
                await self._delivered(record.order_id, record.platform)
        preview = await ctx.job(record.source_job_id)
        await ctx.status(
            chat,
            record.id,
            messages.full_ready(summary_of(record), summary_of(preview) if preview else None),
        )

    async def _delivered(self, order_id: str, platform: str) -> None:
        """An order just moved to delivered: the wait since it was paid, once."""
        order = await asyncio.to_thread(self.ctx.pay.ledger.get_order, order_id)
        if order is not None and order.paid_at is not None and order.delivered_at is not None:
            families.PAYMENT_TO_DELIVERY.labels(families.bounded(platform, families.PLATFORMS)).observe(
                max(0.0, (order.delivered_at - order.paid_at).total_seconds())
            )

    async def _send_files(
        self,
        chat: Chat,
        fitted: Fitted,
        parts: tuple[str, ...],
        title: str,
        performer: str,
        limit: int,
        karaoke: str,
    ) -> list[MessageRef]:
        """The stems (and karaoke version) as files: MP3 as playable audio, lossless formats as
        documents; the karaoke file's caption names its settings."""
        refs: list[MessageRef] = []
        if fitted.fell_back:
            await chat.send_text(messages.fell_back(fitted.wanted, fitted.fmt, limit))
        for name, path in zip(parts, fitted.files, strict=True):
            named = path.rename(path.with_name(file_name(title, name, fitted.fmt)))
            caption = messages.karaoke_delivered(KaraokeSettings.parse(karaoke)) if name == KARAOKE else None
            if fitted.fmt == "mp3":
                stem_title = messages.stem_title(title, name)
                refs.append(
                    await chat.send_audio(named, title=stem_title, performer=performer, caption=caption)
                )
            else:
                refs.append(await chat.send_file(named, caption=caption))
        return refs

    async def _send_links(
        self, chat: Chat, record: JobRecord, parts: tuple[str, ...], limit: int | None
    ) -> list[MessageRef] | None:
        """Stems over the chat's upload limit even as MP3: signed, expiring download links
        (served by the payments service), with a message saying why. Without links configured
        (no ``DOWNLOAD_SECRET``) or for an unpaid job there is nothing to link: refunded, and
        None returned."""
        links = self.ctx.services.links
        if links is None or not record.order_id:
            await chat.send_text(messages.still_too_big(limit))
            if record.order_id:
                await self.refund(chat, record.order_id, "stems over the upload limit")
            return None
        urls = {name: links.url(record.order_id, name) for name in parts}
        text = messages.sent_as_links(limit, self.ctx.paid_kept_days, urls)
        return [await chat.send_text(text, keyboards.downloads(urls))]

    # ------------------------------------------------------------------ feedback

    async def reaction(self, person: Person, reaction: Reaction) -> None:
        """A rating emoji put on any result message rates its job; taking off the emoji that
        gave the current rating withdraws it (other emoji, and other messages, change nothing)."""
        rating = rating_for_reaction(reaction.emoji)
        if rating is None:
            return  # an emoji that says nothing about quality
        ctx = self.ctx
        job_id = await asyncio.to_thread(ctx.services.state.job_for_message, reaction.message)
        record = await ctx.owned_job(person, job_id)
        if record is None:
            return  # a reaction on a message that isn't a result of theirs
        if reaction.added:
            await self._rate(person, record, rating, SOURCE_REACTION, reaction.emoji)
            return
        user = await ctx.user(person)
        await asyncio.to_thread(ctx.pay.feedback.withdraw, user, record.id, reaction.emoji)

    async def page_button(self, chat: Chat, person: Person, job_id: str) -> str | None:
        """A tap on "show it here only to me" (:func:`keyboards.show_page`, under a public note):
        to the job's owner, the results page link where there is one (the answer is theirs
        alone: ephemeral on Discord), else a word to open their DMs; to anyone else, a refusal
        and no link (the page works for whoever holds it)."""
        record = await self.ctx.owned_job(person, job_id)
        if record is None:
            return messages.NOT_YOUR_BUTTON
        page = self.ctx.results_page(record.id)
        if page is None:
            return messages.NO_PAGE_OPEN_DMS
        await chat.send_text(messages.PAGE_HERE, keyboards.open_in_browser(page))
        return None

    async def button(self, person: Person, arg: str) -> str:
        vote, _, job_id = arg.partition(":")
        record = await self.ctx.owned_job(person, job_id)
        if record is None or vote not in (keyboards.FEEDBACK_UP, keyboards.FEEDBACK_DOWN):
            return messages.FEEDBACK_UNKNOWN
        rating = 1 if vote == keyboards.FEEDBACK_UP else -1
        value = messages.THUMBS_UP if rating > 0 else messages.THUMBS_DOWN
        await self._rate(person, record, rating, SOURCE_BUTTON, value)
        return messages.FEEDBACK_THANKS

    async def _rate(self, person: Person, record: JobRecord, rating: int, source: str, value: str) -> None:
        """One rating per person and job (a new one replaces it), with the job's model version."""
        ctx = self.ctx
        user = await ctx.user(person)
        await asyncio.to_thread(
            ctx.pay.feedback.record, user, record.id, record.model_version, rating, source, value
        )
