"""Policies that name rooms on a platform the bot does not run.

A policy for Discord rooms loaded by a bot that only runs Matrix is valid YAML and passes
every check, yet protects nobody: the rooms never get a reminder. That is worth a warning
(not an error: an admin may be moving platforms, or share one policy folder between two
bots), from ``confidant check`` and once at start.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.config import Config
from bot.policy import PolicySet

_SHOWN = {"console": "console", "matrix": "Matrix", "discord": "Discord"}


def platforms_run(config: Config) -> set[str]:
    """The platforms a config starts an adapter for."""
    adapters = config.adapters
    run = set()
    if adapters.console is not None and adapters.console.enabled:
        run.add("console")
    if adapters.matrix is not None:
        run.add("matrix")
    if adapters.discord is not None:
        run.add("discord")
    return run


def unrun_platform_warnings(policies: PolicySet, running: Collection[str]) -> list[str]:
    """One line per policy and platform it names rooms on that is not in ``running``."""
    warnings = []
    for policy in policies.policies:
        for platform in sorted({room.platform for room in policy.rooms} - set(running)):
            rooms = [room for room in policy.rooms if room.platform == platform]
            shown = _SHOWN.get(platform, platform)
            listed = ", ".join(f"{kind} '{value}'" for kind, value in (r.selector for r in rooms))
            warnings.append(
                f"{policy.source}: the policy '{policy.name}' covers {shown} rooms ({listed}), "
                f"but no {shown} adapter runs, so nobody there gets its reminder; add "
                f"'{platform}:' under 'adapters:' in the config, or remove those rooms"
            )
    return warnings
