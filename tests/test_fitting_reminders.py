"""Reminders that fit what the member did: one for copies close together, none twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.actions import AlertModerators
from bot.events import Member, MessagePosted, Room
from tests.conftest import ConsoleRig
from tests.leak_rig import LEAK_POLICY, QUOTE, SHARED, alerts, leak_rig

OTHER_QUOTE = "so she relapsed last weekend after my sister told me she never wants to see me again"


async def test_several_copies_within_minutes_get_one_reminder(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        first = await rig.say(":room lobby", f"bob: {QUOTE}")
        assert first.count("[private → bob]") == 1
        await rig.clock.advance(timedelta(minutes=2))
        second = await rig.say(f"bob: {OTHER_QUOTE}", ":room women", f"bob: {QUOTE}")
        assert len(alerts(second)) == 2  # each copy is flagged for the moderators
        assert "[private → bob]" not in second  # but bob is not told three times
        await rig.clock.advance(timedelta(minutes=11))
        later = await rig.say(":room lobby", f"bob: and again {QUOTE}")
        assert later.count("[private → bob]") == 1


async def test_leak_reminder_reads_as_plain_sentences(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        out = await rig.say(":room lobby", f"bob: {QUOTE}")
        [reminder] = [line for line in out.splitlines() if line.startswith("[private → bob]")]
        assert "(" not in reminder and "need do" not in reminder
        assert "If it does repeat something said there, please delete it." in reminder
        assert reminder.endswith("To read its reminder, send /rules in recovery.")


async def test_alerts_name_commands_with_each_platforms_prefix(tmp_path: Path) -> None:
    policy = LEAK_POLICY.replace(
        "alerts:\n  - platform: console\n    name: mods\n",
        "alerts:\n  - platform: console\n    name: mods\n  - platform: matrix\n"
        "    id: '!mods:example.org'\n",
    )
    async with leak_rig(tmp_path, policy) as rig:
        from bot.ports import Capabilities

        core = rig.app.core
        core.capabilities = {**core.capabilities, "matrix": Capabilities(command_prefix="!")}
        await rig.say(":room recovery", f"alice: {SHARED}")
        at = rig.clock.now()
        posted = MessagePosted(
            Room("console", "lobby", "lobby"), Member("console", "bob"), "m9", QUOTE, at
        )
        actions = await core.handle(posted)
        by_platform = {a.platform: a.text for a in actions if isinstance(a, AlertModerators)}
        assert "!flag resolve 1" in by_platform["matrix"]
        assert "/flag resolve 1" in by_platform["console"]


async def test_rejoining_without_having_agreed_reminds_again(rig: ConsoleRig) -> None:
    first = await rig.say(":join alice", ":join bob")
    assert first.count("[private → alice] Welcome to recovery.") == 1
    await rig.say("bob: /agree")
    back = await rig.say(":leave alice", ":leave bob", ":join alice", ":join bob")
    assert back.count("[private → alice] Welcome to recovery.") == 1  # never agreed
    assert "[private → bob]" not in back  # agreed to the current text
    assert await rig.say(":join alice") == ""  # the same join again is no new join


async def test_a_reask_says_the_text_changed_on_every_way_it_goes(tmp_path: Path) -> None:
    from tests.conftest import POLICY, make_config, start_rig, write_policy

    policy_file = write_policy(tmp_path / "policies", POLICY)
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":join alice", "alice: /agree", ":dms-closed alice")
        policy_file.write_text(POLICY.replace("stays here.", "stays here, always."))
        out = await rig.say("mod: /policy reload")
        assert (
            "[#recovery] confidant → @alice: This room's confidentiality reminder has changed"
            in out
        )
        # a resend (after a restart, say) words it the same way
        core = rig.app.core
        policy = core.policies.current.by_name("circle")
        assert policy is not None
        from bot.events import Member
        from bot.reminding import agreed_to_earlier_text

        assert await agreed_to_earlier_text(core, Member("console", "alice"), policy)
        assert not await agreed_to_earlier_text(core, Member("console", "bob"), policy)
    finally:
        await rig.app.close()
