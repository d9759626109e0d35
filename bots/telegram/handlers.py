"""Telegram update handlers: translate an update into one call on the platform-neutral flow.

Each handler is small on purpose — pick the fields out of the update, build the core's plain
values (:class:`Person`, :class:`Upload`, :class:`MessageRef`), and call :class:`bots.core.Flow`.
Everything a person sees is decided in the core; nothing here formats a message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from telegram import (
    Audio,
    Document,
    Message,
    MessageReactionUpdated,
    ReactionTypeEmoji,
    Update,
    Video,
    Voice,
)
from telegram.error import BadRequest
from telegram.ext import Application

from bots.core.flow import Flow
from bots.core.ports import (
    Chat,
    ChatPayment,
    DownloadTooLarge,
    MessageRef,
    Person,
    Reaction,
    Upload,
)
from bots.telegram.chat import PLATFORM, TelegramFrontend, parse_callback_data
from bots.telegram.context import BotContext
from texts import chat as messages

log = logging.getLogger(__name__)

# How the Bot API refuses getFile for a file over its download limit.
TOO_BIG = "file is too big"


Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]  # PTB takes coroutine functions
ChatCall = Callable[[Flow, Chat, Person], Awaitable[None]]


def person_of(update: Update) -> Person:
    """Who sent the update, with their Telegram app's language (``language_code``)."""
    user = update.effective_user
    assert user is not None, "handlers are registered for updates that have a user"
    return Person(platform=PLATFORM, user_id=user.id, locale=user.language_code)


def _args(context: BotContext) -> list[str]:
    return list(context.args or [])


# ------------------------------------------------------------------------------------ commands


def _command(call: ChatCall) -> Handler:
    """A handler for a command that needs nothing but who asked and where."""

    async def handler(update: Update, context: BotContext) -> None:
        assert update.effective_chat is not None
        await call(context.flow, context.chat(update.effective_chat.id), person_of(update))

    return handler


start = _command(Flow.on_start)
help_command = _command(Flow.on_help)
settings = _command(Flow.on_settings)
history = _command(Flow.on_history)
cancel = _command(Flow.on_cancel)
status = _command(Flow.on_status)
upload = _command(Flow.on_upload_command)
# Text, stickers, photos: tell the person what we take.
other_message = _command(Flow.on_unsupported)


async def forget(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    args = _args(context)
    confirmed = len(args) == 1 and messages.confirms_forget(args[0])
    await context.flow.on_forget(context.chat(update.effective_chat.id), person_of(update), confirmed)


async def language(update: Update, context: BotContext) -> None:
    """/language, or /language de: the choice is the first argument."""
    assert update.effective_chat is not None
    args = _args(context)
    await context.flow.on_language(
        context.chat(update.effective_chat.id), person_of(update), args[0] if args else None
    )


async def admin_command(update: Update, context: BotContext) -> None:
    """/stats, /grant, /refund, /ban, /unban, /export: the core checks the admin list and the
    arguments."""
    assert update.effective_chat is not None and update.effective_message is not None
    text = update.effective_message.text or ""
    command = text.split()[0].lstrip("/").split("@")[0].lower()
    await context.flow.on_admin(
        context.chat(update.effective_chat.id), person_of(update), command, _args(context)
    )


# ------------------------------------------------------------------------------------ songs


def _media(message: Message) -> Audio | Voice | Document | Video | None:
    return message.audio or message.voice or message.document or message.video


def _file_name(message: Message, media: Audio | Voice | Document | Video) -> str:
    name = getattr(media, "file_name", None)
    if name:
        return str(name)
    if isinstance(media, Voice):
        return "voice.ogg"
    return "song"


def upload_of(message: Message) -> Upload | None:
    """The core's view of a file someone sent; None if the message carries no file."""
    media = _media(message)
    if media is None:
        return None

    async def fetch(dest: Path) -> Path:
        try:
            file = await media.get_file()
        except BadRequest as err:
            if TOO_BIG in str(err).lower():
                raise DownloadTooLarge(str(err)) from err
            raise
        return await file.download_to_drive(dest)

    return Upload(
        file_name=_file_name(message, media),
        size=media.file_size,
        fetch=fetch,
        title=getattr(media, "title", None),
        performer=getattr(media, "performer", None),
    )


async def song(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    upload = upload_of(message)
    chat = context.chat(message.chat_id)
    if upload is None:
        await context.flow.on_unsupported(chat, person_of(update))
        return
    await context.flow.on_upload(chat, person_of(update), upload)


# ------------------------------------------------------------------------------------ buttons


async def button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    action, arg = parse_callback_data(query.data or "")
    message = query.message
    if message is None:  # too old for Telegram to include; nothing to act on
        await query.answer()
        return
    notice = await context.flow.on_button(
        context.chat(message.chat.id),
        person_of(update),
        action,
        arg,
        MessageRef(chat_id=message.chat.id, message_id=message.message_id),
    )
    # Always answer, or the person's client shows a spinner until it times out.
    await query.answer(notice)


# ------------------------------------------------------------------------------------ payments


async def pre_checkout(update: Update, context: BotContext) -> None:
    query = update.pre_checkout_query
    assert query is not None
    refusal = await context.flow.on_pre_checkout(
        person_of(update), query.invoice_payload, query.total_amount, query.currency
    )
    if refusal is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=refusal)


async def successful_payment(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None and message.successful_payment is not None
    paid = message.successful_payment
    await context.flow.on_payment(
        context.chat(message.chat_id),
        person_of(update),
        ChatPayment(
            payload=paid.invoice_payload,
            amount=paid.total_amount,
            currency=paid.currency,
            charge_id=paid.telegram_payment_charge_id,
            provider_ref=paid.provider_payment_charge_id or None,
        ),
    )


# ------------------------------------------------------------------------------------ feedback


def _emojis(kinds: Sequence[object]) -> list[str]:
    return [kind.emoji for kind in kinds if isinstance(kind, ReactionTypeEmoji)]


def reactions_of(updated: MessageReactionUpdated) -> list[Reaction]:
    """Telegram reports a person's whole new reaction list; the core takes one event per emoji
    taken off (first) or put on."""
    message = MessageRef(chat_id=updated.chat.id, message_id=updated.message_id)
    old, new = _emojis(updated.old_reaction), _emojis(updated.new_reaction)
    return [Reaction(message, e, added=False) for e in old if e not in new] + [
        Reaction(message, e, added=True) for e in new if e not in old
    ]


async def reaction(update: Update, context: BotContext) -> None:
    updated = update.message_reaction
    assert updated is not None
    if updated.user is None:  # anonymous (channel) reactions can't be tied to a person
        return
    person = Person(platform=PLATFORM, user_id=updated.user.id, locale=updated.user.language_code)
    for event in reactions_of(updated):
        await context.flow.on_reaction(person, event)


# ------------------------------------------------------------------------------------ errors


async def error_handler(update: object, context: BotContext) -> None:
    """Log the failure and tell the person something went wrong instead of going silent."""
    log.error("update failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        person = person_of(update) if update.effective_user is not None else None
        try:
            await context.flow.on_internal_error(context.chat(update.effective_chat.id), person)
        except Exception:  # the platform itself may be what failed
            log.exception("could not tell the user about the failure")


def install(application: Application, flow: Flow, frontend: TelegramFrontend) -> None:
    """Put the flow and its frontend where every handler's :class:`BotContext` finds them."""
    application.bot_data.install(flow, frontend)
