"""Discord adapter: Confidant as a Discord bot (discord.py), with slash commands generated
from the command registry.

``translate`` is pure (Discord objects in, core events out, and back); ``client`` holds the
connection and the Adapter; ``outbound`` performs actions; ``access`` works out who can see
which channel; ``commands`` and ``sync`` build and register slash commands; ``replies``
answers interactions in time.
"""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.commands import Registry
from bot.config import DiscordConfig

from .client import DiscordAdapter, DiscordStartError, required_intents

__all__ = ["DiscordAdapter", "DiscordStartError", "make_discord_adapter", "required_intents"]


def make_discord_adapter(
    config: DiscordConfig, registry: Registry, clock: Clock, **client_options: Any
) -> DiscordAdapter:
    """The adapter the CLI runs and tests build; ``client_options`` go to discord.Client
    (tests pass ``connector=fake.connector()``), except the adapter's own ``ready_timeout``
    and ``defer_after`` (seconds before a slow command's reply is deferred)."""
    return DiscordAdapter(config, registry, clock, **client_options)
