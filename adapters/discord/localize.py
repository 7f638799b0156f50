"""Slash command names, descriptions and choices in the member's Discord language.

Discord shows each command in the language of the member's client, from the localizations
sent with the command (https://discord.com/developers/docs/interactions/application-commands#localization).
discord.py asks an ``app_commands.Translator`` for each of Discord's locales when it syncs
(discord/app_commands/commands.py: Command.get_translated_payload); this one answers from
the bot's message catalogs (bot/i18n.py), so a command reads the same in /help on every
platform. Names (commands, groups, subcommands, options) are words of their own in the
catalogs (bot/command_words.py); whatever a member sees,
Discord sends the interaction with the declared name, so it reaches the same core command.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from discord import Locale
from discord.app_commands import (
    TranslationContextLocation,
    TranslationContextTypes,
    Translator,
    locale_str,
)

from bot import i18n
from bot.command_words import word_in
from bot.i18n import N_

from .translate import short_description

# How a choice reads (its value is what the core receives, whatever the language).
CHOICE_LABELS: Mapping[str, str] = {
    "resolve": N_("resolve"),
    "false-positive": N_("false-positive"),
    "show": N_("show"),
    "confirm-action": N_("confirm-action"),
    "confirm": N_("confirm"),
}


_NAMES = (
    TranslationContextLocation.command_name,
    TranslationContextLocation.group_name,
    TranslationContextLocation.parameter_name,
)


def fits_discord_name(name: str) -> bool:
    """Discord's rule for a command's, option's or localized name: 1-32 characters of
    ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, letters in lowercase where they have
    one (https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-naming)."""
    if not 1 <= len(name) <= 32 or name != name.lower():
        return False
    for char in name:
        if char in "-_'" or unicodedata.category(char)[0] in "LN":
            continue
        if unicodedata.name(char, "").startswith(("DEVANAGARI", "THAI")):
            continue
        return False
    return True


def localized_name(lang: str, word: str) -> str | None:
    """``word`` as Discord shows it in ``lang``, or None where it reads as declared (or a
    catalog's word would break Discord's rule: then the declared name is shown)."""
    said = word_in(lang, word)
    return said if said != word and fits_discord_name(said) else None


def described(msgid: str, **named: object) -> locale_str:
    """A description Discord shows: English (shortened to Discord's limit) as sent, with
    the catalog's message id and placeholders for the translator."""
    english = msgid.format(**named) if named else msgid
    return locale_str(short_description(english), msgid=msgid, named=dict(named))


def choice_label(value: str) -> locale_str:
    return locale_str(value, msgid=CHOICE_LABELS.get(value, value), named={})


class CatalogTranslator(Translator):
    """Answers discord.py from the catalogs; None (no localization) where English would be
    said anyway, so Discord falls back to the command's own text."""

    async def translate(
        self, string: locale_str, locale: Locale, context: TranslationContextTypes
    ) -> str | None:
        lang = i18n.negotiate(locale.value)
        if lang == i18n.SOURCE:
            return None
        if context.location in _NAMES:
            return localized_name(lang, string.message)
        msgid = string.extras.get("msgid", string.message)
        named = string.extras.get("named", {})
        english = msgid.format(**named) if named else msgid
        said = i18n.translate(lang, msgid, **named)
        return short_description(said) if said != english else None
