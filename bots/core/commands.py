"""The commands around the songs: /start, /help, /settings, /history, /status, /cancel, /forget,
and the admins' /stats, /grant, /refund, /ban, /unban, /export.

Admins are the ids in ``ADMIN_IDS`` (payments' settings), checked on every command: a database
row can't make anyone an admin.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bots.core import keyboards
from bots.core.context import Context
from bots.core.forget import forget_person
from bots.core.ports import Button, Chat, Person, personal_menus
from jobs import JobKind, JobStatus
from payments import OrderError
from people import AccessLevel, User, UserError
from texts import chat as messages
from texts import languages

AdminHandler = Callable[[User, str, list[str]], Awaitable[str]]

log = logging.getLogger(__name__)


class Commands:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def start(self, chat: Chat, person: Person) -> None:
        ctx = self.ctx
        await ctx.user(person)
        settings = ctx.services.queue.settings
        await chat.send_text(
            ctx.text.start(
                price=ctx.price,
                card=ctx.card_too,
                preview_s=settings.preview_length_s,
                max_minutes=round(settings.max_duration_s / 60),
            )
        )

    async def help(self, chat: Chat, person: Person) -> None:
        await chat.send_text(self.ctx.text.help_text(self.ctx.is_admin(person)))

    async def settings(self, chat: Chat, person: Person) -> None:
        current = await self.ctx.output_format(person.user_id)
        text = messages.settings(current)
        rows: list[Sequence[Button]] = [keyboards.formats(current)]
        if self.ctx.karaoke_enabled:
            karaoke = await self.ctx.karaoke(person.user_id)
            text = f"{text}\n\n{messages.karaoke_settings(karaoke)}"
            rows += keyboards.karaoke_settings(karaoke)
        await chat.send_text(text, rows)

    async def history(self, chat: Chat, person: Person) -> None:
        user = await self.ctx.user(person)
        orders = await asyncio.to_thread(self.ctx.pay.ledger.user_orders, user.id)
        sold = self.ctx.sold_through
        lines = [
            messages.order_line(o.created_at, messages.money(*o.price_for(sold)), o.state.value)
            for o in orders
        ]
        await chat.send_text(messages.history(lines))

    async def status(self, chat: Chat, person: Person) -> None:
        """The person's songs in flight: place in line for a waiting one (and, for a preview, when
        it should be ready), progress once running."""
        ctx = self.ctx
        queue = ctx.services.queue
        active = await asyncio.to_thread(queue.active_jobs, person.platform, person.user_id)
        lines = []
        for record in active:
            ahead = await asyncio.to_thread(queue.position, record.id)
            place, wait_s = None if ahead is None else ahead + 1, None
            if place is not None and record.kind is JobKind.PREVIEW:
                told = await asyncio.to_thread(queue.wait, record.id)  # as its status message says
                if told is not None:
                    place, wait_s = told.place, told.seconds
            title, _ = await ctx.tags(record)
            lines.append(
                messages.job_line(
                    title,
                    full=record.kind is JobKind.FULL,
                    place=place,
                    progress=record.progress,
                    retrying=record.status is JobStatus.RETRYING,
                    wait_s=wait_s,
                )
            )
        await chat.send_text(messages.in_flight(lines))

    async def cancel(self, chat: Chat, person: Person) -> None:
        """Cancel the person's previews in line; paid jobs run to the end (they were bought)."""
        queue = self.ctx.services.queue
        active = await asyncio.to_thread(queue.active_jobs, person.platform, person.user_id)
        cancelled = [
            record
            for record in active
            if record.kind is JobKind.PREVIEW
            and await asyncio.to_thread(queue.cancel, record.id, person.user_id)
        ]
        await chat.send_text(messages.CANCELLED if cancelled else messages.NOTHING_TO_CANCEL)

    async def language(self, chat: Chat, person: Person, choice: str | None) -> None:
        """/language alone: a button per language; /language <tag>: switch to it (an unknown
        tag: the buttons again, in the language spoken now)."""
        code = languages.negotiate(choice) if choice else None
        if code is None:
            with languages.speak(await self.ctx.language(person)):
                text = messages.LANGUAGE_UNKNOWN if choice else messages.LANGUAGE_CHOOSE
                await chat.send_text(text, keyboards.language_buttons())
            return
        said = await self.choose_language(person, code)
        await chat.send_text(said)

    async def choose_language(self, person: Person, code: str) -> str:
        """Keep ``code`` as the person's language; the answer is in it."""
        chosen = languages.negotiate(code)
        user = await self.ctx.user(person)
        if chosen is None:  # a forged button
            with languages.speak(await self.ctx.language(person)):
                return messages.LANGUAGE_UNKNOWN
        await asyncio.to_thread(self.ctx.pay.users.set_language, user.id, chosen)
        await self._menu_in(person, chosen)
        with languages.speak(chosen):
            return messages.language_saved(languages.BY_CODE[chosen])

    async def _menu_in(self, person: Person, code: str | None) -> None:
        """The person's command menu in ``code`` (None: the app's again), where the platform
        has per-person menus. The choice is kept whatever happens here: a menu the platform
        would not set stays as it was, and the next /language sets it again."""
        menus = personal_menus(self.ctx.frontend)
        if menus is None:
            return
        try:
            await menus.set_menu_language(person, code)
        except Exception:  # the platform's errors differ; a menu is not worth failing for
            log.warning("could not set the command menu's language", exc_info=True)

    async def forget(self, chat: Chat, person: Person, confirmed: bool) -> None:
        ctx = self.ctx
        if not confirmed:
            await chat.send_text(ctx.text.forget_confirm)
            return
        result = await asyncio.to_thread(
            forget_person, ctx.services, person.platform, person.user_id, chat.chat_id
        )
        if not result.forgotten:
            await chat.send_text(ctx.text.error(result.code) or messages.INTERNAL_ERROR)
            return
        await self._menu_in(person, None)  # the chosen language went with the rest
        await chat.send_text(messages.FORGOTTEN)

    # ------------------------------------------------------------------ admin

    async def admin(self, chat: Chat, person: Person, command: str, args: Sequence[str]) -> None:
        if not self.ctx.is_admin(person):
            await chat.send_text(messages.NOT_ADMIN)
            return
        handlers: dict[str, AdminHandler] = {
            "stats": self._stats,
            "grant": self._grant,
            "refund": self._refund,
            "ban": self._ban,
            "unban": self._ban,
        }
        if command == "export":
            await self._export(chat)
            return
        handler = handlers.get(command)
        if handler is None:
            await chat.send_text(self.ctx.text.help_text(is_admin=True))
            return
        admin = await self.ctx.user(person)
        await chat.send_text(await handler(admin, command, list(args)))

    async def _stats(self, admin: User, command: str, args: list[str]) -> str:
        figures = await asyncio.to_thread(self.ctx.pay.stats)
        job_figures = await asyncio.to_thread(self.ctx.services.queue.stats)
        return messages.stats(figures, job_figures)

    async def _target(self, raw: str) -> User | None:
        if not raw.isdigit():
            return None
        return await asyncio.to_thread(self.ctx.pay.users.get, self.ctx.platform, raw)

    async def _grant(self, admin: User, command: str, args: list[str]) -> str:
        levels = (AccessLevel.FREE.value, AccessLevel.PAID.value)
        if len(args) != 2 or args[1] not in levels:
            return self.ctx.text.usage("grant")
        target = await self._target(args[0])
        if target is None:
            return messages.UNKNOWN_USER
        level = AccessLevel(args[1])
        try:
            await asyncio.to_thread(self.ctx.pay.users.set_level, target.id, level, admin.actor)
        except UserError as err:
            return str(err)
        return messages.granted(args[0], level.value)

    async def _refund(self, admin: User, command: str, args: list[str]) -> str:
        if len(args) != 1:
            return self.ctx.text.usage("refund")
        order = await asyncio.to_thread(self.ctx.pay.ledger.get_order, args[0])
        if order is None:
            return messages.unknown_order(args[0])
        try:
            status = await self.ctx.pay.refunder.refund_order(
                order.id, "refunded by an admin", admin.actor, allow_delivered=True
            )
        except OrderError as err:  # e.g. a paid order with no granted payment to send back
            return f"{messages.admin_refund(order.id, 'failed')} {err}"
        return messages.admin_refund(order.id, status.value)

    async def _export(self, chat: Chat) -> None:
        """Every rating as a CSV document (users as internal ids, see FeedbackStore)."""
        csv_text = await asyncio.to_thread(self.ctx.pay.feedback.export_csv)
        workdir = Path(tempfile.mkdtemp(prefix="export-", dir=self.ctx.spool()))
        try:
            path = workdir / f"feedback-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.csv"
            path.write_text(csv_text, encoding="utf-8")
            await chat.send_file(path, caption=messages.EXPORT_CAPTION)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _ban(self, admin: User, command: str, args: list[str]) -> str:
        if not args:
            return self.ctx.text.usage(command)
        target = await self._target(args[0])
        if target is None:
            return messages.UNKNOWN_USER
        ban = command == "ban"
        reason = " ".join(args[1:])
        try:
            await asyncio.to_thread(self.ctx.pay.users.set_banned, target.id, ban, admin.actor, reason)
        except UserError as err:  # e.g. banning an admin
            return str(err)
        return messages.banned(args[0]) if ban else messages.unbanned(args[0])
