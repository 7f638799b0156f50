"""Who may use which command, for every command in the registry (so a new one is covered
the day it is registered): ordinary members never get moderator or supporter commands, a
moderator of one community gets nothing in another's room, and nothing a bot sends is acted
on. Two communities share the deployment: ``circle`` (#recovery, moderator mod, supporters
sam and sue) and ``grief`` (#grief, moderator gmod, supporters gsam and gsue)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.console import private_room, room_of
from bot import texts
from bot.app import build_registry
from bot.checkins import words
from bot.commands import CommandSpec, Permission
from bot.events import (
    ChoiceMade,
    CommandInvoked,
    Event,
    Member,
    MemberJoined,
    MessagePosted,
    PrivateReply,
)
from bot.identifiers import AGREE_CHOICE
from bot.store import open_store
from bot.store.sqlite import LeakFlag
from tests.checkin_rig import CHECKIN_POLICY, dm
from tests.conftest import ConsoleRig, make_config, start_rig, write_policy
from tests.leak_rig import QUOTE, SHARED
from tests.test_cli import confidant
from tests.test_migrations_upgrade import MIGRATIONS, build_at

GRIEF_POLICY = (
    CHECKIN_POLICY.replace("name: circle", "name: grief")
    .replace("name: recovery", "name: grief")
    .replace("user: mod", "user: gmod")
    .replace("name: mods", "name: gmods")
    .replace("user: sam", "user: gsam")
    .replace("user: sue", "user: gsue")
    .replace("name: supporters", "name: gsupporters")
)
CIRCLE_POLICY = CHECKIN_POLICY.replace("  text: What", "  require_agreement: true\n  text: What")

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REGISTRY = list(build_registry())
MODERATOR_COMMANDS = [s for s in REGISTRY if s.permission is Permission.MODERATOR]
# Commands for everyone whose handler further asks for a role the spec cannot express.
SUPPORTER_COMMANDS = {"claim"}
EVERYONE_COMMANDS = {
    "rules", "agree", "help", "mydata", "forgetme", "report", "checkin start", "checkin history",
    "checkin schedule", "checkin snooze", "checkin pause", "checkin resume", "checkin stop",
}


def sample_argv(spec: CommandSpec) -> tuple[str, ...]:
    """Arguments that fit the spec, so a refusal is never just a usage error."""
    return tuple(
        p.choices[0] if p.choices else "1" if p.kind is int else "circle" for p in spec.params
    )


def line(user: str, spec: CommandSpec) -> str:
    return " ".join([f"{user}: /{spec.name}", *sample_argv(spec)])


@asynccontextmanager
async def two_communities(tmp: Path) -> AsyncIterator[ConsoleRig]:
    write_policy(tmp / "policies", CIRCLE_POLICY, "circle.yaml")
    write_policy(tmp / "policies", GRIEF_POLICY, "grief.yaml")
    rig = await start_rig(make_config(tmp))
    try:
        yield rig
    finally:
        await rig.app.close()


def bot_lines(output: str) -> list[str]:
    """What the bot printed, one entry per message (continuation lines folded in); the
    console's own notes ("[console] now in #x") are not the bot's."""
    found: list[str] = []
    for text in output.splitlines():
        if text.startswith("[console]"):
            continue
        if text.startswith("["):
            found.append(text)
        elif found:
            found[-1] += "\n" + text
    return found


def test_every_registered_command_is_classified() -> None:
    """A new command must be placed in this matrix before it ships."""
    names = {s.name for s in REGISTRY}
    assert {s.name for s in MODERATOR_COMMANDS} | SUPPORTER_COMMANDS | EVERYONE_COMMANDS == names
    assert len(MODERATOR_COMMANDS) >= 7  # the iteration below really covers something


@pytest.mark.parametrize("where", ["recovery", "lobby", "private"])
async def test_members_are_refused_every_moderator_command(tmp_path: Path, where: str) -> None:
    async with two_communities(tmp_path) as rig:
        await rig.say(":room recovery", ":join alice", "alice: /agree")
        if where != "private":
            await rig.say(f":room {where}")
        for spec in MODERATOR_COMMANDS:
            said = line("alice", spec)
            command = said if where != "private" else f":dm alice {said.split(': ', 1)[1]}"
            [answer] = bot_lines(await rig.say(command))
            assert answer.startswith("[only alice sees, #"), answer
            assert answer.endswith(texts.refused(f"/{spec.name}")), answer
        assert await rig.app.store.audit_entries(100) == []  # nothing ran, nothing audited


async def test_moderators_are_not_refused_in_their_own_room(tmp_path: Path) -> None:
    """The control: the same lines from the room's moderator are answered, not refused;
    and what they did is audited under their community, so it is in its /audit."""
    async with two_communities(tmp_path) as rig:
        await rig.say(":room recovery")
        for spec in MODERATOR_COMMANDS:
            out = await rig.say(line("mod", spec))
            assert bot_lines(out), spec.name
            assert "Only moderators" not in out, spec.name
        entries = await rig.app.store.audit_entries(100)
        assert {e.action for e in entries} >= {"flags", "audit", "policy reload", "checkin stats"}
        assert {e.policy for e in entries} == {"circle"}


@pytest.mark.parametrize(
    ("moderator", "room"), [("mod", "grief"), ("gmod", "recovery")], ids=["a-in-b", "b-in-a"]
)
async def test_a_moderator_of_one_community_is_refused_in_the_others_room(
    tmp_path: Path, moderator: str, room: str
) -> None:
    async with two_communities(tmp_path) as rig:
        await rig.say(f":room {room}")
        for spec in MODERATOR_COMMANDS:
            [answer] = bot_lines(await rig.say(line(moderator, spec)))
            assert answer.endswith(texts.refused(f"/{spec.name}")), (spec.name, answer)
        assert await rig.app.store.audit_entries(100) == []


async def test_outside_any_room_a_moderator_sees_only_their_own_community(
    tmp_path: Path,
) -> None:
    """In a private chat no room names the policy: each command scopes what it shows."""
    async with two_communities(tmp_path) as rig:
        await rig.say(":room grief", ":join carol", f"carol: {SHARED}")
        out = await rig.say(":room lobby", f"bob: {QUOTE}")
        assert "[alert → #gmods]" in out  # a flag of grief's
        [flag] = await rig.app.store.open_flags(limit=10)
        assert flag.policy == "grief"
        await rig.say(":room grief", "dave: /checkin", *dm("dave", "agree", "4", "yes"))

        out = await rig.say(*dm("mod", "/flags", f"/flag resolve {flag.id}", "/checkin stats"))
        assert f"{flag.id}: from grief" not in out
        assert texts.leak_flag_missing(flag.id) in out
        assert "Check-ins (circle)" in out and "grief" not in out
        # another community's policy is answered as if it did not exist
        out = await rig.say(*dm("mod", "/agreements grief"))
        assert out == await rig.say(*dm("mod", "/agreements nosuch")) and "grief" not in out
        assert [f.id for f in await rig.app.store.open_flags(limit=10)] == [flag.id]

        out = await rig.say(*dm("gmod", "/flags", "/checkin stats"))  # the control
        assert f"{flag.id}: from grief" in out and "Check-ins (grief)" in out


async def grief_flag(rig: ConsoleRig) -> LeakFlag:
    """A quote of grief's room posted in the lobby: an open flag of grief's."""
    await rig.say(":room grief", ":join carol", f"carol: {SHARED}", ":room lobby", f"bob: {QUOTE}")
    [flag] = await rig.app.store.open_flags(limit=10)
    assert flag.policy == "grief"
    return flag


async def test_a_flag_of_a_removed_policy_is_shown_to_no_other_community(
    tmp_path: Path,
) -> None:
    """A flag whose policy is gone has no moderators: not "any moderator at all"."""
    async with two_communities(tmp_path) as rig:
        flag = await grief_flag(rig)
        (tmp_path / "policies" / "grief.yaml").unlink()
        assert "Policies reloaded" in await rig.say(*dm("mod", "/policy reload"))
        assert rig.app.core.policies.current.by_name("grief") is None
        out = await rig.say(*dm("mod", "/flags", f"/flag resolve {flag.id}"))
        assert "from grief" not in out and texts.leak_flag_missing(flag.id) in out
        assert (await rig.app.store.flag(flag.id)).status == "open"  # type: ignore[union-attr]


async def test_claim_is_for_the_requests_own_peer_supporters(tmp_path: Path) -> None:
    async with two_communities(tmp_path) as rig:
        crisis = ("agree", "1", "yes", "no")  # mood 1 -> contact? yes -> share answers? no
        await rig.say(":room recovery", ":join alice", "alice: /agree", "alice: /checkin")
        await rig.say(*dm("alice", *crisis))
        await rig.say(":room grief", "dave: /checkin", *dm("dave", *crisis))
        circle_request, grief_request = 1, 2
        assert (await rig.app.store.escalation(grief_request)).policy == "grief"  # type: ignore[union-attr]

        only_supporters = words.supporters_only("/")
        for who, place in [
            ("alice", "recovery"), ("alice", "supporters"), ("bob", "lobby"), ("mod", "recovery"),
            ("mod", "supporters"), ("gmod", "gsupporters"),
        ]:
            [answer] = bot_lines(await rig.say(f":room {place}", f"{who}: /claim {circle_request}"))
            assert answer.endswith(only_supporters), (who, place, answer)
        [answer] = bot_lines(await rig.say(*dm("alice", f"/claim {circle_request}")))
        assert answer.endswith(only_supporters)
        # a supporter of the other community: as if the request did not exist
        out = await rig.say(":room gsupporters", f"gsam: /claim {circle_request}")
        assert words.claim_missing(circle_request) in out
        out = await rig.say(":room supporters", f"sam: /claim {grief_request}")
        assert words.claim_missing(grief_request) in out
        for request in (circle_request, grief_request):
            assert (await rig.app.store.escalation(request)).claimed_by is None  # type: ignore[union-attr]

        out = await rig.say(f"sam: /claim {circle_request}")  # the control
        assert words.claim_won(circle_request, "console user alice") in out


def bot_events(spec: CommandSpec, bot: Member) -> list[Event]:
    """The command from a bot, in the covered room and in a private chat."""
    return [
        CommandInvoked(room, bot, spec.name, AT, argv=sample_argv(spec))
        for room in (room_of("recovery"), private_room(bot.id))
    ]


async def test_nothing_a_bot_sends_is_acted_on(tmp_path: Path) -> None:
    """Not its commands (even a bot listed as moderator or supporter), its button presses,
    its private replies, its posts, or its joins."""
    async with two_communities(tmp_path) as rig:
        await rig.say(":room recovery", ":join alice")
        await rig.say(*dm("alice", "/checkin"))  # a check-in that would take a private reply
        before = rig.out.getvalue()
        for name in ("mod", "sam", "alice", "confidant"):
            bot = Member("console", name, is_bot=True)
            events: list[Event] = [e for spec in REGISTRY for e in bot_events(spec, bot)]
            events += [
                ChoiceMade(room_of("recovery"), bot, AGREE_CHOICE, AT),
                PrivateReply(private_room(name), bot, "agree", AT),
                MessagePosted(room_of("recovery"), bot, f"m-{name}", "an unagreed post", AT),
                MemberJoined(room_of("recovery"), bot, AT),
            ]
            for event in events:
                await rig.app.runtime.on_event(event)
        assert rig.out.getvalue() == before
        assert await rig.app.store.audit_entries(100) == []
        assert not await rig.app.store.has_agreed("console", "alice", "circle", None)
        # the control: the same command from the person is acted on
        out = await rig.say(":room recovery", "mod: /policy reload")
        assert "Policies reloaded" in out


# -- /audit, /policy show and /policy reload stay within the moderator's community ----------

ERASED = "zed-5512"


async def both_communities_busy(rig: ConsoleRig) -> None:
    """Audited actions in both communities, a claim in each, and both member rights."""
    crisis = ("agree", "1", "yes", "no")  # mood 1 -> contact? yes -> share answers? no
    await rig.say(":room recovery", ":join alice", "alice: /agree", "alice: /checkin")
    await rig.say(*dm("alice", *crisis), ":room supporters", "sam: /claim 1")
    flag = await grief_flag(rig)
    await rig.say(":room grief", "dave: /checkin", *dm("dave", *crisis))
    await rig.say(":room gsupporters", "gsam: /claim 2")
    await rig.say(*dm("gmod", "/flags", f"/flag resolve {flag.id}", "/checkin stats"))
    await rig.say(*dm("gmod", "/agreements grief", "/policy reload", "/audit"))
    await rig.say(":room recovery", "mod: /agreements", "mod: /checkin stats", "mod: /flags")
    await rig.say(*dm("mod", "/policy reload"))
    await rig.say(*dm("alice", "/mydata"), ":room recovery", f":join {ERASED}")
    await rig.say(*dm(ERASED, "/mydata"), *dm(ERASED, "/forgetme confirm"))


def audit_lines(output: str) -> list[str]:
    """The entries of an /audit answer, one per line."""
    [answer] = bot_lines(output)
    head, *entries = answer.split("\n")
    assert head.endswith("Audit log, newest first:"), answer
    return [e.strip() for e in entries]


# what each moderator must find in their /audit, and whose entries they are
OWN_ENTRIES = {
    "mod": ("circle", {"mod", "sam"}, ["sam claim (contact request 1)", "mod agreements"]),
    "gmod": ("grief", {"gmod", "gsam"}, ["gsam claim (contact request 2)", "gmod flag resolve"]),
}


@pytest.mark.parametrize("where", ["room", "private"])
async def test_audit_shows_a_moderator_only_their_own_communitys_entries(
    tmp_path: Path, where: str
) -> None:
    async with two_communities(tmp_path) as rig:
        await both_communities_busy(rig)
        everything = await rig.app.store.audit_entries(100)
        assert {e.policy for e in everything} == {"circle", "grief", None}  # all three kinds

        for moderator, room in [("mod", "recovery"), ("gmod", "grief")]:
            policy, actors, expected = OWN_ENTRIES[moderator]
            own = await rig.app.store.audit_entries(100, policies=[policy])
            if where == "room":
                out = await rig.say(f":room {room}", f"{moderator}: /audit 100")
            else:
                out = await rig.say(*dm(moderator, "/audit 100"))
            shown = audit_lines(out)
            assert len(shown) == len(own)  # every entry of their community, nothing more
            assert {entry.split()[1].removeprefix("console:") for entry in shown} == actors
            for entry in expected:
                assert any(f"console:{entry}" in e for e in shown), (moderator, entry)
            for secret in ("mydata", "forgetme", "erased", "alice", ERASED):
                assert secret not in "\n".join(shown), (moderator, secret)
        # the two /audit runs were audited, each under its own community only
        audits = [e for e in await rig.app.store.audit_entries(2) if e.action == "audit"]
        assert sorted((e.actor_id, e.policy) for e in audits) == [
            ("gmod", "grief"), ("mod", "circle")
        ]


async def test_entries_of_no_community_are_the_admins_alone(tmp_path: Path) -> None:
    """Member rights and rows older than the policy column: no moderator sees them, not even
    one who moderates every community; ``confidant audit`` shows the admin everything."""
    async with two_communities(tmp_path) as rig:
        await both_communities_busy(rig)
        store = rig.app.store
        await store.audit("console", "mod", "policy reload", "old row", AT)  # policy NULL
        out = await rig.say(":room lobby", ":mod boss", "boss: /audit 100")
        shown = "\n".join(audit_lines(out))
        assert "console:gmod" in shown and "console:mod" in shown  # both communities
        for hidden in ("old row", "mydata", "forgetme", "erased"):
            assert hidden not in shown, hidden
    config = str(tmp_path / "config.yaml")
    admin = confidant("audit", "--config", config, "--limit", "100", cwd=tmp_path)
    assert admin.returncode == 0, admin.stderr
    rows = admin.stdout.splitlines()
    assert any(" -  console:alice  mydata (export sent)" in r for r in rows)
    assert any(" -  console:(erased member)  forgetme" in r for r in rows)
    assert any(" -  console:mod  policy reload (old row)" in r for r in rows)
    assert any(" grief  console:gsam  claim (contact request 2)" in r for r in rows)
    assert not any(ERASED in r for r in rows)  # /forgetme took their own /mydata entry
    only = confidant("audit", "--config", config, "--policy", "circle", cwd=tmp_path)
    assert only.returncode == 0 and only.stdout.strip(), only.stderr
    assert all("  circle  " in r for r in only.stdout.splitlines())


async def test_rows_from_before_the_policy_column_belong_to_nobody(tmp_path: Path) -> None:
    before = next(m.version for m in MIGRATIONS if "audit_log ADD COLUMN policy" in m.sql) - 1
    path = tmp_path / "old.db"
    await build_at(path, before)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "INSERT INTO audit_log (at, platform, actor_id, action, detail)"
            " VALUES ('2026-01-05T09:00:00+00:00', 'console', 'mod', 'flags', '1 open flags shown')"
        )
    store = await open_store(path, AT)
    try:
        [entry] = await store.audit_entries(10)
        assert (entry.actor_id, entry.action, entry.policy) == ("mod", "flags", None)
        assert await store.audit_entries(10, policies=["circle", "grief"]) == []
    finally:
        await store.close()


@pytest.mark.parametrize("where", ["recovery", "private"])
async def test_policy_show_of_another_community_is_answered_as_unknown(
    tmp_path: Path, where: str
) -> None:
    async with two_communities(tmp_path) as rig:

        async def show(argument: str) -> str:
            said = f"/policy show {argument}"
            lines = dm("mod", said) if where == "private" else (":room recovery", f"mod: {said}")
            [answer] = bot_lines(await rig.say(*lines))
            return answer

        other, unknown = await show("grief"), await show("nosuch")
        assert other == unknown and "grief" not in other
        assert "Policies you moderate: circle" in other
        [bare] = bot_lines(await rig.say(*dm("mod", "/policy show")))  # no room names one
        assert "grief" not in bare and "circle" in bare
        assert "] Policy circle (policies/circle.yaml)\n" in await show("circle")
        assert "Policy grief" in await rig.say(*dm("gmod", "/policy show grief"))  # control


def answer_to(who: str, output: str) -> str:
    """The one answer only ``who`` sees, leaving aside alerts the same line caused."""
    [answer] = [b for b in bot_lines(output) if b.startswith(f"[only {who} sees, ")]
    return answer


async def test_policy_reload_reports_only_the_moderators_own_policies(tmp_path: Path) -> None:
    """Reloading is global (one directory, all or nothing); the answer is not."""
    async with two_communities(tmp_path) as rig:
        grief_file = tmp_path / "policies" / "grief.yaml"
        good_grief = grief_file.read_text()
        grief_file.write_text(good_grief.replace("reminder:", "remider:"))  # two errors
        answer = answer_to("mod", await rig.say(*dm("mod", "/policy reload")))
        assert "Policy reload failed; the last good policies keep running." in answer
        assert "2 more errors are in policy files that are not yours" in answer
        assert "grief" not in answer and "remider" not in answer
        answer = answer_to("gmod", await rig.say(*dm("gmod", "/policy reload")))  # control
        assert "\n    grief.yaml:" in answer and "did you mean 'reminder'" in answer
        assert "policies/" not in answer  # named within the policy folder, not the server's path
        assert "not yours" not in answer

        circle_file = tmp_path / "policies" / "circle.yaml"
        circle_file.write_text(circle_file.read_text().replace("reminder:", "remider:"))
        answer = answer_to("mod", await rig.say(*dm("mod", "/policy reload")))
        assert "\n    circle.yaml:" in answer and "grief" not in answer
        assert "2 more errors" in answer

        circle_file.write_text(CIRCLE_POLICY)
        grief_file.write_text(good_grief.replace("stays here", "stays with us"))
        answer = answer_to("mod", await rig.say(":room recovery", "mod: /policy reload"))
        assert answer.endswith("Policies reloaded (unchanged): circle")  # grief's edit: not news
        grief = rig.app.core.policies.current.by_name("grief")
        assert grief is not None and "stays with us" in grief.reminder.text  # yet it is applied
        assert "(unchanged): grief" in await rig.say(*dm("gmod", "/policy reload"))

        reloads = [e for e in await rig.app.store.audit_entries(100) if e.action == "policy reload"]
        assert [(e.actor_id, e.policy, e.detail) for e in reversed(reloads)] == [
            ("mod", "circle", "failed, 0 errors in its file"),
            ("gmod", "grief", "failed, 2 errors in its file"),
            ("mod", "circle", "failed, 2 errors in its file"),
            ("mod", "circle", "ok"),
            ("gmod", "grief", "ok"),
        ]


async def test_a_broken_edit_is_alerted_in_full_only_to_its_own_moderators(
    tmp_path: Path,
) -> None:
    """The file watcher finds grief's broken edit: grief's moderators read the errors, the
    circle's moderators only learn that a reload is held back, never grief's keys or values."""
    async with two_communities(tmp_path) as rig:
        grief_file = tmp_path / "policies" / "grief.yaml"
        grief_file.write_text(grief_file.read_text().replace("reminder:", "remider:"))
        before = len(rig.out.getvalue())
        await rig.app.runtime.poll_policies()
        out = rig.out.getvalue()[before:]
        grief_alert = out.split("[alert → #gmods] ", 1)[1].split("\n[", 1)[0]
        circle_alert = out.split("[alert → #mods] ", 1)[1].split("\n[", 1)[0]
        assert "\n    grief.yaml:" in grief_alert and "remider" in grief_alert
        assert "policies/" not in grief_alert
        assert circle_alert.startswith("Policy reload failed; the last good policies keep")
        assert "2 error(s) in other communities' policy files" in circle_alert
        assert "grief" not in circle_alert and "remider" not in circle_alert

