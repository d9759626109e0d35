"""The platform-neutral bot: what happens to a song from upload to delivered stems.

A platform frontend builds :class:`Services` (job queue, payments, event stream, state),
implements :class:`Frontend`/:class:`Chat` and calls :class:`Flow` from its update handlers.
"""

from bots.core.flow import Flow
from bots.core.ports import Button, Chat, Frontend, Invoice, Keyboard, MessageRef, Person, Upload
from bots.core.services import Services

__all__ = [
    "Button",
    "Chat",
    "Flow",
    "Frontend",
    "Invoice",
    "Keyboard",
    "MessageRef",
    "Person",
    "Services",
    "Upload",
]
