"""Telegram reports a person's whole new reaction list; the core takes one (emoji, added) event
per change, removals first (so replacing ❤ by 👎 withdraws the ❤ rating, then rates 👎)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Chat, MessageReactionUpdated, ReactionTypeCustomEmoji, ReactionTypeEmoji, User

from bots.core.ports import MessageRef, Reaction
from bots.telegram.handlers import reactions_of


def _update(old: list, new: list) -> MessageReactionUpdated:
    return MessageReactionUpdated(
        chat=Chat(5, "private"),
        message_id=77,
        date=datetime.now(UTC),
        old_reaction=tuple(old),
        new_reaction=tuple(new),
        user=User(5, "x", False),
    )


def test_a_replaced_list_becomes_removals_then_additions() -> None:
    ref = MessageRef(5, 77)
    heart, down, fire = (ReactionTypeEmoji(e) for e in ("❤", "👎", "🔥"))
    assert reactions_of(_update([heart, fire], [fire, down])) == [
        Reaction(ref, "❤", added=False),
        Reaction(ref, "👎", added=True),
    ]
    assert reactions_of(_update([], [heart])) == [Reaction(ref, "❤", added=True)]
    assert reactions_of(_update([heart], [])) == [Reaction(ref, "❤", added=False)]
    custom = ReactionTypeCustomEmoji("12345")  # no emoji to rate by: not an event
    assert reactions_of(_update([], [custom])) == []
