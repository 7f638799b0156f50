"""Shared pieces of the leak-flagging tests: a policy with two confidential rooms, quotes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.clock import FakeClock
from tests.conftest import ConsoleRig, make_config, start_rig, write_policy

LEAK_POLICY = """\
name: circle
rooms:
  - platform: console
    name: recovery
  - platform: console
    name: women
moderators:
  - platform: console
    user: mod
alerts:
  - platform: console
    name: mods
reminder:
  text: What is shared here stays here.
leaks:
  retention_days: 30
"""

SHARED = (
    "I relapsed last weekend after my sister told me she never wants to see me again "
    "and I have not slept since"
)
QUOTE = "did you hear? she relapsed last weekend after my sister told me she never wants to see me"
SHARED_WORDS = ("relapsed", "sister", "weekend", "slept")


def policy_with(extra_leaks: str = "", text: str = LEAK_POLICY) -> str:
    """The leak policy with more keys under ``leaks:`` (each line indented by two spaces)."""
    return text + "".join(f"  {line}\n" for line in extra_leaks.splitlines() if line)


@asynccontextmanager
async def leak_rig(
    tmp: Path, policy: str = LEAK_POLICY, clock: FakeClock | None = None
) -> AsyncIterator[ConsoleRig]:
    if not (tmp / "policies").exists():
        write_policy(tmp / "policies", policy)
    rig = await start_rig(make_config(tmp), clock)
    try:
        yield rig
    finally:
        await rig.app.close()


def alerts(output: str) -> list[str]:
    """Each moderator alert printed, with its continuation lines."""
    found: list[str] = []
    for line in output.splitlines():
        if line.startswith("[alert → "):
            found.append(line)
        elif line.startswith("    ") and found:
            found[-1] += "\n" + line
    return found
