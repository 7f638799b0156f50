"""Starting the Discord adapter: commands synced from the registry (only when changed), the
privileged intents explained when missing, and missing permissions reported to moderators."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from adapters.discord import DiscordStartError
from bot.events import AdapterStatus, BotPermissions
from tests.discord_fake import DEFAULT_TOKEN, INTENT_MESSAGE_CONTENT, FakeDiscord

from .conftest import VIEW_CHANNEL, AdapterScene

COMMANDS_GET = "/applications/{app}/guilds/{guild}/commands"
MESSAGES = "/channels/{channel_id}/messages"
MANAGE_MESSAGES = "8192"


def by_name(commands: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in commands}


async def test_start_syncs_the_registry_as_guild_commands(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app()
    [put] = fake.calls("PUT", COMMANDS_GET)
    app_id = fake.world.application.id
    assert put.path == f"/applications/{app_id}/guilds/{adapter_scene.guild.id}/commands"
    sent = by_name(put.json)
    assert sorted(sent) == [
        "agree",
        "agreements",
        "answer",
        "audit",
        "checkin",
        "claim",
        "flag",
        "flags",
        "forgetme",
        "help",
        "mydata",
        "policy",
        "report",
        "rules",
    ]
    assert all(c["type"] == 1 for c in sent.values())
    [which] = sent["agree"]["options"]  # in a private chat where several reminders wait
    assert (which["name"], which["type"], which["required"]) == ("policy", 3, False)
    assert sent["agree"]["description"] == "agree to keep this room's reminder"
    assert sent["rules"]["default_member_permissions"] is None
    # moderator commands are hidden from members by default (the core checks anyway)
    assert str(sent["agreements"]["default_member_permissions"]) == MANAGE_MESSAGES
    [policy_option] = sent["agreements"]["options"]
    assert (policy_option["name"], policy_option["type"], policy_option["required"]) == (
        "policy",
        3,
        False,
    )
    group = sent["policy"]
    assert str(group["default_member_permissions"]) == MANAGE_MESSAGES
    subcommands = by_name(group["options"])
    assert sorted(subcommands) == ["reload", "show"]
    assert all(s["type"] == 1 for s in subcommands.values())  # SUB_COMMAND
    assert subcommands["reload"]["options"] == []
    [name_option] = subcommands["show"]["options"]
    assert (name_option["name"], name_option["type"], name_option["required"]) == (
        "name",
        3,
        False,
    )
    assert sorted(c["name"] for c in fake.world.commands[adapter_scene.guild.id]) == sorted(sent)
    assert fake.unexpected_calls() == []


async def test_a_second_start_with_unchanged_commands_does_not_put_again(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    first = await start_app()
    await first.close()
    assert len(fake.calls("PUT", COMMANDS_GET)) == 1
    mark = fake.requests.mark()
    await start_app()
    assert len(fake.calls("GET", COMMANDS_GET, since=mark)) == 1  # it did compare
    assert fake.calls("PUT", COMMANDS_GET, since=mark) == []


async def test_commands_removed_on_discord_are_synced_again(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    first = await start_app()
    await first.close()
    stored = fake.world.commands[adapter_scene.guild.id]
    fake.world.commands[adapter_scene.guild.id] = [c for c in stored if c["name"] != "agree"]
    mark = fake.requests.mark()
    await start_app()
    [put] = fake.calls("PUT", COMMANDS_GET, since=mark)
    assert "agree" in {c["name"] for c in put.json}


async def test_missing_privileged_intents_fail_start_with_instructions(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    fake.world.enabled_privileged_intents = INTENT_MESSAGE_CONTENT  # Server Members is off
    with pytest.raises(DiscordStartError) as failed:
        await start_app()
    message = str(failed.value)
    assert "Privileged Gateway Intents" in message
    assert "Server Members Intent" in message and "Message Content Intent" in message
    assert "developer portal" in message
    assert fake.gateway.current is None


async def test_a_wrong_token_fails_start_with_instructions(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    fake.world.token = "a-different-token"  # the config still holds the old one
    with pytest.raises(DiscordStartError) as failed:
        await start_app()
    assert "rejected the bot token" in str(failed.value)
    assert DEFAULT_TOKEN not in str(failed.value)  # the secret itself is never shown
    [me] = fake.calls("GET", "/users/@me")
    assert me.status == 401


async def test_missing_permissions_are_reported_and_alerted_to_moderators(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    # The bot may read and post, but neither delete posts nor change channel permissions.
    adapter_scene.bot_role.permissions = VIEW_CHANNEL | (1 << 11) | (1 << 16)
    rig = await start_app()
    reports = {e.room.name: e for e in rig.of_type(BotPermissions)}
    assert set(reports) == {"circle", "inner", "lobby", "mods"}
    circle = reports["circle"]
    assert (circle.can_delete, circle.can_restrict_posting) == (False, False)
    assert any("Manage Messages in #circle" in m for m in circle.missing)
    assert any("Manage Roles" in m for m in circle.missing)
    alerts = await fake.wait_for_call(
        "POST", f"/channels/{adapter_scene.mods.id}/messages", count=2
    )
    circle_alert, inner_alert = sorted(a.json["content"] for a in alerts)
    assert circle_alert.startswith("Confidant on discord cannot do everything")
    assert "in circle I can neither stop members" in circle_alert
    assert "in inner I can neither stop members" in inner_alert
    assert all(a.json["allowed_mentions"]["parse"] == [] for a in alerts)
    await asyncio.sleep(0.05)  # room for an alert about the uncovered lobby, were one sent
    assert len(fake.calls("POST", MESSAGES)) == 2
    assert rig.of_type(AdapterStatus) == []  # commands synced fine, the server is present


async def test_full_permissions_raise_no_alert(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    reports = rig.of_type(BotPermissions)
    assert reports and all(r.can_delete and r.can_restrict_posting for r in reports)
    assert all(r.missing == () for r in reports)
    assert fake.calls("POST", MESSAGES) == []
