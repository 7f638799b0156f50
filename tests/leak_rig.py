"""Shared pieces of the leak-flagging tests: a policy with two confidential rooms, quotes."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.clock import FakeClock
from tests.conftest import ConsoleRig, policy_rig

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


def leak_rig(
    tmp: Path, policy: str = LEAK_POLICY, clock: FakeClock | None = None
) -> AbstractAsyncContextManager[ConsoleRig]:
    return policy_rig(tmp, policy, clock)


def alerts(output: str) -> list[str]:
    """Each moderator alert printed, with its continuation lines."""
    found: list[str] = []
    for line in output.splitlines():
        if line.startswith("[alert → "):
            found.append(line)
        elif line.startswith("    ") and found:
            found[-1] += "\n" + line
    return found
