"""A copy held for review: sealed, shown once to a moderator of the source policy,
privately, audited, and destroyed on closing the flag or when the review time is up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FakeClock
from tests.conftest import ConsoleRig, write_policy
from tests.leak_rig import QUOTE, SHARED, SHARED_WORDS, alerts, leak_rig, policy_with

HOLD = policy_with("actions:\n  hold_for_review: true")
# a second community with its own moderator, who must not read the circle's held copies
GRIEF = """\
name: grief
rooms:
  - platform: console
    name: grief
moderators:
  - platform: console
    user: gmod
alerts:
  - platform: console
    name: grief-mods
reminder:
  text: What is shared in grief stays in grief.
"""
CANARY = "zebracanary"
CANARY_QUOTE = f"{QUOTE} {CANARY}"


async def held_quote(rig: ConsoleRig, text: str = QUOTE, who: str = "bob") -> int:
    await rig.say(":room recovery", f"alice: {SHARED}")
    out = await rig.say(":room lobby", f"{who}: {text}")
    assert f"({who}'s message was hidden from the room)" in out
    flags = await rig.app.store.open_flags()
    return flags[0].id


async def test_a_held_copy_is_shown_once_privately_and_audited(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, HOLD) as rig:
        flag_id = await held_quote(rig, CANARY_QUOTE)
        assert await rig.app.store.held_copy_ids() == [flag_id]
        # the alert and the flag list carry no words of it
        listed = await rig.say(":room mods", "mod: /flags")
        assert CANARY not in listed and all(w not in listed for w in SHARED_WORDS)

        shown = await rig.say(f"mod: /flag show {flag_id}")
        assert shown.startswith(f"[private → mod] The copy held for flag {flag_id} (in lobby")
        assert CANARY_QUOTE in shown
        assert "#lobby" not in shown.split("\n", 1)[0]  # not a post in the room
        assert await rig.app.store.held_copy_ids() == []

        again = await rig.say(f"mod: /flag show {flag_id}")
        assert f"Flag {flag_id} has no held copy to show: it was already shown" in again
        assert CANARY not in again

        [gone, read] = (await rig.app.store.audit_entries(2))[:2]
        assert (read.action, read.detail) == ("flag show", f"flag {flag_id}, held copy shown")
        assert gone.detail == f"flag {flag_id}, no held copy to show"
        assert read.policy == "circle" and read.actor_id == "mod"
        # the flag itself stays open for the moderator's decision
        assert [f.id for f in await rig.app.store.open_flags()] == [flag_id]


async def test_the_alert_and_the_poster_say_how_long_it_is_kept(tmp_path: Path) -> None:
    async with leak_rig(
        tmp_path, policy_with("review_hours: 6\nactions:\n  hold_for_review: true")
    ) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        out = await rig.say(":room lobby", f"bob: {CANARY_QUOTE}")
        [alert] = alerts(out)
        assert "/flag show 1 shows it to you once, privately, within 6 hours." in alert
        assert "kept sealed for at most 6 hours so that one moderator can read it once" in out
        assert CANARY not in out


async def test_closing_the_flag_destroys_the_held_copy(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, HOLD) as rig:
        flag_id = await held_quote(rig)
        await rig.say(":room mods", f"mod: /flag resolve {flag_id}")
        assert await rig.app.store.held_copy_ids() == []
        out = await rig.say(f"mod: /flag show {flag_id}")
        assert "has no held copy to show" in out
        assert all(word not in out for word in SHARED_WORDS)


async def test_a_harmless_held_copy_is_destroyed_and_the_poster_told(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, HOLD) as rig:
        flag_id = await held_quote(rig)
        out = await rig.say(":room mods", f"mod: /flag false-positive {flag_id}")
        assert "[private → bob] A moderator looked at your message in lobby" in out
        assert "has now destroyed it" in out
        assert await rig.app.store.held_copy_ids() == []


async def test_the_held_copy_expires_after_the_review_time(tmp_path: Path) -> None:
    clock = FakeClock()
    async with leak_rig(tmp_path, HOLD, clock) as rig:
        first = await held_quote(rig)
        await clock.advance(timedelta(hours=23, minutes=59))
        await rig.app.core.tick()
        assert await rig.app.store.held_copy_ids() == [first]
        await clock.advance(timedelta(minutes=2))
        await rig.app.core.tick()  # the runtime's periodic job
        assert await rig.app.store.held_copy_ids() == []
        assert "has no held copy to show" in await rig.say(f"mod: /flag show {first}")

    # a shorter review time; read after it, before any tick purged it: still not shown
    short = policy_with("review_hours: 2\nactions:\n  hold_for_review: true")
    async with leak_rig(tmp_path / "short", short, clock) as rig:
        flag_id = await held_quote(rig)
        await clock.advance(timedelta(hours=2, seconds=1))
        out = await rig.say(f"mod: /flag show {flag_id}")
        assert "has no held copy to show" in out and "relapsed" not in out


async def test_a_moderator_of_another_policy_cannot_read_it(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies", HOLD)
    write_policy(tmp_path / "policies", GRIEF, name="grief.yaml")
    async with leak_rig(tmp_path, HOLD) as rig:
        flag_id = await held_quote(rig)
        out = await rig.say(":room lobby", f"gmod: /flag show {flag_id}")
        assert f"There is no open flag {flag_id} that you moderate." in out
        assert all(word not in out for word in SHARED_WORDS)
        assert await rig.app.store.held_copy_ids() == [flag_id]
        # in their own room too, and a member is refused outright
        assert "no open flag" in await rig.say(":room grief", f"gmod: /flag show {flag_id}")
        assert "Only moderators" in await rig.say(":room lobby", f"carol: /flag show {flag_id}")
        assert await rig.app.store.held_copy_ids() == [flag_id]


async def test_without_hold_nothing_is_kept(tmp_path: Path) -> None:
    policy = policy_with("actions:\n  delete_copy: true")
    async with leak_rig(tmp_path, policy) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        assert alerts(await rig.say(":room lobby", f"bob: {QUOTE}"))
        assert await rig.app.store.held_copy_ids() == []
        assert "has no held copy" in await rig.say("mod: /flag show 1")


async def test_the_held_copys_words_are_not_in_the_database_files(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, HOLD) as rig:
        await held_quote(rig, CANARY_QUOTE)
        assert await rig.app.store.held_copy_ids() != []
        files = [p for p in tmp_path.iterdir() if p.name.startswith("confidant.db")]
        assert files
        for path in files:
            raw = path.read_bytes()
            assert CANARY.encode() not in raw, path.name
            assert b"wants to see me" not in raw, path.name
        # nor in anyone's export of their data
        for who in ("bob", "mod", "alice"):
            exported = await rig.say(f"{who}: /mydata")
            assert "[private" in exported
            assert CANARY not in exported and "wants to see me" not in exported


async def test_the_poster_erasing_their_data_destroys_their_held_copy(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, HOLD) as rig:
        flag_id = await held_quote(rig)
        await rig.say(":room lobby", "bob: /forgetme confirm")
        assert await rig.app.store.held_copy_ids() == []
        assert "has no held copy" in await rig.say(f"mod: /flag show {flag_id}")


async def test_closed_private_messages_never_put_the_copy_in_the_room(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, HOLD) as rig:
        flag_id = await held_quote(rig, CANARY_QUOTE)
        out = await rig.say(":dms-closed mod", f"mod: /flag show {flag_id}")
        assert CANARY not in out and "relapsed" not in out
        assert f"[only mod sees, #lobby] The held copy of flag {flag_id} could not be sent" in out
        # it was taken to be shown and the show failed: gone all the same, not left behind
        assert await rig.app.store.held_copy_ids() == []
