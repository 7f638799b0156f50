"""``confidant doctor`` against the fake Discord: what it reports per room, with fixes, and
that it changes nothing on the server."""

from __future__ import annotations

import copy
import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.doctor import inspect
from bot.config import load_config
from bot.doctor import run_doctor
from bot.policy import load_policy_dir
from tests.discord_fake import FakeDiscord
from tests.discord_fake.permissions import MANAGE_MESSAGES, VIEW_CHANNEL
from tests.discord_fake.state import INTENT_MESSAGE_CONTENT, FakeOverwrite

from .conftest import ADAPTER_POLICY, AdapterScene

Doctor = Callable[..., Any]


@pytest.fixture
def doctor(fake: FakeDiscord, adapter_scene: AdapterScene, tmp_path: Path) -> Doctor:
    """Run doctor on the scene with a policy template; returns (exit code, printed report)."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "config.yaml").write_text(
        "policy_dir: policies\nadapters:\n  discord:\n    token: ${DISCORD_TOKEN}\n"
        f'    guild_ids: ["{adapter_scene.guild.id}"]\n',
        encoding="utf-8",
    )

    async def run(policy: str = ADAPTER_POLICY, token: str | None = None) -> tuple[int, str]:
        (tmp_path / "policies" / "circle.yaml").write_text(
            policy.format(inner_id=adapter_scene.inner.id, mod_id=adapter_scene.mod.id),
            encoding="utf-8",
        )
        config = load_config(tmp_path / "config.yaml", env={"DISCORD_TOKEN": token or fake.token})
        policies = load_policy_dir(config.policy_dir)
        look = functools.partial(
            inspect, connector=fake.connector(), guild_ready_timeout=0.05, ready_timeout=5.0
        )
        out = io.StringIO()
        code = await run_doctor(config, policies, out, {"discord": look})
        return code, out.getvalue()

    return run


async def test_a_healthy_server_passes(doctor: Doctor) -> None:
    code, report = await doctor()
    assert code == 0, report
    assert "discord #circle (covered, policy circle)" in report
    assert "discord #mods (alert room, policy circle)" in report
    assert "the Server Members and Message Content intents are granted" in report
    assert "  problem " not in report
    assert report.rstrip().endswith("No problems found.")


async def test_a_channel_without_manage_messages_is_named_with_its_fix(
    doctor: Doctor, adapter_scene: AdapterScene
) -> None:
    bot_role = adapter_scene.bot_role
    adapter_scene.circle.overwrites[bot_role.id] = FakeOverwrite(
        bot_role.id, 0, deny=MANAGE_MESSAGES
    )
    code, report = await doctor()
    assert code == 1
    assert (
        "problem  the bot lacks Manage Messages in #circle (to remove posts from members who "
        "have not agreed yet)" in report
    )
    assert (
        "fix: in #circle's settings (Edit Channel > Permissions) allow the bot's role Manage "
        "Messages" in report
    )
    inner = report.split("discord #circle", 1)[0]  # #inner, by id, keeps what it needs
    assert "Manage Messages" not in inner
    assert "1 problem(s); nothing was changed." in report


async def test_a_channel_the_bot_cannot_see_is_named_once_with_its_fix(
    doctor: Doctor, adapter_scene: AdapterScene
) -> None:
    bot_role = adapter_scene.bot_role
    adapter_scene.circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, deny=VIEW_CHANNEL)
    code, report = await doctor()
    assert code == 1
    assert "in #circle the bot lacks View Channel in #circle, needed to see the room" in report
    assert "I can neither stop members who have not agreed from posting" in report
    assert report.count("lacks View Channel in #circle") == 1
    assert "fix: grant the bot View Channel in #circle" in report


async def test_a_missing_channel_is_reported(doctor: Doctor) -> None:
    policy = ADAPTER_POLICY.replace("    name: circle\n", "    name: circle-renamed\n")
    code, report = await doctor(policy)
    assert code == 1
    assert "discord #circle-renamed (covered, policy circle)" in report
    assert "problem  no room #circle-renamed was found" in report
    assert "fix: check the channel's name or id in the policy" in report


async def test_a_refused_members_intent_is_reported(fake: FakeDiscord, doctor: Doctor) -> None:
    # the portal's Server Members Intent switched off: the gateway closes with 4014
    fake.world.enabled_privileged_intents = INTENT_MESSAGE_CONTENT
    code, report = await doctor()
    assert code == 1
    assert "problem  Discord refused the 'Server Members Intent' the bot needs" in report
    assert "Privileged Gateway Intents, switch on 'Server Members Intent'" in report
    assert "#circle" not in report  # nothing is said about rooms it could not look at


async def test_an_alert_channel_everyone_can_see_is_a_problem(
    doctor: Doctor, adapter_scene: AdapterScene
) -> None:
    del adapter_scene.mods.overwrites[adapter_scene.guild.id]  # @everyone may view #mods
    code, report = await doctor()
    assert code == 1
    assert "everyone in Recovery Circle can see #mods, so members would read the alerts" in report
    assert "deny View Channel to @everyone" in report
    assert report.count("everyone in Recovery Circle can see") == 1  # #circle is open: fine


async def test_an_agreed_role_above_the_bot_is_reported(
    fake: FakeDiscord, doctor: Doctor, adapter_scene: AdapterScene
) -> None:
    guild = adapter_scene.guild
    top = fake.world.add_role(guild, "agreed")
    top.position = adapter_scene.bot_role.position + 1
    policy = ADAPTER_POLICY.replace(
        "    name: circle\n", f'    name: circle\n    agreed_role: "{top.id}"\n'
    )
    code, report = await doctor(policy)
    assert code == 1
    assert "the bot's highest role 'Confidant' must be above the role 'agreed'" in report


SUPPORTED_POLICY = """\
name: circle
rooms:
  - platform: discord
    name: circle
alerts:
  - platform: discord
    name: mods
watch:
  - platform: discord
    name: general
reminder:
  text: What is shared here stays here.
checkins:
  intro: Check-ins are private; only you can read your answers.
  questions:
    - id: mood
      prompt: How is your mood today?
      kind: scale
      min: 1
      max: 5
  supporters:
    - platform: discord
      user: "{mod_id}"
  supporters_room:
    platform: discord
    name: lobby
"""


async def test_a_supporters_room_everyone_can_see_and_a_watched_room(
    fake: FakeDiscord, doctor: Doctor, adapter_scene: AdapterScene
) -> None:
    general = fake.world.add_text_channel(adapter_scene.guild, "general")
    bot_role = adapter_scene.bot_role
    general.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, deny=VIEW_CHANNEL)
    code, report = await doctor(SUPPORTED_POLICY)
    assert code == 1
    assert "discord #lobby (supporters' room, policy circle)" in report
    assert "everyone in Recovery Circle can see #lobby" in report
    assert "discord #general (watched, policy circle)" in report
    assert (
        "in #general the bot lacks View Channel in #general, needed to read posts there and "
        "spot copies of confidential ones" in report
    )
    assert "2 problem(s)" in report


async def test_a_rejected_token_is_reported(doctor: Doctor) -> None:
    code, report = await doctor(token="not-the-bot-token")
    assert code == 1
    assert "problem  Discord rejected the bot token" in report
    assert "Reset Token" in report


async def test_a_server_the_bot_is_not_in_is_reported(
    fake: FakeDiscord, doctor: Doctor, tmp_path: Path
) -> None:
    other = fake.world.snowflakes.next()  # a server the bot was never invited to
    config = tmp_path / "config.yaml"
    text = config.read_text(encoding="utf-8").replace("guild_ids: [", f'guild_ids: ["{other}", ')
    config.write_text(text, encoding="utf-8")
    code, report = await doctor()
    assert code == 1
    assert f"problem  the bot is not in the Discord server {other}" in report
    assert "1 problem(s)" in report  # the server it is in is still checked, and fine


async def test_rooms_on_a_platform_the_config_does_not_run_are_a_problem(doctor: Doctor) -> None:
    policy = ADAPTER_POLICY.replace(
        "rooms:\n", 'rooms:\n  - platform: matrix\n    alias: "#circle:example.org"\n', 1
    )
    code, report = await doctor(policy)
    assert code == 1
    assert (
        "problem  the policy 'circle' names Matrix rooms (under rooms), but no Matrix adapter "
        "runs" in report
    )
    assert "1 problem(s)" in report


async def test_doctor_changes_nothing(
    fake: FakeDiscord, doctor: Doctor, adapter_scene: AdapterScene
) -> None:
    del adapter_scene.mods.overwrites[adapter_scene.guild.id]  # problems too: still read-only
    world = fake.world
    overwrites = {cid: copy.deepcopy(c.overwrites) for cid, c in world.channels.items()}
    roles = {r.id: (r.position, r.permissions) for r in adapter_scene.guild.roles.values()}
    await doctor()
    writes = fake.requests.find(lambda r: r.method != "GET")
    assert writes == []
    assert fake.unexpected_calls() == []
    assert world.commands == {}
    assert world.messages == {}
    assert {cid: c.overwrites for cid, c in world.channels.items()} == overwrites
    assert {r.id: (r.position, r.permissions) for r in adapter_scene.guild.roles.values()} == roles
    # on the gateway: IDENTIFY and heartbeats only, no member list asked for (op 8)
    assert {f.op for f in fake.frames.find(lambda f: True)} <= {1, 2}


CONSOLE_POLICY = """\
name: circle
rooms:
  - platform: console
    name: recovery
reminder:
  text: What is shared here stays here.
"""


def test_the_command_line_has_doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`confidant doctor --config` is wired: with no platform to reach it says so, exit 0."""
    from bot.cli import main

    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "circle.yaml").write_text(CONSOLE_POLICY, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        "policy_dir: policies\nadapters:\n  console: {}\n", encoding="utf-8"
    )
    assert main(["doctor", "--config", str(tmp_path / "config.yaml")]) == 0
    printed = capsys.readouterr().out
    assert "nothing to connect to" in printed
    assert "No problems found." in printed


async def test_a_read_gated_channel_everyone_can_view_is_named_with_its_fix(
    doctor: Doctor, adapter_scene: AdapterScene
) -> None:
    """``gate: read``: doctor checks the channel as the start does (@everyone must not view it)."""
    gated = ADAPTER_POLICY.replace("  require_agreement: true\n", "  gate: read\n")
    code, report = await doctor(gated)
    assert code == 1
    assert "@everyone can view #circle, so newcomers read it before agreeing" in report
    assert "deny View Channel to @everyone" in report
    guild, circle, bot_role = adapter_scene.guild, adapter_scene.circle, adapter_scene.bot_role
    circle.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=VIEW_CHANNEL)
    circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, allow=VIEW_CHANNEL)
    _, fixed = await doctor(gated)
    assert "@everyone can view #circle" not in fixed
