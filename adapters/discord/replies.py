"""Ephemeral answers to slash commands, within Discord's three seconds.

An interaction must be acknowledged within 3 s or the member sees "the application did not
respond". The core usually answers well inside that, so the first reply goes out as the
interaction's own ephemeral response (one call). If the core is slow (a rate-limited
permission change, a busy store), a timer defers ephemerally first and the reply then edits
that deferred response; further replies are ephemeral follow-ups. The core only ever sees an
opaque handle, never the interaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import discord

from .translate import split_text

log = logging.getLogger("confidant.discord")

DEFER_AFTER_S = 2.0
NO_ANSWER = "Sorry, that did not work just now. Please try again in a moment."


@dataclass
class _Pending:
    interaction: discord.Interaction
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    deferred: bool = False
    answered: bool = False
    timer: asyncio.Task[None] | None = None


class InteractionReplies:
    """Maps reply handles to live interactions for as long as their command is running."""

    def __init__(self, defer_after: float = DEFER_AFTER_S) -> None:
        self.defer_after = defer_after
        self._pending: dict[str, _Pending] = {}

    def open(self, interaction: discord.Interaction) -> str:
        handle = str(interaction.id)
        pending = _Pending(interaction)
        pending.timer = asyncio.create_task(self._defer_later(pending), name=f"defer-{handle}")
        self._pending[handle] = pending
        return handle

    async def answer(self, handle: str, text: str) -> bool:
        """Answer ephemerally; False if the handle is unknown (its command already ended)."""
        pending = self._pending.get(handle)
        if pending is None:
            return False
        await self._send(pending, text)
        return True

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
        if not pending.answered and answered_elsewhere:
            async with pending.lock:
                if not pending.interaction.response.is_done():
                    with contextlib.suppress(discord.HTTPException):
                        await pending.interaction.response.defer()
            return
        if not pending.answered:
            log.warning("interaction %s ended without a reply from the core", handle)
            with contextlib.suppress(discord.HTTPException):
                await self._send(pending, NO_ANSWER)

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
                await response.defer(ephemeral=True, thinking=True)
            except discord.HTTPException as error:
                log.warning("deferring interaction %s failed: %s", pending.interaction.id, error)
                return
            pending.deferred = True
            log.info("deferred interaction %s while the core works", pending.interaction.id)

    async def _send(self, pending: _Pending, text: str) -> None:
        interaction = pending.interaction
        chunks = split_text(text)
        none = discord.AllowedMentions.none()
        async with pending.lock:
            first, rest = chunks[0], chunks[1:]
            if not interaction.response.is_done():
                await interaction.response.send_message(
                    first, ephemeral=True, allowed_mentions=none
                )
            elif pending.deferred and not pending.answered:
                await interaction.edit_original_response(content=first, allowed_mentions=none)
            else:
                rest = chunks
            for chunk in rest:
                await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=none)
            pending.answered = True
