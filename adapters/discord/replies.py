"""Ephemeral answers to slash commands and button presses, within Discord's three seconds.

An interaction must get its first response within 3 s of Discord sending it, or Discord
refuses every later one (404 10062 Unknown interaction) and the member sees "the application
did not respond". The core usually answers well inside that, so the first reply goes out as
the interaction's own ephemeral response (one call). If the core is slow (a rate-limited
permission change, a busy store), a timer acknowledges first: a command with a "thinking"
response that the reply then edits, a button press with DEFERRED_UPDATE_MESSAGE (type 6,
which shows nothing, so no "thinking…" is left behind when the answer went to a DM) and the
reply as an ephemeral follow-up. Further replies are ephemeral follow-ups. An interaction
Discord refused as too late is logged, and its reply goes the way a reply to an ended
command does (privately). The core only ever sees an opaque handle, never the interaction.

Source: https://discord.com/developers/docs/interactions/receiving-and-responding
(interaction callback types; "you must send an initial response within 3 seconds").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import discord

from bot.i18n import N_, t

from .command_mentions import CommandNames
from .translate import split_text

log = logging.getLogger("confidant.discord")

# Discord counts its 3 s from when it sent the event; the margin covers the trip there and
# back and an event loop busy with something else.
DEFER_AFTER_S = 1.5
# Said by the adapter on its own (the core gave no answer), so in the deployment's language
# (bot.i18n.set_default): a Spanish circle's member is not apologised to in English.
NO_ANSWER = N_("Sorry, that did not work just now. Please try again in a moment.")


@dataclass
class _Pending:
    interaction: discord.Interaction
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    deferred: bool = False  # a "thinking" response waits to be edited into the reply
    answered: bool = False
    expired: bool = False  # Discord refused the first response: too late (10062)
    timer: asyncio.Task[None] | None = None

    @property
    def is_component(self) -> bool:
        return self.interaction.type is discord.InteractionType.component


class InteractionReplies:
    """Maps reply handles to live interactions for as long as their command is running."""

    def __init__(self, defer_after: float = DEFER_AFTER_S) -> None:
        self.defer_after = defer_after
        self._pending: dict[str, _Pending] = {}
        # The bot's slash commands, named in answers exactly as the member's client shows
        # them (the interaction's locale; command_mentions.py); set by the adapter.
        self.names = CommandNames()

    def open(self, interaction: discord.Interaction) -> str:
        handle = str(interaction.id)
        pending = _Pending(interaction)
        pending.timer = asyncio.create_task(self._defer_later(pending), name=f"defer-{handle}")
        self._pending[handle] = pending
        return handle

    async def answer(self, handle: str, text: str) -> bool:
        """Answer ephemerally; False if the handle is unknown (its command already ended)
        or Discord no longer takes answers to it (it came too late): answer another way."""
        pending = self._pending.get(handle)
        if pending is None or pending.expired:
            return False
        locale = getattr(pending.interaction.locale, "value", None)
        return await self._send(pending, self.names.for_client(text, locale))

    async def close(self, handle: str, answered_elsewhere: bool = False) -> None:
        """The command finished: make sure the member got *some* answer, then forget it.

        ``answered_elsewhere``: a button press the core handled by writing to the member's
        DM (a check-in's next question) needs no words here, only Discord's acknowledgement;
        an apology would tell the member something failed when nothing did."""
        pending = self._pending.pop(handle, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending.timer
        if pending.expired:
            return  # logged when Discord refused it; nothing more reaches this interaction
        if not pending.answered and answered_elsewhere:
            async with pending.lock:
                if not pending.interaction.response.is_done():
                    with contextlib.suppress(discord.HTTPException):
                        await pending.interaction.response.defer()  # type 6 for a button
            return
        if not pending.answered:
            log.warning("interaction %s ended without a reply from the core", handle)
            with contextlib.suppress(discord.HTTPException):
                await self._send(pending, t(NO_ANSWER))

    async def close_all(self) -> None:
        for handle in list(self._pending):
            pending = self._pending.pop(handle)
            if pending.timer is not None:
                pending.timer.cancel()

    async def _defer_later(self, pending: _Pending) -> None:
        await asyncio.sleep(self.defer_after)
        async with pending.lock:
            response = pending.interaction.response
            if pending.answered or response.is_done():
                return
            try:
                if pending.is_component:
                    await response.defer()  # DEFERRED_UPDATE_MESSAGE: nothing shown
                else:
                    await response.defer(ephemeral=True, thinking=True)
            except discord.NotFound as error:
                self._too_late(pending, error)
                return
            except discord.HTTPException as error:
                log.warning("deferring interaction %s failed: %s", pending.interaction.id, error)
                return
            pending.deferred = not pending.is_component
            log.info("deferred interaction %s while the core works", pending.interaction.id)

    @staticmethod
    def _too_late(pending: _Pending, error: discord.NotFound) -> None:
        """Discord refused the first response: it came after the 3 s (10062), or the
        interaction is gone. Logged; the reply then goes privately (see ``answer``)."""
        pending.expired = True
        log.warning(
            "interaction %s was answered too late for Discord (%s %s); replying another way",
            pending.interaction.id,
            error.status,
            error.code,
        )

    async def _send(self, pending: _Pending, text: str) -> bool:
        """False when Discord refused the first response (too late): nothing was sent."""
        interaction = pending.interaction
        chunks = split_text(text)
        none = discord.AllowedMentions.none()
        async with pending.lock:
            if pending.expired:
                return False
            first, rest = chunks[0], chunks[1:]
            if not interaction.response.is_done():
                try:
                    await interaction.response.send_message(
                        first, ephemeral=True, allowed_mentions=none
                    )
                except discord.NotFound as error:
                    self._too_late(pending, error)
                    return False
            elif pending.deferred and not pending.answered:
                await interaction.edit_original_response(content=first, allowed_mentions=none)
            else:
                rest = chunks
            for chunk in rest:
                await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=none)
            pending.answered = True
            return True
