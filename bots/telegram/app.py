"""Wiring: build the PTB ``Application``, register the handlers, run it until told to stop.

:data:`TELEGRAM` is Telegram's part of the shared start-up (:mod:`bots.run`), which
``python -m bots.telegram`` runs. :func:`serve` is the one code path that starts and stops the
bot (polling, the job-event consumer, start-up recovery), used by the start-up with signal
handlers and by the tests with an event they set themselves.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    MessageReactionHandler,
    PreCheckoutQueryHandler,
    filters,
)

from bots.core.flow import Flow
from bots.core.services import Services
from bots.run import RECOVERY_INTERVAL_S, BotPlatform, cancel_all, run_until_stopped
from bots.telegram import handlers
from bots.telegram.chat import PLATFORM, TelegramFrontend, menu_in
from bots.telegram.config import TelegramConfig
from bots.telegram.context import CONTEXT_TYPES
from texts import chat as messages
from texts.languages import ENGLISH, LANGUAGES

log = logging.getLogger(__name__)

# Reactions are only delivered to bots that ask for them by name.
ALLOWED_UPDATES: list[str] = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.PRE_CHECKOUT_QUERY,
    Update.MESSAGE_REACTION,
]
POLL_TIMEOUT_S = 10
SONG_FILTER = filters.AUDIO | filters.VOICE | filters.Document.ALL | filters.VIDEO


def build_application(config: TelegramConfig, services: Services) -> Application:
    """The Application with every handler registered; nothing runs until :func:`serve`."""
    application = (
        ApplicationBuilder()
        .token(config.token)
        .context_types(CONTEXT_TYPES)
        .base_url(config.api_base_url)
        .base_file_url(config.file_base_url)
        .local_mode(config.local_mode)
        # A song takes seconds to download and decode: don't make everyone else wait for it.
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=3))
        # Uploading 50 MB of stems takes longer than PTB's default 20 s write timeout.
        .media_write_timeout(300)
        .read_timeout(30)
        .build()
    )
    frontend = TelegramFrontend(application.bot, config)
    flow = Flow(frontend, services, config.spool_dir)
    handlers.install(application, flow, frontend)

    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", handlers.start, filters=private))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=private))
    application.add_handler(CommandHandler("settings", handlers.settings, filters=private))
    application.add_handler(CommandHandler(["history", "balance"], handlers.history, filters=private))
    application.add_handler(CommandHandler("status", handlers.status, filters=private))
    application.add_handler(CommandHandler("cancel", handlers.cancel, filters=private))
    application.add_handler(CommandHandler("upload", handlers.upload, filters=private))
    application.add_handler(CommandHandler("forget", handlers.forget, filters=private))
    application.add_handler(CommandHandler("language", handlers.language, filters=private))
    application.add_handler(
        CommandHandler(
            [name for name, _what in messages.admin_commands()], handlers.admin_command, filters=private
        )
    )
    application.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, handlers.successful_payment))
    application.add_handler(MessageHandler(SONG_FILTER & private, handlers.song))
    application.add_handler(MessageHandler(private & ~filters.COMMAND & ~SONG_FILTER, handlers.other_message))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(PreCheckoutQueryHandler(handlers.pre_checkout))
    application.add_handler(MessageReactionHandler(handlers.reaction))
    application.add_error_handler(handlers.error_handler)
    return application


async def set_commands(application: Application) -> None:
    """The command menu in every language: English for everyone, and each language's own for
    the people whose Telegram app speaks it (``setMyCommands`` with ``language_code``). A person
    who chose a language with /language has their own menu on top (``TelegramFrontend``)."""
    for language in LANGUAGES:
        code = None if language.code == ENGLISH else language.tag.split("-")[0].lower()
        await application.bot.set_my_commands(menu_in(language.code), language_code=code)


async def serve(
    application: Application, stop: asyncio.Event, recovery_interval_s: float = RECOVERY_INTERVAL_S
) -> None:
    """Run the bot until ``stop`` is set: recover at start, poll updates, consume job events,
    tell waiting previews their wait as the line moves, and re-drive paid orders whose job
    could not be started every ``recovery_interval_s``."""
    flow, _ = application.bot_data.installed()
    async with application:
        await set_commands(application)
        await flow.resume()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=POLL_TIMEOUT_S)
        background = {
            asyncio.create_task(flow.run_events(stop), name="job-events"),
            asyncio.create_task(flow.run_recovery(stop, recovery_interval_s), name="recovery"),
            asyncio.create_task(flow.run_wait_updates(stop), name="wait-updates"),
        }
        try:
            # Stopping: the loops see ``stop`` and return once their running work is done.
            await run_until_stopped(background, stop, drain=background)
        finally:
            await cancel_all(background)
            await application.updater.stop()
            await application.stop()
            flow.close()


TELEGRAM = BotPlatform(
    module="bots.telegram",
    title="Telegram",
    platform=PLATFORM,
    config=TelegramConfig,
    build=build_application,
    serve=serve,
    log=log,
    quiet_loggers=("httpx",),
)
