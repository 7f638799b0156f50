"""Moderators are answered where they asked: in their own room, or privately."""

from __future__ import annotations

from dataclasses import replace

from bot.actions import PostToRoom, ReplyToInvoker
from bot.events import CommandInvoked, Member, Room
from tests.conftest import ConsoleRig

MODS = Room("console", "mods", "mods")
RECOVERY = Room("console", "recovery", "recovery")


def without_ephemeral(rig: ConsoleRig) -> None:
    """The console as a platform without ephemeral replies (Matrix)."""
    core = rig.app.core
    caps = replace(core.caps("console"), ephemeral_replies=False)
    core.capabilities = {**core.capabilities, "console": caps}


async def test_a_moderator_in_the_alert_room_is_answered_there(rig: ConsoleRig) -> None:
    without_ephemeral(rig)
    core, mod = rig.app.core, Member("console", "mod")
    [answer] = await core.handle(
        CommandInvoked(MODS, mod, "agreements", rig.clock.now(), argv=("circle",))
    )
    assert isinstance(answer, PostToRoom) and answer.room == MODS and answer.mention is None
    assert answer.text.startswith("Agreements to the reminder of circle")
    out = await rig.say(":room mods", "mod: /policy show circle")
    assert out.splitlines()[1].startswith("[#mods] confidant: Policy circle")


async def test_elsewhere_the_answer_stays_private_with_a_pointer(rig: ConsoleRig) -> None:
    without_ephemeral(rig)
    core = rig.app.core
    for room, who in ((RECOVERY, "mod"), (MODS, "carol")):  # not the alert room / no moderator
        [answer] = await core.handle(
            CommandInvoked(room, Member("console", who), "rules", rig.clock.now())
        )
        assert isinstance(answer, ReplyToInvoker)
        # said in the room only where the private chat still waits to be accepted
        assert answer.pointer is not None and "private chat" in answer.pointer
        assert "stays here" not in answer.pointer
