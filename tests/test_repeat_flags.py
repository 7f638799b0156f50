"""Repeat leakers (confirmed flags per member, and what the policy sets after N of them) and
the audit log of the bot's own actions, on the console with a real store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.leaks import author_key
from tests.conftest import POLICY, ConsoleRig
from tests.leak_rig import QUOTE, SHARED, SHARED_WORDS, alerts, leak_rig, policy_with


async def share(rig: ConsoleRig, who: str = "alice") -> None:
    await rig.say(":room recovery", f"{who}: {SHARED}")


async def quote(rig: ConsoleRig, who: str = "bob") -> str:
    return await rig.say(":room lobby", f"{who}: {QUOTE}")


async def latest_flag(rig: ConsoleRig) -> int:
    return (await rig.app.store.open_flags())[0].id


REPEAT_TIMEOUT = "repeat:\n  count: 2\n  days: 30\n  action: timeout\n  timeout_minutes: 60"


async def test_confirmed_flags_are_counted_shown_and_marked(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, policy_with(REPEAT_TIMEOUT)) as rig:
        await share(rig)
        first = await quote(rig)
        assert "Earlier confirmed" not in "".join(alerts(first))
        resolved = await rig.say(":room mods", f"mod: /flag resolve {await latest_flag(rig)}")
        assert "confirmed flag" not in resolved  # the first is no repeat
        assert "confirm-action" not in resolved
        # a false positive is not counted
        await quote(rig)
        await rig.say(f"mod: /flag false-positive {await latest_flag(rig)}")
        await rig.say(":room recovery", "alice: " + SHARED.replace("weekend", "Sunday"))
        second = alerts(await rig.say(":room lobby", "bob: " + QUOTE.replace("weekend", "Sunday")))
        assert second and "Earlier confirmed flags by this member: 1 in 30 days" in second[0]
        assert "REPEATED" not in second[0]
        out = await rig.say(":room mods", f"mod: /flag resolve {await latest_flag(rig)}")
        assert "2nd confirmed flag of this member in 30 days." in out
        assert "proposes a 60-minute timeout (action 1)" in out
        assert "/flag confirm-action 1" in out
        [proposal] = [a for a in alerts(out) if "Repeat leaker" in a]
        assert proposal.startswith("[alert → #mods] Repeat leaker: the poster of flag")
        assert "Proposed: a 60-minute timeout (action 1)" in proposal
        assert "timed out" not in out  # not before a moderator confirms
        history = await rig.say("mod: /flags bob")
        assert "Confirmed flags of bob: 2" in history
        assert "a 60-minute timeout (action 1): proposed" in history
        # the history is keyed: no member id in the table, only the keyed hash
        author = author_key(rig.app.key, "console", "bob")  # type: ignore[arg-type]
        assert len(await rig.app.store.confirmed_flags(author, ["circle"])) == 2
        refused = await rig.say(":room lobby", "bob: /flags bob")
        assert "Confirmed" not in refused
        assert all(w not in resolved + out + history for w in SHARED_WORDS)
        # an erase request takes the history and the proposed action with it
        await rig.say(":room lobby", "bob: /forgetme confirm")
        assert await rig.app.store.confirmed_flags(author, ["circle"]) == []
        assert await rig.app.store.member_repeat_actions("console", "bob") == []


async def test_confirmed_timeout_is_done_audited_and_restored_after_a_restart(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with leak_rig(tmp_path, policy_with(REPEAT_TIMEOUT), clock) as rig:
        await share(rig)
        for variant in ("weekend", "Sunday"):
            await rig.say(":room recovery", "alice: " + SHARED.replace("weekend", variant))
            await rig.say(":room lobby", "bob: " + QUOTE.replace("weekend", variant))
            await rig.say(":room mods", f"mod: /flag resolve {await latest_flag(rig)}")
        third = alerts(await rig.say(":room lobby", "bob: " + QUOTE))
        assert "REPEATED: Earlier confirmed flags by this member: 2 in 30 days" in third[0]
        confirmed = await rig.say(":room mods", "mod: /flag confirm-action 1")
        assert "Confirmed: a 60-minute timeout (action 1)." in confirmed
        assert "[#recovery] (bob: timed out until" in confirmed
        assert "no proposed action 1" in await rig.say("mod: /flag confirm-action 1")
        audit = await rig.say("mod: /audit")
        assert "console:mod flag confirm-action (action 1" in audit
        assert "console:confidant bot timeout (bob in recovery until" in audit
        assert "repeat leaker, action 1 after flag" in audit
    await clock.advance(timedelta(minutes=61))
    async with leak_rig(tmp_path, clock=clock) as rig:  # the end outlives a restart
        await rig.app.runtime.tick()
        restored = rig.out.getvalue()
        assert "[#recovery] (bob: timeout ended)" in restored
        audit = await rig.say(":room mods", "mod: /audit")
        assert "console:confidant bot timeout ended (bob in recovery: timeout of action 1" in audit
        await rig.app.runtime.tick()
        assert rig.out.getvalue().count("timeout ended)") == 1  # restored once


async def test_automatic_removal_needs_no_confirm(tmp_path: Path) -> None:
    repeat = "repeat:\n  count: 1\n  action: remove\n  automatic: true"
    async with leak_rig(tmp_path, policy_with(repeat)) as rig:
        await share(rig)
        await quote(rig)
        out = await rig.say(":room mods", f"mod: /flag resolve {await latest_flag(rig)}")
        assert "removal from the policy's rooms (action 1) (automatic)" in out
        assert "[#recovery] (bob was removed from the room)" in out
        assert "console:confidant bot removal (bob from recovery" in await rig.say("mod: /audit")


HOLD = POLICY + "  unagreed_posts: hide\nleaks:\n  repeat:\n    count: 1\n    action: timeout\n"
HOLD += "    automatic: true\n"


async def test_the_bots_own_actions_are_audited_with_policy_and_reason(tmp_path: Path) -> None:
    """A held post's deletion and a timeout: in /audit with the policy's entries and the
    reason, never the member's words. (The console has no posting permissions or roles: the
    Discord tests cover those.)"""
    clock = FakeClock()
    async with leak_rig(tmp_path, HOLD, clock) as rig:
        await rig.say(":join alice", ":join bob")
        held = await rig.say("bob: I had a hard week")
        assert "(bob's message was hidden from the room)" in held
        await rig.say("alice: /agree", f"alice: {SHARED}")
        await rig.say(":room lobby", f"bob: {QUOTE}")
        await rig.say(":room mods", f"mod: /flag resolve {await latest_flag(rig)}")
        audit = await rig.say("mod: /audit")
        assert "console:confidant bot delete (message" in audit
        assert "by bob in recovery: posted before agreeing to the reminder)" in audit
        assert "console:confidant bot timeout (bob in recovery until" in audit
        entries = await rig.app.store.audit_entries(policies=["circle"])
        assert {e.action for e in entries} >= {"bot delete", "bot timeout"}
        text = audit + str(entries)
        assert "hard week" not in text and all(w not in text for w in SHARED_WORDS)
        # bob never agreed: the timeout's end does not let him post (the gate still holds)
        await clock.advance(timedelta(minutes=61))
        start = len(rig.out.getvalue())
        await rig.app.runtime.tick()
        assert "(bob: timeout ended, still held until they agree)" in rig.out.getvalue()[start:]
        ended = await rig.say("mod: /audit")
        assert "bot timeout ended (bob in recovery: timeout of action 1 ended; posting stays" in (
            ended
        )
