"""The contracts between the core and the outside world."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.actions import Action
from bot.events import Event

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
