"""``confidant doctor``: what the bot can and cannot do in each room its policies name.

``confidant check`` reads files; it cannot know that a channel was renamed, that the bot's
role lacks Manage Messages there, or that an alert room is open to every member. Doctor asks
each configured platform, read-only (an inspector per platform, in the adapters), and holds
what it found against what each policy needs of each room, in the same words the start-up
alerts use (``bot.abilities`` and ``bot.texts``), so an admin can fix a server before the
bot runs there. Room names, ids and permission names only: never anything a member wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from bot import abilities, texts
from bot.events import PRIVATE_THREADS, READ_HISTORY, SEND, VIEW, Lack, Room
from bot.unrun_platforms import platforms_run, unrun_platforms

if TYPE_CHECKING:
    from bot.config import Config
    from bot.policy import Policy, PolicySet, RoomRef

OK, PROBLEM = "ok", "problem"

# What an ability lets the bot do, for the lines that say it is there.
_CAN = {
    VIEW: "the bot sees the room",
    SEND: "the bot may post there",
    READ_HISTORY: "the bot may read the room's history",
    PRIVATE_THREADS: "the bot may open private threads there",
}
SUPPORTERS = "to post members' contact requests there"
WATCHED = "to read posts there and spot copies of confidential ones"


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report: something fine, or a problem and how to fix it."""

    ok: bool
    text: str
    fix: str = ""

    @classmethod
    def problem(cls, text: str, fix: str) -> Finding:
        return cls(False, text, fix)

    @classmethod
    def fine(cls, text: str) -> Finding:
        return cls(True, text)


@dataclass(frozen=True)
class RoomFacts:
    """What a platform inspector found about one room the bot can look at.

    ``gate`` words each missing part of the agreement gate (removing posts, holding back
    posting) with its fix; ``covered_notes`` matter where a policy covers the room (a role
    set up wrongly, a voice channel's Connect); ``open_to_members`` says why members could
    read the room, which only an alert or supporters' room must never be."""

    room: Room
    label: str
    lacking: tuple[Lack, ...] = ()
    can_delete: bool = False
    can_restrict_posting: bool = False
    gate: tuple[Finding, ...] = ()
    notes: tuple[Finding, ...] = ()
    covered_notes: tuple[Finding, ...] = ()
    roles: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)
    open_to_members: Finding | None = None
    # A read gate's room settings, against the policy's ``history`` and ``reask`` (the
    # inspector cannot know the policy); None where the platform has no such check.
    read_gate: Callable[[str, str], tuple[Finding, ...]] | None = None

    def matches(self, ref: RoomRef) -> bool:
        room = self.room
        return ref.matches(room.platform, room.id, room.name, room.aliases)


@dataclass
class PlatformFacts:
    """One platform's answer: the connection's findings, then each room it could look at.

    ``absent`` holds, by a ref's selector, why a room a policy names was not found there,
    with the fix; a ref that matches no room and has no entry gets ``missing_fix``."""

    platform: str
    connection: list[Finding]
    rooms: list[RoomFacts] = field(default_factory=list)
    absent: dict[tuple[str, str], Finding] = field(default_factory=dict)
    missing_fix: str = "correct the room in the policy, or create it"
    reached: bool = True


@dataclass
class Section:
    heading: str
    findings: list[Finding]


Inspector = Callable[["Config", "PolicySet"], Awaitable[PlatformFacts]]


# -- what each policy needs of each room ------------------------------------------------------


def _uses(policy: Policy) -> list[tuple[RoomRef, str, dict[str, str]]]:
    """(room, its part in the policy, ability -> what for) for every room the policy names."""
    uses: list[tuple[RoomRef, str, dict[str, str]]] = []
    uses += [(ref, "covered", abilities.needed_in_covered_room(policy)) for ref in policy.rooms]
    uses += [(ref, "alert room", abilities.needed_in_alert_room()) for ref in policy.alerts]
    room = policy.checkins.supporters_room if policy.checkins else None
    if room is not None:
        uses.append((room, "supporters' room", {VIEW: SUPPORTERS, SEND: SUPPORTERS}))
    uses += [(ref, "watched", {VIEW: WATCHED}) for ref in policy.watch]
    return uses


def _room_findings(
    policy: Policy, ref: RoomRef, part: str, needs: dict[str, str], facts: RoomFacts
) -> list[Finding]:
    found: list[Finding] = []
    lacking = {lack.ability: lack for lack in facts.lacking}
    for ability, needed_for in needs.items():
        lack = lacking.get(ability)
        if lack is None:
            found.append(Finding.fine(f"{_CAN[ability]} (needed {needed_for})"))
        else:
            found.append(
                Finding.problem(
                    texts.lacking_in_room(facts.label, lack.fix, needed_for),
                    f"grant the bot {lack.fix}",
                )
            )
    found += facts.notes
    if part == "covered":
        found += _gate(policy, ref, facts)
        found += facts.covered_notes
        reminder = policy.reminder
        if reminder.gate_mode == "read" and facts.read_gate is not None:
            found += facts.read_gate(reminder.history, reminder.reask)
    if part in ("alert room", "supporters' room") and facts.open_to_members is not None:
        found.append(facts.open_to_members)
    return found


def _gate(policy: Policy, ref: RoomRef, facts: RoomFacts) -> list[Finding]:
    """The agreement gate: removing posts and holding back posting, and the posting role."""
    if not policy.reminder.require_agreement:
        return []
    found: list[Finding] = []
    if not (facts.can_delete or facts.can_restrict_posting):
        found.append(
            Finding.problem(
                f"in {facts.label} I can neither stop members who have not agreed from "
                "posting nor remove their posts, so the agreement rule is not enforced there",
                "grant the bot the permissions named below in this room",
            )
        )
    elif not facts.gate:
        found.append(
            Finding.fine(
                "the bot can hold back posting and remove posts of members who have not agreed"
            )
        )
    found += facts.gate
    if ref.agreed_role is not None:
        role = facts.roles.get(ref.agreed_role, ())
        found += role or (Finding.fine(f"the bot can give the posting role {ref.agreed_role}"),)
    return found


def assess(policies: PolicySet, facts: Iterable[PlatformFacts]) -> list[Section]:
    """The report: each platform's connection, then every room each policy names on it."""
    sections: list[Section] = []
    for platform in facts:
        sections.append(Section(f"{platform.platform}: connection", list(platform.connection)))
        if not platform.reached:
            continue
        for policy in policies.policies:
            for ref, part, needs in _uses(policy):
                if ref.platform != platform.platform:
                    continue
                match = next((r for r in platform.rooms if r.matches(ref)), None)
                where = _describe(ref) if match is None else match.label
                heading = f"{platform.platform} {where} ({part}, policy {policy.name})"
                if match is None:
                    absent = platform.absent.get(ref.selector) or Finding.problem(
                        f"no room {_describe(ref)} was found", platform.missing_fix
                    )
                    sections.append(Section(heading, [absent]))
                    continue
                sections.append(Section(heading, _room_findings(policy, ref, part, needs, match)))
    return sections


def _describe(ref: RoomRef) -> str:
    kind, value = ref.selector
    if ref.platform == "discord" and kind == "name":
        return f"#{value}"
    return value if kind != "name" else f"'{value}'"


def problems(sections: Iterable[Section]) -> int:
    return sum(1 for s in sections for f in s.findings if not f.ok)


def render(sections: Iterable[Section], out: TextIO) -> None:
    for section in sections:
        print(section.heading, file=out)
        for finding in section.findings:
            print(f"  {OK if finding.ok else PROBLEM:<8} {finding.text}", file=out)
            if finding.fix:
                print(f"  {'':<8} fix: {finding.fix}", file=out)


def unserved(config: Config, policies: PolicySet) -> list[Section]:
    """Rooms on a platform the config does not run: nobody there is reminded or protected."""
    return [
        Section(
            f"{unrun.platform} (policy {unrun.policy})",
            [Finding.problem(unrun.problem, unrun.fix)],
        )
        for unrun in unrun_platforms(policies, platforms_run(config))
    ]


# -- running it ---------------------------------------------------------------------------------


def platforms_of(config: Config) -> dict[str, Inspector]:
    """The inspectors for the platforms the config runs; imported only when used."""
    inspectors: dict[str, Inspector] = {}
    if config.adapters.discord is not None:
        from adapters.discord.doctor import inspect as inspect_discord

        inspectors["discord"] = inspect_discord
    if config.adapters.matrix is not None:
        from adapters.matrix.doctor import inspect as inspect_matrix

        inspectors["matrix"] = inspect_matrix
    return inspectors


async def run_doctor(
    config: Config,
    policies: PolicySet,
    out: TextIO,
    inspectors: Mapping[str, Inspector] | None = None,
) -> int:
    """Inspect every configured platform and print the report; 0 when nothing is wrong."""
    chosen = platforms_of(config) if inspectors is None else inspectors
    facts = [await inspect(config, policies) for inspect in chosen.values()]
    sections = assess(policies, facts) + unserved(config, policies)
    if not chosen:
        sections.append(
            Section(
                "platforms",
                [Finding.fine("no Discord or Matrix in the config: nothing to connect to")],
            )
        )
    render(sections, out)
    count = problems(sections)
    print(
        f"{count} problem(s); nothing was changed." if count else "No problems found.",
        file=out,
    )
    return 1 if count else 0


def cmd_doctor(args: argparse.Namespace, load: Callable[[str | None], Config]) -> int:
    from bot import logs
    from bot.policy import load_policy_dir

    config = load(args.config)
    logs.configure("ERROR")  # the report is the output; library chatter would only hide it
    policies = load_policy_dir(config.policy_dir)
    return asyncio.run(run_doctor(config, policies, sys.stdout))


def add_command(sub: Any, load: Callable[[str | None], Config]) -> None:
    """Register ``confidant doctor`` on ``confidant``'s parser."""
    doctor = sub.add_parser(
        "doctor",
        help="connect read-only and report what the bot can and cannot do in each room",
    )
    doctor.add_argument("--config", help="path to config.yaml")
    doctor.set_defaults(func=lambda args: cmd_doctor(args, load))
