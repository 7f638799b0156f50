"""The core's buttons and select menus as Discord message components.

A component is answered by whichever process is running when it is pressed, possibly long
after a restart. So nothing about it lives in memory: its ``custom_id`` is the core's own
deterministic choice id, and one :class:`discord.ui.DynamicItem` registered on the client
(``Client.add_dynamic_items``, discord.py's persistent-view mechanism for ids that carry
data) recognises every ``confidant:...`` id and hands the press to the client.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, Self, runtime_checkable

import discord

from bot.actions import Button, Select

# Discord allows 100 characters in a custom_id; the core's ids all start "confidant:".
CUSTOM_ID = re.compile(r"confidant:[!-~]{1,90}")
MAX_LABEL = 80  # a button's label
MAX_OPTION = 100  # a select option's label and value
MAX_PLACEHOLDER = 150
MAX_OPTIONS = 25


@runtime_checkable
class Chooser(Protocol):
    async def choose(
        self, interaction: discord.Interaction, custom_id: str, values: tuple[str, ...]
    ) -> None: ...


class CoreComponent(discord.ui.DynamicItem[discord.ui.Item[Any]], template=CUSTOM_ID):
    """Any button or select the core posted, before or after a restart."""

    def __init__(self, item: discord.ui.Item[Any]) -> None:
        super().__init__(item)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(item)

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        if not isinstance(client, Chooser):
            return
        data: Any = interaction.data or {}
        values = tuple(str(v) for v in data.get("values") or ())
        await client.choose(interaction, str(data.get("custom_id", "")), values)


def build_view(buttons: tuple[Button, ...], select: Select | None) -> discord.ui.View:
    """A view without timeout whose items all carry the core's ids: it needs no process
    memory to work, which is what lets a standing rules message outlive restarts."""
    view = discord.ui.View(timeout=None)
    for button in buttons:
        item: discord.ui.Item[Any] = discord.ui.Button(
            label=_cut(button.label, MAX_LABEL),
            custom_id=button.id,
            style=discord.ButtonStyle.primary,
            row=0,
        )
        view.add_item(CoreComponent(item))
    if select is not None:
        menu: discord.ui.Select[Any] = discord.ui.Select(
            custom_id=select.id,
            placeholder=_cut(select.placeholder, MAX_PLACEHOLDER) or None,
            options=[
                discord.SelectOption(
                    label=_cut(o.label, MAX_OPTION), value=_cut(o.value, MAX_OPTION)
                )
                for o in select.options[:MAX_OPTIONS]
            ],
            min_values=1,
            max_values=1,
            row=1,
        )
        view.add_item(CoreComponent(menu))
    return view


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
