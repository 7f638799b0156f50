"""Read gate on Discord: server join → reminder, and Agree → access, against the Discord fake.

Why: under ``gate: read`` a newcomer sees nothing of the circle until they agreed, so both
waits are what they notice: how long after joining the server the reminder (with its Agree
button) is in front of them, and how long after pressing Agree they can view the channel.

Setup (all in this process, on 127.0.0.1): the protocol-level Discord fake
(tests/discord_fake) driven by the unmodified discord.py client, the whole ``App`` with the
Discord adapter and its SQLite store in a temporary directory, a server whose #circle is
closed to @everyone (the bot's role may view it), a policy with ``gate: read`` and no agreed
role (per-member overwrites). Each member's DM channel exists before they join: Discord
publishes no rate for opening new DM channels (the fake's guess is 20 a minute, see
tests/discord_fake/limits.py) and that pacing is not what this measures.

Definitions, both on the fake's clock (``time.monotonic()`` in this process):
  reminder    = the bot's DM arriving in the member's view (tests/discord_fake/member_view.py)
                − the moment just before GUILD_MEMBER_ADD is dispatched;
  agree→access = the fake answering the bot's PUT of the member's overwrite on #circle
                (from then on the fake's permission maths lets them view it)
                − the moment just before the Agree press (INTERACTION_CREATE) is dispatched.
Members join one at a time (each waits for its reminder, then presses Agree and waits for
access) after 3 unmeasured warm-up members. Every wait is bounded.

    python benchmarks/read_gate_discord.py               # 50 members
    python benchmarks/read_gate_discord.py --members 200

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

WARM_UP = 3
WAIT_S = 10.0
AGREE_ID = "confidant:agree:circle"
VIEW_CHANNEL, SEND_MESSAGES, READ_MESSAGE_HISTORY = 1 << 10, 1 << 11, 1 << 16
POLICY = """\
name: circle
rooms:
  - platform: discord
    name: circle
moderators:
  - platform: discord
    user: "{mod_id}"
alerts:
  - platform: discord
    name: mods
reminder:
  text: What is shared here stays here.
  delivery: private
  gate: read
"""


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


async def _bounded(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {WAIT_S:g} s")
        await asyncio.sleep(0.002)


async def _one_member(fake: Any, guild: Any, circle: Any, index: int) -> tuple[float, float]:
    """One newcomer: join, reminder, Agree, access; (reminder ms, agree→access ms)."""
    world, views = fake.world, fake.member_views
    user = world.add_user(f"member{index}")
    dm = world.open_dm(user)
    joined = time.monotonic()
    await fake.events.member_add(guild, user)
    await _bounded(lambda: views.arrivals(user, dm), "the reminder")
    reminder = views.arrivals(user, dm)[0]
    message = world.messages[reminder.message_id]
    mark = fake.requests.mark()
    pressed = time.monotonic()
    await fake.events.component_click(message, AGREE_ID, user=user)
    route = f"/channels/{circle.id}/permissions/{user.id}"
    [put] = await fake.wait_for_call("PUT", route, since=mark, timeout=WAIT_S)
    await _bounded(lambda: views.can_view(user, circle), "access")
    return (reminder.at - joined) * 1000, (put.at - pressed) * 1000


async def measure(members: int) -> dict[str, float]:
    """Latencies in milliseconds over ``members`` members (after a warm-up)."""
    from adapters.discord import make_discord_adapter
    from bot.app import App
    from bot.clock import SystemClock
    from bot.config import load_config
    from tests.discord_fake import FakeDiscord
    from tests.discord_fake.state import FakeOverwrite

    reminders: list[float] = []
    grants: list[float] = []
    with tempfile.TemporaryDirectory(prefix="confidant-bench-") as tmp:
        root = Path(tmp)
        async with FakeDiscord() as fake:
            world = fake.world
            guild = world.add_guild("Recovery Circle")
            bot_role = world.bot_role(guild)
            circle = world.add_text_channel(guild, "circle")
            world.add_text_channel(guild, "mods")
            circle.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=VIEW_CHANNEL)
            circle.overwrites[bot_role.id] = FakeOverwrite(
                bot_role.id, 0, allow=VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY
            )
            mod = world.add_user("mod")
            world.add_member(guild, mod)
            (root / "policies").mkdir()
            (root / "policies" / "circle.yaml").write_text(POLICY.format(mod_id=mod.id))
            (root / "config.yaml").write_text(
                "database: confidant.db\nkey_file: confidant.key\npolicy_dir: policies\n"
                "adapters:\n  discord:\n    token: ${DISCORD_TOKEN}\n"
                f'    guild_ids: ["{guild.id}"]\n'
            )
            config = load_config(root / "config.yaml", env={"DISCORD_TOKEN": fake.token})

            def make(registry: Any, clock: Any) -> list[Any]:
                assert config.adapters.discord is not None
                return [
                    make_discord_adapter(
                        config.adapters.discord, registry, clock, connector=fake.connector(),
                        guild_ready_timeout=0.05,
                    )
                ]

            app = await App.create(
                config, make, clock=SystemClock(), display_root=root,
                tick_seconds=10**9, policy_poll_seconds=10**9,
            )
            await app.start()
            try:
                for index in range(WARM_UP + members):
                    reminder_ms, access_ms = await _one_member(fake, guild, circle, index)
                    if index >= WARM_UP:
                        reminders.append(reminder_ms)
                        grants.append(access_ms)
            finally:
                await app.close()
    return {
        "read_gate_discord_members": float(members),
        "read_gate_discord_reminder_p50_ms": round(statistics.median(reminders), 2),
        "read_gate_discord_reminder_p99_ms": round(percentile(reminders, 99), 2),
        "read_gate_discord_agree_to_access_p50_ms": round(statistics.median(grants), 2),
        "read_gate_discord_agree_to_access_p99_ms": round(percentile(grants, 99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--members", type=int, default=50, help="measured members (>= 50)")
    args = parser.parse_args()
    result = asyncio.run(measure(max(args.members, 1)))
    print(f"{'Discord read gate, ms':<40}{'p50':>10}{'p99':>10}")
    for label, key in (("server join -> reminder DM", "reminder"),
                       ("Agree press -> can view #circle", "agree_to_access")):
        p50 = result[f"read_gate_discord_{key}_p50_ms"]
        p99 = result[f"read_gate_discord_{key}_p99_ms"]
        print(f"{label:<40}{p50:>10.2f}{p99:>10.2f}")
    print(f"members measured: {int(result['read_gate_discord_members'])}")
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
