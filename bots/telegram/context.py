"""The typed context every Telegram handler gets: ``context.flow`` and ``context.chat(id)``.

python-telegram-bot builds one :class:`BotContext` per update (``ContextTypes(context=...)``,
registered by :data:`CONTEXT_TYPES` in ``app.build_application``). The flow lives once, in the
application's :class:`BotData`, set by :func:`bots.telegram.handlers.install` before polling
starts; handlers read it as one typed attribute instead of a ``bot_data[...]`` look-up.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bots.core.flow import Flow
from bots.telegram.chat import TelegramChat, TelegramFrontend


class BotData:
    """The application-wide state: the flow and its Telegram frontend (None until installed)."""

    def __init__(self) -> None:
        self.flow: Flow | None = None
        self.frontend: TelegramFrontend | None = None

    def install(self, flow: Flow, frontend: TelegramFrontend) -> None:
        self.flow, self.frontend = flow, frontend

    def installed(self) -> tuple[Flow, TelegramFrontend]:
        if self.flow is None or self.frontend is None:
            raise RuntimeError("bots.telegram.handlers.install() has not run")
        return self.flow, self.frontend


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    @property
    def flow(self) -> Flow:
        return self.bot_data.installed()[0]

    def chat(self, chat_id: int) -> TelegramChat:
        return self.bot_data.installed()[1].chat(chat_id)


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)
