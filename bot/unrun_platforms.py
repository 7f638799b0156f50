"""Policies that name rooms on a platform the bot does not run.

A policy for Discord rooms loaded by a bot that only runs Matrix is valid YAML and passes
every check, yet protects nobody: the rooms never get a reminder and alerts meant for them
go nowhere. That is worth a warning (not an error: an admin may be moving platforms, or
share one policy folder between two bots), in the same words from ``confidant check``,
``confidant doctor`` and the log at start (or when a reload brings such a policy in).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Config
    from bot.policy import Policy, PolicySet

_SHOWN = {"console": "console", "matrix": "Matrix", "discord": "Discord"}


@dataclass(frozen=True, slots=True)
class Unrun:
    """One policy's rooms on one platform that no adapter serves."""

    policy: str
    platform: str
    source: str  # the policy's file
    problem: str
    fix: str

    @property
    def message(self) -> str:
        return f"{self.source}: {self.problem}; {self.fix}"


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


def rooms_by_platform(policy: Policy) -> dict[str, list[str]]:
    """The platforms a policy names rooms on, each with what those rooms are for."""
    named: dict[str, list[str]] = {}
    roles = [("rooms", policy.rooms), ("watch", policy.watch), ("alerts", policy.alerts)]
    if policy.checkins is not None and policy.checkins.supporters_room is not None:
        roles.append(("supporters_room", (policy.checkins.supporters_room,)))
    for role, refs in roles:
        for platform in sorted({ref.platform for ref in refs}):
            named.setdefault(platform, []).append(role)
    return named


def unrun_platforms(policies: PolicySet, running: Collection[str]) -> list[Unrun]:
    """One entry per policy and platform it names rooms on that is not in ``running``."""
    found = []
    for policy in policies.policies:
        for platform, roles in rooms_by_platform(policy).items():
            if platform in running:
                continue
            shown = _SHOWN.get(platform, platform)
            found.append(
                Unrun(
                    policy.name,
                    platform,
                    policy.source,
                    f"the policy '{policy.name}' names {shown} rooms (under "
                    f"{', '.join(roles)}), but no {shown} adapter runs, so nothing reaches them",
                    f"add '{platform}:' under 'adapters:' in the config, or remove those rooms",
                )
            )
    return found
