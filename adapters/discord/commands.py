"""Slash commands generated from the one command registry.

discord.py reads a command's options from its callback's signature, so each spec gets a
callback whose signature is *built* from the spec's params; the public decorators then add
descriptions, choices and default permissions. A command is therefore declared once, in the
registry, and Discord's surface cannot drift from the console's or Matrix's.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord
from discord import app_commands

from bot.commands import CommandSpec, Param, Permission, Registry
from bot.i18n import N_

from .localize import choice_label, described

# Who sees a moderator command in Discord's picker by default. The core still checks the
# policy's moderator list on every invocation; this only keeps the picker tidy for members.
MODERATOR_PERMISSIONS = discord.Permissions(manage_messages=True)

Invoke = Callable[[CommandSpec, discord.Interaction, Mapping[str, object]], Awaitable[None]]


def build_commands(
    registry: Registry, invoke: Invoke
) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """One top-level command per one-word spec, one Group per first word of two-word specs."""
    top: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    groups: dict[str, list[CommandSpec]] = {}
    for spec in registry:
        if len(spec.words) == 2:
            groups.setdefault(spec.words[0], []).append(spec)
        else:
            top.append(_command(spec, spec.name, invoke, top_level=True))
    for word, specs in groups.items():
        moderator_only = all(s.permission is Permission.MODERATOR for s in specs)
        group = app_commands.Group(
            name=word,
            description=described(
                N_("{word} commands: {commands}"),
                word=word,
                commands=", ".join(s.words[1] for s in specs),
            ),
            default_permissions=MODERATOR_PERMISSIONS if moderator_only else None,
        )
        for spec in specs:
            group.add_command(_command(spec, spec.words[1], invoke, top_level=False))
        top.append(group)
    return sorted(top, key=lambda c: c.name)


def _command(
    spec: CommandSpec, name: str, invoke: Invoke, *, top_level: bool
) -> app_commands.Command[Any, ..., None]:
    async def callback(interaction: discord.Interaction, **values: object) -> None:
        await invoke(spec, interaction, values)

    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "interaction",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=discord.Interaction,
            ),
            *(_parameter(p) for p in spec.params),
        ]
    )
    if spec.params:
        callback = app_commands.describe(
            **{p.name: described(p.description) for p in spec.params}
        )(callback)
    choices = {
        p.name: [app_commands.Choice(name=choice_label(c), value=c) for c in p.choices]
        for p in spec.params
        if p.choices
    }
    if choices:
        callback = app_commands.choices(**choices)(callback)
    if top_level and spec.permission is Permission.MODERATOR:
        callback = app_commands.default_permissions(MODERATOR_PERMISSIONS)(callback)
    return app_commands.Command(
        name=name, description=described(spec.description), callback=callback
    )


def _parameter(param: Param) -> inspect.Parameter:
    kind: Any = int if param.kind is int else str
    return inspect.Parameter(
        param.name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=kind if param.required else kind | None,
        default=inspect.Parameter.empty if param.required else None,
    )
