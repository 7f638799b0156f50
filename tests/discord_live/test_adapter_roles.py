"""A policy's ``agreed_role``, end to end against the fake: the role is given on /agree and
taken on a re-ask instead of per-member channel overwrites, and at start the bot says what
stops it from giving that role (Manage Roles, role order, a channel that lets everyone post)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from adapters.discord.outbound import ROLE_REASON
from bot.events import AdapterStatus
from tests.discord_fake import FakeDiscord
from tests.discord_fake.events import MemberCannot
from tests.discord_fake.state import FakeOverwrite, FakeRole, FakeUser

from .conftest import ADAPTER_POLICY, AdapterScene

EPHEMERAL = 64
SEND_MESSAGES = 1 << 11
MANAGE_ROLES = 1 << 28
VIEW_CHANNEL = 1 << 10
MANAGE_MESSAGES = 1 << 13
OVERWRITE = "/channels/{channel_id}/permissions/{target_id}"
ROLE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
MESSAGES = "/channels/{channel_id}/messages"


def role_policy(role: FakeRole) -> str:
    """The adapter tests' policy, with #circle gated by ``role``."""
    room = "  - platform: discord\n    name: circle\n"
    assert room in ADAPTER_POLICY
    return ADAPTER_POLICY.replace(room, room + f'    agreed_role: "{role.id}"\n')


@pytest.fixture
def agreed(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeRole:
    """An 'agreed' role set up as the README says: #circle denies Send Messages to @everyone
    and allows it to the role and to the bot's own role (the @everyone deny would otherwise
    silence the bot there too), and the role sits below the bot's; Discord's rules apply."""
    world, guild = fake.world, adapter_scene.guild
    role = world.add_role(guild, "agreed")
    world.move_role(guild, adapter_scene.bot_role, len(guild.roles))  # the bot's role on top
    circle, bot_role = adapter_scene.circle, adapter_scene.bot_role
    circle.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=SEND_MESSAGES)
    circle.overwrites[role.id] = FakeOverwrite(role.id, 0, allow=SEND_MESSAGES)
    circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, allow=SEND_MESSAGES)
    return role


async def join(fake: FakeDiscord, scene: AdapterScene, name: str) -> FakeUser:
    """A member joins; returns once the reminder DM went out."""
    user = fake.world.add_user(name)
    mark = fake.requests.mark()
    await fake.events.member_add(scene.guild, user)
    dm = fake.world.open_dm(user)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    return user


async def agree(fake: FakeDiscord, scene: AdapterScene, user: FakeUser) -> dict[str, Any]:
    """Run /agree in #lobby (without the role there is no chat bar in #circle); returns the
    interaction callback's body."""
    interaction = await fake.events.slash_command("agree", user=user, channel=scene.lobby)
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    body: dict[str, Any] = callback.json
    return body


def mods_alerts(fake: FakeDiscord, scene: AdapterScene) -> list[str]:
    return [c.json["content"] for c in fake.calls("POST", f"/channels/{scene.mods.id}/messages")]


async def test_agree_gives_the_role_and_answers_ephemerally(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    rig = await start_app(policy=role_policy(agreed))
    carol = await join(fake, adapter_scene, "carol")
    mark = fake.requests.mark()
    callback = await agree(fake, adapter_scene, carol)
    assert callback["type"] == 4
    assert callback["data"]["flags"] == EPHEMERAL
    assert callback["data"]["content"] == "Thank you. Your agreement is recorded for circle."
    [put] = fake.calls("PUT", ROLE, since=mark)
    assert put.path == f"/guilds/{adapter_scene.guild.id}/members/{carol.id}/roles/{agreed.id}"
    assert put.status == 204
    assert unquote(put.headers["X-Audit-Log-Reason"]) == ROLE_REASON  # no member content
    assert agreed.id in adapter_scene.guild.members[carol.id].role_ids
    # the role does the work: no channel overwrite for carol, ever
    assert fake.calls("PUT", OVERWRITE) == [] and fake.calls("DELETE", OVERWRITE) == []
    assert carol.id not in adapter_scene.circle.overwrites
    assert await rig.app.store.has_agreed("discord", str(carol.id), "circle", None)
    # a correct setup raises no alert at start or afterwards
    assert mods_alerts(fake, adapter_scene) == []
    assert rig.of_type(AdapterStatus) == []
    assert fake.unexpected_calls() == []


async def test_a_joining_member_is_held_by_the_missing_role_not_an_overwrite(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    await start_app(policy=role_policy(agreed))
    mark = fake.requests.mark()
    await join(fake, adapter_scene, "carol")
    await asyncio.sleep(0.1)  # room for a hold, were one sent
    assert fake.calls("PUT", OVERWRITE, since=mark) == []
    assert fake.calls("PUT", ROLE, since=mark) == []
    assert fake.calls("DELETE", ROLE, since=mark) == []  # she never had the role


async def test_a_joining_member_who_holds_the_role_without_agreeing_loses_it(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    await start_app(policy=role_policy(agreed))
    dave = fake.world.add_user("dave")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, dave, roles=[agreed])
    [taken] = await fake.wait_for_call("DELETE", ROLE, since=mark)
    assert taken.path == f"/guilds/{adapter_scene.guild.id}/members/{dave.id}/roles/{agreed.id}"
    assert taken.status == 204
    assert agreed.id not in adapter_scene.guild.members[dave.id].role_ids
    assert fake.calls("PUT", OVERWRITE, since=mark) == []


async def test_a_changed_reminder_takes_the_role_until_members_agree_again(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
    tmp_path: Path,
) -> None:
    rig = await start_app(policy=role_policy(agreed))
    carol = await join(fake, adapter_scene, "carol")
    await agree(fake, adapter_scene, carol)
    await fake.wait_for_call("PUT", ROLE)
    for _ in range(100):  # the member update that shows the role reaches the bot's cache
        member = rig.adapter.client.get_guild(adapter_scene.guild.id).get_member(carol.id)
        if any(r.id == agreed.id for r in member.roles):
            break
        await asyncio.sleep(0.01)
    policy_file = tmp_path / "policies" / "circle.yaml"
    text = policy_file.read_text(encoding="utf-8")
    policy_file.write_text(text.replace("stays here.", "stays here, always."), encoding="utf-8")
    mark = fake.requests.mark()
    await rig.app.runtime.poll_policies()
    [taken] = await fake.wait_for_call("DELETE", ROLE, since=mark)
    assert taken.path == f"/guilds/{adapter_scene.guild.id}/members/{carol.id}/roles/{agreed.id}"
    assert agreed.id not in adapter_scene.guild.members[carol.id].role_ids
    assert fake.calls("PUT", OVERWRITE, since=mark) == []
    # agreeing to the new text gives it back
    mark = fake.requests.mark()
    callback = await agree(fake, adapter_scene, carol)
    assert callback["data"]["flags"] == EPHEMERAL
    await fake.wait_for_call("PUT", ROLE, since=mark)
    assert agreed.id in adapter_scene.guild.members[carol.id].role_ids


async def test_a_role_above_the_bot_is_alerted_at_start_and_unagreed_posts_are_removed(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    guild = adapter_scene.guild
    fake.world.move_role(guild, agreed, len(guild.roles))  # dragged above the bot's role
    rig = await start_app(policy=role_policy(agreed))
    [alert] = await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    content = alert.json["content"]
    assert content.startswith("Confidant on discord cannot do everything")
    assert "highest role 'Confidant' must be above the role 'agreed'" in content
    assert "#circle" in content
    assert alert.json["allowed_mentions"]["parse"] == []
    # without the role nobody new can post in #circle (the channel denies it to @everyone)
    carol = await join(fake, adapter_scene, "carol")
    with pytest.raises(MemberCannot):
        await fake.events.message_create(adapter_scene.circle, carol, content="my story")
    # /agree still answers; Discord refuses the role and the refusal is not alerted twice
    mark = fake.requests.mark()
    callback = await agree(fake, adapter_scene, carol)
    assert callback["data"]["flags"] == EPHEMERAL
    assert callback["data"]["content"] == "Thank you. Your agreement is recorded for circle."
    [refused] = fake.calls("PUT", ROLE, since=mark)
    assert refused.status == 403
    await asyncio.sleep(0.05)
    assert len(mods_alerts(fake, adapter_scene)) == 1
    assert len(rig.of_type(AdapterStatus)) == 1


async def test_a_refused_role_is_alerted_once_when_the_start_check_saw_nothing(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    rig = await start_app(policy=role_policy(agreed))
    assert rig.of_type(AdapterStatus) == []
    # the role is moved above the bot's while the bot runs, without a gateway update
    fake.world.move_role(adapter_scene.guild, agreed, len(adapter_scene.guild.roles))
    carol = await join(fake, adapter_scene, "carol")
    dave = await join(fake, adapter_scene, "dave")
    for member in (carol, dave):
        mark = fake.requests.mark()
        callback = await agree(fake, adapter_scene, member)
        assert callback["data"]["flags"] == EPHEMERAL
        [refused] = await fake.wait_for_call("PUT", ROLE, since=mark)
        assert refused.status == 403
    [alert] = await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    assert "Discord refused to give or take the role" in alert.json["content"]
    await asyncio.sleep(0.05)
    assert len(mods_alerts(fake, adapter_scene)) == 1


async def test_missing_manage_roles_is_alerted_at_start(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    adapter_scene.bot_role.permissions = VIEW_CHANNEL | SEND_MESSAGES | MANAGE_MESSAGES
    await start_app(policy=role_policy(agreed))
    alerts = await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    content = alerts[0].json["content"]
    assert "the bot needs the Manage Roles permission" in content
    assert "role 'agreed' that lets them post in #circle" in content


async def test_a_channel_that_lets_everyone_post_is_alerted_at_start(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    del adapter_scene.circle.overwrites[adapter_scene.guild.id]
    await start_app(policy=role_policy(agreed))
    [alert] = await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    content = alert.json["content"]
    assert "#circle still lets everyone post" in content
    assert "deny Send Messages to @everyone" in content


async def test_a_role_missing_from_the_server_is_alerted_at_start(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    agreed: FakeRole,
    start_app: Callable[..., Any],
) -> None:
    ghost = FakeRole(id=fake.world.snowflakes.next(), name="ghost")
    await start_app(policy=role_policy(ghost))
    [alert] = await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    assert f"the role {ghost.id} that lets members post in #circle does not exist" in (
        alert.json["content"]
    )
