"""The permission matrix on Discord, through the fake and the unmodified client: a member
runs every moderator command in the registry and is refused each one, and nothing a bot
does (another bot, or Confidant itself) is acted on, not even answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.app import build_registry
from bot.commands import CommandSpec, Permission
from bot.events import CommandInvoked, MessagePosted, PrivateReply
from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeInteraction, FakeUser

from .conftest import ADAPTER_POLICY, AdapterScene

MODERATOR_COMMANDS = [s for s in build_registry() if s.permission is Permission.MODERATOR]
EPHEMERAL = 64


def options_for(spec: CommandSpec) -> dict[str, str | int]:
    """Option values that fit the spec, so a refusal is never a usage error."""
    return {
        p.name: p.choices[0] if p.choices else 1 if p.kind is int else "circle"
        for p in spec.params
    }


async def invoke(
    fake: FakeDiscord, spec: CommandSpec, user: FakeUser, scene: AdapterScene
) -> FakeInteraction:
    name, *sub = spec.words
    return await fake.events.slash_command(
        name,
        user=user,
        channel=scene.circle,
        options=dict(options_for(spec)),
        subcommand=sub[0] if sub else None,
    )


async def answer_to(fake: FakeDiscord, interaction: FakeInteraction) -> str:
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route, timeout=5)
    assert callback.json["data"]["flags"] == EPHEMERAL
    return str(callback.json["data"]["content"])


async def test_a_member_is_refused_every_moderator_command(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    assert len(MODERATOR_COMMANDS) >= 7
    # Discord offers them only to members with Manage Messages, unless an admin opened them
    # to everyone (Server Settings > Integrations): then the core is what refuses
    fake.world.open_commands(adapter_scene.guild)
    for spec in MODERATOR_COMMANDS:
        interaction = await invoke(fake, spec, adapter_scene.alice, adapter_scene)
        assert await answer_to(fake, interaction) == f"Only moderators can use /{spec.name}."
    invoked = [(e.name, e.invoker.id) for e in rig.of_type(CommandInvoked)]
    assert invoked == [(s.name, str(adapter_scene.alice.id)) for s in MODERATOR_COMMANDS]
    assert await rig.app.store.audit_entries(100) == []
    # the control: the moderator's same command is answered
    show = next(s for s in MODERATOR_COMMANDS if s.name == "policy show")
    answer = await answer_to(fake, await invoke(fake, show, adapter_scene.mod, adapter_scene))
    assert answer.startswith("Policy circle")


async def test_nothing_a_bot_does_is_acted_on(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, world = adapter_scene, fake.world
    other_bot = world.add_user("helper-bot", bot=True)
    world.add_member(scene.guild, other_bot)
    # the other bot is even listed as a moderator: being a bot still comes first
    policy = ADAPTER_POLICY.replace(
        '    user: "{mod_id}"\n',
        f'    user: "{{mod_id}}"\n  - platform: discord\n    user: "{other_bot.id}"\n',
    )
    rig = await start_app(policy=policy)
    fake.world.open_commands(scene.guild)
    mark = fake.requests.mark()
    reload_spec = next(s for s in MODERATOR_COMMANDS if s.name == "policy reload")
    ignored = [
        await invoke(fake, reload_spec, bot, scene) for bot in (other_bot, world.bot_user)
    ]
    await fake.events.message_create(scene.circle, other_bot, "a post nobody agreed to")
    await fake.events.message_create(scene.circle, world.bot_user, "the bot's own post")
    await fake.events.message_create(world.open_dm(other_bot), other_bot, "/agree")

    # a member's command afterwards is answered, so everything before it was handled
    agree = next(s for s in build_registry() if s.name == "agree")
    assert (await answer_to(fake, await invoke(fake, agree, scene.alice, scene))).startswith(
        "Thank you"
    )
    await asyncio.sleep(0.1)
    for interaction in ignored:  # not even a refusal went back
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        assert fake.calls("POST", route) == []
    bots = {str(other_bot.id), str(world.bot_user.id)}
    assert [e for e in rig.of_type(CommandInvoked) if e.invoker.id in bots] == []
    assert [e for e in rig.of_type(PrivateReply) if e.member.id in bots] == []
    posted = [e for e in rig.of_type(MessagePosted) if e.author.id in bots]
    assert [(e.author.id, e.author.is_bot) for e in posted] == [(str(other_bot.id), True)]
    assert fake.calls("DELETE", "/channels/{c}/messages/{m}", since=mark) == []
    assert fake.calls("POST", f"/channels/{world.open_dm(other_bot).id}/messages") == []
    # (alice's agreement let her post: the bot's own audited action, about her alone)
    for _ in range(300):  # written once discord.py returns the overwrite (bounded: 3 s)
        if acted := await rig.app.store.audit_entries(100):
            break
        await asyncio.sleep(0.01)
    assert [e.action for e in acted] == ["bot posting allowed"]
    assert str(scene.alice.id) in acted[0].detail
    assert not await rig.app.store.has_agreed("discord", str(other_bot.id), "circle", None)
