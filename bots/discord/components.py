"""The core's :class:`~bots.core.ports.Button` rows as Discord message components.

Action buttons are discord.py dynamic items: their ``custom_id`` is ``vr:<action>:<arg>`` and the
client routes any tap whose id matches :data:`CUSTOM_ID_TEMPLATE` to :class:`ActionButton` —
also on messages sent before a restart, and without keeping a view per message in memory (the
views are stopped before sending; only the template is registered). Link buttons (a Checkout
session, a download) are plain URL buttons.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bots.core.ports import Keyboard

PREFIX = "vr"
CUSTOM_ID_TEMPLATE = rf"{PREFIX}:(?P<action>[a-z]+):(?P<arg>[A-Za-z0-9:._-]*)"
# Discord's limits: 100 characters of custom_id, 80 of label, 5 rows of 5 buttons.
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_ROWS = 5

# Called for every tap: (interaction, action, arg). Set once by the app.
TapHandler = Callable[[discord.Interaction, str, str], Awaitable[None]]


def custom_id(action: str, arg: str) -> str:
    value = f"{PREFIX}:{action}:{arg}"
    if len(value) > MAX_CUSTOM_ID or not re.fullmatch(CUSTOM_ID_TEMPLATE, value):
        raise ValueError(f"not a valid button id: {value!r}")
    return value


class ActionButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_TEMPLATE):
    """A core action button; survives restarts because only its id template is registered."""

    on_tap: TapHandler | None = None

    def __init__(self, label: str, action: str, arg: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:MAX_LABEL],
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id(action, arg),
            )
        )
        self.action = action
        self.arg = arg

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ActionButton:
        label = getattr(item, "label", None) or match["action"]
        return cls(label, match["action"], match["arg"])

    async def callback(self, interaction: discord.Interaction) -> None:
        if ActionButton.on_tap is None:  # the app sets it before connecting
            raise RuntimeError("no tap handler installed")
        await ActionButton.on_tap(interaction, self.action, self.arg)


def view(buttons: Keyboard | None) -> discord.ui.View | None:
    """Components for a message; None when there are no buttons."""
    if not buttons:
        return None
    rendered = discord.ui.View(timeout=None)
    for row_number, row in enumerate(list(buttons)[:MAX_ROWS]):
        for button in row:
            if button.url:
                rendered.add_item(
                    discord.ui.Button(label=button.label[:MAX_LABEL], url=button.url, row=row_number)
                )
            else:
                item = ActionButton(button.label, button.action, button.arg)
                item.item.row = row_number
                rendered.add_item(item)
    rendered.stop()  # taps are routed by custom_id template; nothing to keep per message
    return rendered
