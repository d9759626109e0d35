"""Wiring: build the PTB ``Application``, register the handlers, run it until told to stop.

``main()`` is what ``python -m bots.telegram`` runs. :func:`serve` is the one code path that
starts and stops the bot (polling, the job-event consumer, start-up recovery), used by ``main``
with signal handlers and by the tests with an event they set themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from telegram import BotCommand, Update
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

import jobs
import payments
from bots.core.flow import Flow
from bots.core.services import Services
from bots.telegram import handlers
from bots.telegram.chat import PLATFORM, TelegramFrontend
from bots.telegram.config import TelegramConfig
from bots.telegram.context import CONTEXT_TYPES
from jobs.events import STOP_GRACE_S as EVENTS_STOP_GRACE_S
from service.envconfig import load_or_exit
from texts import chat as messages
from texts.languages import ENGLISH, LANGUAGES, check_installed, speak

log = logging.getLogger(__name__)

# Reactions are only delivered to bots that ask for them by name.
ALLOWED_UPDATES: list[str] = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.PRE_CHECKOUT_QUERY,
    Update.MESSAGE_REACTION,
]
POLL_TIMEOUT_S = 10
# How often paid orders whose job could not be started (queue briefly down) are tried again.
RECOVERY_INTERVAL_S = 300.0
# On stop, how long the job-event loop may take to finish the deliveries it is running (an event
# cut off half-way is handled again after a restart, which may send some of its files twice): its
# handlers' grace plus the read in progress.
STOP_GRACE_S = EVENTS_STOP_GRACE_S + 10.0
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
    application.add_handler(
        CommandHandler(["history", "balance"], handlers.history, filters=private)
    )
    application.add_handler(CommandHandler("status", handlers.status, filters=private))
    application.add_handler(CommandHandler("cancel", handlers.cancel, filters=private))
    application.add_handler(CommandHandler("forget", handlers.forget, filters=private))
    application.add_handler(CommandHandler("language", handlers.language, filters=private))
    application.add_handler(
        CommandHandler(
            [name for name, _what in messages.admin_commands()], handlers.admin_command, filters=private
        )
    )
    application.add_handler(
        MessageHandler(filters.SUCCESSFUL_PAYMENT, handlers.successful_payment)
    )
    application.add_handler(MessageHandler(SONG_FILTER & private, handlers.song))
    application.add_handler(
        MessageHandler(private & ~filters.COMMAND & ~SONG_FILTER, handlers.other_message)
    )
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(PreCheckoutQueryHandler(handlers.pre_checkout))
    application.add_handler(MessageReactionHandler(handlers.reaction))
    application.add_error_handler(handlers.error_handler)
    return application


async def set_commands(application: Application) -> None:
    """The command menu in every language: English for everyone, and each language's own for
    the people whose Telegram app speaks it (``setMyCommands`` with ``language_code``)."""
    for language in LANGUAGES:
        with speak(language.code):
            commands = [
                BotCommand(name, what) for name, what in messages.catalogue(PLATFORM, 0).commands()
            ]
        code = None if language.code == ENGLISH else language.tag.split("-")[0].lower()
        await application.bot.set_my_commands(commands, language_code=code)


async def serve(
    application: Application, stop: asyncio.Event, recovery_interval_s: float = RECOVERY_INTERVAL_S
) -> None:
    """Run the bot until ``stop`` is set: recover at start, poll updates, consume job events,
    and re-drive paid orders whose job could not be started every ``recovery_interval_s``."""
    flow, _ = application.bot_data.installed()
    async with application:
        await set_commands(application)
        await flow.resume()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, timeout=POLL_TIMEOUT_S
        )
        background = {
            asyncio.create_task(flow.run_events(stop), name="job-events"),
            asyncio.create_task(flow.run_recovery(stop, recovery_interval_s), name="recovery"),
        }
        waiter = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {*background, waiter}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done & background:
                task.result()  # a background loop died: raise why, don't run without it
            # Stopping: the loops see ``stop`` and return once their running work is done.
            await asyncio.wait(background, timeout=STOP_GRACE_S)
        finally:
            for task in (*background, waiter):
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await application.updater.stop()
            await application.stop()
            flow.close()


async def _run(config: TelegramConfig, jobs_settings: jobs.Settings, pay_settings: payments.Settings) -> None:
    check_installed()  # every catalogue loads, or the bot does not start
    services = Services.build(PLATFORM, jobs_settings, pay_settings)
    application = build_application(config, services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(application, stop)
    finally:
        await services.close()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Every bad setting of the bot, the pipeline and payments named in one message.
    config, jobs_settings, pay_settings = load_or_exit(
        "bots.telegram", [TelegramConfig, jobs.Settings, payments.Settings]
    )
    log.info("starting Telegram bot against %s", config.api_base_url)
    asyncio.run(_run(config, jobs_settings, pay_settings))
