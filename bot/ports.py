"""The contracts between the core and the outside world."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.actions import Action
from bot.events import Event
from bot.store.protocol import Store as Store  # the storage port (SQLite or PostgreSQL)

EventSink = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What differs between platforms. Core code asks these, never a platform's name."""

    ephemeral_replies: bool = False
    buttons: bool = False
    posting_permission: bool = False
    deletes: bool = False
    private_messages: bool = True
    command_prefix: str = "/"
    checks_posts: bool = False  # performs CheckMessage (can tell whether a post still exists)
    # GrantAccess is an invite the member still has to accept (Matrix), not an open door.
    access_by_invite: bool = False
    # Members' private messages reach this process. A Discord shard other than 0 gets none
    # (Discord sends DMs to shard 0 only): the check-ins held there are resumed by the
    # process they reach, not by every process at its start.
    private_messages_arrive: bool = True
    # The member's client shows commands by their names in its own language (Discord's
    # name_localizations, sent from the catalogs' command words): a list of commands names
    # them as the locale an interaction carries shows them, or the member looks for a name
    # their client does not have.
    command_names_by_locale: bool = False


@runtime_checkable
class Adapter(Protocol):
    platform: str
    capabilities: Capabilities

    async def start(self, sink: EventSink) -> None:
        """Connect and begin delivering events to ``sink``; returns once running."""

    async def stop(self) -> None:
        """Disconnect cleanly; pending work is finished or left for the next start."""

    async def perform(self, action: Action) -> None:
        """Carry out one action; raise PrivateMessageRefused or ActionNotSupported."""

    # Optional: ``connected: bool``, whether the platform connection is up right now (the
    # Matrix sync loop succeeding, the Discord gateway ready). Read by /healthz and the
    # adapter-state gauge through is_connected; not part of the Protocol so that fakes in
    # tests need not declare it.
    #
    # Optional: ``async settle(timeout_s)``, called first at a stop: take no new events and
    # let those being handled finish (bounded). For a platform that hands unfinished work
    # over again at the next start (the Matrix sync token), so answered commands do not
    # replay.


def is_connected(adapter: Adapter) -> bool:
    """An adapter's own ``connected`` report; one without it is up while it runs."""
    return bool(getattr(adapter, "connected", True))
