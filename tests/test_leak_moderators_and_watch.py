"""Leak flagging around the moderators' own work and watch-only rooms (console, real store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.actions import JoinRoom, LeaveRoom
from bot.events import InvitedToRoom, Member, Room
from bot.policy import PolicyLoadError, load_policy_text
from tests.conftest import write_policy
from tests.leak_rig import QUOTE, SHARED, SHARED_WORDS, alerts, leak_rig, policy_with
from tests.test_cli import confidant

SUPPORTED = """\
checkins:
  intro: A short private check-in.
  questions:
    - id: mood
      prompt: How are you?
      kind: scale
  supporters:
    - platform: console
      user: sam
  supporters_room:
    platform: console
    name: supporters
"""

WATCHED = "watch:\n  - platform: console\n    name: general\n"


async def test_alert_and_supporters_rooms_are_never_outside(tmp_path: Path) -> None:
    # "sam" moderates nothing: the room, not the person, is what exempts these posts, even
    # with scan_moderators on and delete_copy set.
    policy = policy_with("scan_moderators: true\nactions:\n  delete_copy: true") + SUPPORTED
    async with leak_rig(tmp_path, policy) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        in_mods = await rig.say(":room mods", f"sam: {QUOTE}")
        in_supporters = await rig.say(":room supporters", f"sam: {QUOTE}")
        assert alerts(in_mods + in_supporters) == []
        assert "hidden from the room" not in in_mods + in_supporters
        assert await rig.app.store.open_flags() == []
        # the same words anywhere else are flagged and removed, as before
        out = await rig.say(":room lobby", f"sam: {QUOTE}")
        [alert] = alerts(out)
        assert "Possible leak from recovery" in alert
        assert "(sam's message was hidden from the room)" in out


async def test_moderators_posts_elsewhere_are_a_policy_choice(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        assert alerts(await rig.say(":room lobby", f"mod: {QUOTE}")) == []
        assert await rig.app.store.open_flags() == []
        # a member's quote is still flagged by default
        assert len(alerts(await rig.say(f"bob: {QUOTE}"))) == 1

    async with leak_rig(tmp_path / "on", policy_with("scan_moderators: true")) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        [alert] = alerts(await rig.say(":room lobby", f"mod: {QUOTE}"))
        assert "posted by mod" in alert


async def test_a_watched_room_is_scanned_but_gets_no_reminder(tmp_path: Path) -> None:
    policy = policy_with() + WATCHED
    async with leak_rig(tmp_path, policy) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        joined = await rig.say(":room general", ":join dave")
        assert "[private → dave]" not in joined and "stays here" not in joined
        out = await rig.say(f"dave: {QUOTE}")
        [alert] = alerts(out)
        assert "Possible leak from recovery" in alert and "in general" in alert
        assert "hidden" not in out  # no agreement gate: dave never agreed and still posts
        assert all(word not in out for word in SHARED_WORDS)
        # nothing said in the watched room is fingerprinted as confidential
        before = len(await rig.app.store.fingerprints())
        await rig.say(f"dave: {SHARED} and more words after it to be sure")
        assert len(await rig.app.store.fingerprints()) == before


async def test_invites_to_watched_rooms_are_accepted(tmp_path: Path) -> None:
    policy = policy_with() + WATCHED
    async with leak_rig(tmp_path, policy) as rig:
        core, now, someone = rig.app.core, rig.clock.now(), Member("console", "dave")
        general, random = Room("console", "general", "general"), Room("console", "random", "random")
        watched = await core.handle(InvitedToRoom(general, someone, now))
        other = await core.handle(InvitedToRoom(random, someone, now))
        assert [type(a) for a in watched] == [JoinRoom]
        assert [type(a) for a in other] == [LeaveRoom]


def test_check_refuses_a_room_both_covered_and_watched(tmp_path: Path) -> None:
    text = policy_with() + "watch:\n  - platform: console\n    name: general\n"
    text += "  - platform: console\n    name: women\n"
    write_policy(tmp_path / "policies", text)
    (tmp_path / "config.yaml").write_text(
        "database: data/confidant.db\nkey_file: data/confidant.key\npolicy_dir: policies\n"
        "adapters:\n  console:\n    enabled: true\n"
    )
    bad = confidant("check", "--config", "config.yaml", cwd=tmp_path)
    assert bad.returncode == 1
    line = text.splitlines().index("    name: women", text.count("\n", 0, text.index("watch:")))
    [first] = [entry for entry in bad.stderr.splitlines() if "watched" in entry]
    assert first.startswith(f"policies/circle.yaml:{line}:5: ")
    assert "console room name 'women' is watched here but is a confidential room" in first
    assert "(policies/circle.yaml:5:5)" in first


def test_an_alert_room_cannot_be_watched() -> None:
    text = policy_with() + "watch:\n  - platform: console\n    name: mods\n"
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(text, "policies/circle.yaml")
    [error] = caught.value.errors
    assert "alert rooms are never watched for leaks" in error.message
    assert error.line == text.count("\n", 0, text.index("watch:")) + 2


def test_watch_entries_name_no_role() -> None:
    text = policy_with() + "watch:\n  - platform: discord\n    id: '1'\n    agreed_role: '2'\n"
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(text, "policies/circle.yaml")
    [error] = caught.value.errors
    assert "has no agreement to grant" in error.message
