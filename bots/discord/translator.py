"""Slash commands in each person's language: discord.py's ``app_commands.Translator`` over the
one catalogue.

Every command's name, description and option description is a :class:`locale_str` whose
``words`` extra says how to word it (a function of the catalogue: ``chat.command_names()`` for a
name, a marked text for a description); :class:`CatalogueTranslator` calls it in the language of
each Discord locale we speak (``texts.languages.Language.discord``) when the tree is synced, so
Discord stores a localisation per locale and shows each person the one of their app. A locale we
have no catalogue for (and Persian, which Discord has no locale for: ``/language`` covers it)
gets none, and Discord shows the English.
"""

from __future__ import annotations

from collections.abc import Callable

import discord
from discord import app_commands

from texts.languages import ENGLISH, discord_locales, speak

Words = Callable[[], str]


def localised(english: str, words: Words) -> app_commands.locale_str:
    """A command's text: ``english`` is what Discord shows by default, ``words`` the same text
    worded in the language in effect."""
    return app_commands.locale_str(english, words=words)


class CatalogueTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        code = discord_locales().get(locale.value)
        words = string.extras.get("words")
        if code is None or code == ENGLISH or words is None:
            return None
        with speak(code):
            return words()
