"""The words of the payments' own documents: what a Telegram invoice says when nothing more
precise is known (the bots title it with the song, ``texts.chat.invoice_title``)."""

from __future__ import annotations

from texts.translation import _


def invoice_title() -> str:
    return _("Full-length stems")


def invoice_description() -> str:
    return _("Vocals and instrumental of your whole song, in full quality.")


def invoice_label() -> str:
    """The invoice's one price line."""
    return _("Full stems")


def product_name() -> str:
    """What Stripe Checkout's page calls the thing bought."""
    return _("Full-length stems: vocals + instrumental")
