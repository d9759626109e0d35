"""The one start-up path of a chat-bot process (``python -m bots.telegram``, ``python -m bots.discord``).

A platform hands in what is its own as a :class:`BotPlatform` — its settings class, how to build
its bot on the shared :class:`bots.core.services.Services`, and how to serve it until a stop
event is set — and :func:`main` does the rest the same way for every platform: logging, every
bad setting of the bot, the pipeline and payments named in one start-up error, the services
built once, SIGINT/SIGTERM setting the stop event, and the services closed however serving
ended. :func:`run_until_stopped` and :func:`cancel_all` are the shared shape of each platform's
``serve``: a background loop that dies stops the bot with its error, never leaves it running
without it, and on stop the running deliveries get :data:`STOP_GRACE_S` to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import jobs
import metrics
import payments
from bots.core.services import Services
from jobs.events import STOP_GRACE_S as EVENTS_STOP_GRACE_S
from service import logs
from service.envconfig import load_or_exit
from texts.languages import check_installed

# How often paid orders whose job could not be started (queue briefly down) are tried again.
RECOVERY_INTERVAL_S = 300.0
# On stop, how long the job-event loop may take to finish the deliveries it is running (an event
# cut off half-way is handled again after a restart, which may send some of its files twice): its
# handlers' grace plus the read in progress.
STOP_GRACE_S = EVENTS_STOP_GRACE_S + 10.0


class BotConfig(Protocol):
    """What the start-up path reads of a platform's settings (a dataclass of
    :mod:`service.envconfig` fields)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def api_base_url(self) -> str: ...


ConfigT = TypeVar("ConfigT", bound=BotConfig)
BotT = TypeVar("BotT")


@dataclass(frozen=True)
class BotPlatform(Generic[ConfigT, BotT]):
    """A platform's own part of the start-up."""

    module: str  # "bots.telegram": names the process in a settings error
    title: str  # "Telegram": the start-up log line
    platform: str  # the job pipeline's platform name (its event stream)
    config: type[ConfigT]  # its settings, read by ``service.envconfig``
    build: Callable[[ConfigT, Services], BotT]
    serve: Callable[[BotT, asyncio.Event], Awaitable[None]]
    log: logging.Logger
    # Loggers turned down to warnings (httpx logs every request URL, and Bot API URLs hold the
    # token).
    quiet_loggers: tuple[str, ...] = ()


async def run(
    bot: BotPlatform[ConfigT, BotT],
    config: ConfigT,
    jobs_settings: jobs.Settings,
    pay_settings: payments.Settings,
) -> None:
    """Build the services and the bot, serve it until SIGINT or SIGTERM, close the services.
    Every language's catalogue must load first: a bot with a missing ``.mo`` does not start."""
    check_installed()
    services = Services.build(bot.platform, jobs_settings, pay_settings)
    client = bot.build(config, services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await bot.serve(client, stop)
    finally:
        await services.close()


def main(bot: BotPlatform[ConfigT, BotT]) -> None:
    """What ``python -m bots.<platform>`` runs: the shared log format (the bot's token and
    every other secret redacted), ``/metrics`` on the platform's own port, then the bot."""
    # Every bad setting of the bot, the pipeline, payments, logs and metrics named in one message.
    config, jobs_settings, pay_settings, log_settings, metrics_settings = load_or_exit(
        bot.module,
        [bot.config, jobs.Settings, payments.Settings, logs.LogSettings, metrics.MetricsSettings],
    )
    logs.setup(
        log_settings,
        bot.platform,
        secrets=logs.secrets_of(config, jobs_settings, pay_settings),
        quiet=bot.quiet_loggers,
    )
    metrics.serve(metrics_settings, bot.platform)
    bot.log.info("starting %s bot against %s", bot.title, config.api_base_url)
    asyncio.run(run(bot, config, jobs_settings, pay_settings))


async def run_until_stopped(
    background: Collection[asyncio.Task[object]],
    stop: asyncio.Event,
    drain: Collection[asyncio.Task[object]],
    grace_s: float = STOP_GRACE_S,
) -> None:
    """Wait until ``stop`` is set or a ``background`` loop ends — its error is raised: the bot
    never runs without one of its loops — then give ``drain`` up to ``grace_s`` to finish the
    work it is running (the loops see ``stop`` and return once done)."""
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({*background, waiter}, return_when=asyncio.FIRST_COMPLETED)
        for task in done & set(background):
            task.result()  # a background loop died: raise why, don't run without it
        await asyncio.wait(drain, timeout=grace_s)
    finally:
        waiter.cancel()


async def cancel_all(
    tasks: Iterable[asyncio.Task[object]], suppress: tuple[type[BaseException], ...] = ()
) -> None:
    """Cancel ``tasks`` and wait for each to end (its cancellation, and ``suppress``, swallowed)."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, *suppress):
            await task
