"""The read gate (``reminder.gate: read``) through the console: a newcomer reads the room
only after agreeing to keep it."""

from __future__ import annotations

from pathlib import Path

from bot.actions import ActionRefused
from bot.clock import FakeClock
from tests.conftest import POLICY, ConsoleRig, make_config, start_rig, write_policy

REMINDER = "What is shared here stays here."
NEW_TEXT = "New wording, it stays in the room."
READ_GATED = POLICY.replace("  require_agreement: true\n", "  gate: read\n")


def gated(reask: str = "keep_access", extra: str = "") -> str:
    return READ_GATED + f"  reask: {reask}\n" + extra


async def started(tmp: Path, policy: str, clock: FakeClock | None = None) -> ConsoleRig:
    if not (tmp / "policies").exists():
        write_policy(tmp / "policies", policy)
    return await start_rig(make_config(tmp), clock)


async def change_text(rig: ConsoleRig, tmp: Path) -> str:
    path = tmp / "policies" / "circle.yaml"
    path.write_text(path.read_text().replace(REMINDER, NEW_TEXT))
    return await rig.say("mod: /policy reload")


async def test_join_asks_to_read_and_shows_only_the_reminder(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated())
    try:
        out = await rig.say(":join alice")
        assert out.startswith("[private → alice] Before you can read recovery")
        assert REMINDER in out and "/agree" in out
        assert "can now read" not in out  # not let in before agreeing
        assert "[#recovery]" not in out  # nothing said in the room they cannot read
        refused = await rig.say("alice: I had a hard week")
        assert "alice cannot read #recovery yet" in refused
        assert "hard week" not in refused
        assert not await rig.app.store.has_access("console", "recovery", "alice")
        agreed = await rig.say(":dm alice /agree")
        assert "[#recovery] (alice can now read the room)" in agreed
        assert "[private → alice] You can now read recovery." in agreed
        assert agreed.index("can now read the room") < agreed.index("You can now read recovery")
        assert "Thank you. Your agreement" in agreed
        assert await rig.app.store.has_access("console", "recovery", "alice")
        # inside, having agreed: no post gate, and no second reminder on the join
        assert await rig.say("alice: I had a hard week") == ""
    finally:
        await rig.app.close()


async def test_plain_agree_reply_in_private_chat_lets_in(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated())
    try:
        await rig.say(":join bob")
        out = await rig.say(":dm bob agree")
        assert "[private → bob] You can now read recovery." in out
        assert await rig.app.store.has_access("console", "recovery", "bob")
    finally:
        await rig.app.close()


async def test_reminder_once_per_text_even_across_restart(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated())
    await rig.say(":join alice")
    assert await rig.say(":join alice") == ""  # asking again: no second reminder
    await rig.app.close()
    again = await started(tmp_path, gated())
    try:
        assert again.out.getvalue() == ""  # nothing owed at start
        assert await again.say(":join alice") == ""
        assert "You can now read recovery." in await again.say(":dm alice /agree")
    finally:
        await again.app.close()


async def test_leave_and_ask_again_is_let_in_without_agreeing_again(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated())
    try:
        await rig.say(":join alice", ":dm alice /agree")
        await rig.say(":leave alice")
        assert not await rig.app.store.has_access("console", "recovery", "alice")
        back = await rig.say(":join alice")
        assert "[#recovery] (alice can now read the room)" in back
        assert "Before you can read" not in back
    finally:
        await rig.app.close()


async def test_leave_and_ask_again_after_a_changed_text_asks_again(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated())
    try:
        await rig.say(":join mod", ":join alice", ":dm alice /agree", ":leave alice")
        await change_text(rig, tmp_path)
        back = await rig.say(":join alice")
        assert "can now read the room" not in back
        assert "Before you can read recovery" in back and NEW_TEXT in back
        assert "You can now read recovery." in await rig.say(":dm alice /agree")
    finally:
        await rig.app.close()


async def test_changed_text_keep_access(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated("keep_access"))
    try:
        await rig.say(":join mod", ":join alice", ":dm alice /agree")
        out = await change_text(rig, tmp_path)
        assert "can no longer read" not in out
        assert "[private → alice] This room's confidentiality reminder has changed" in out
        assert await rig.app.store.has_access("console", "recovery", "alice")
        assert await rig.say("alice: still reading and posting") == ""  # no post gate
    finally:
        await rig.app.close()


async def test_changed_text_suspend_takes_access_until_agreed(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated("suspend"))
    try:
        await rig.say(":join mod", ":join alice", ":dm alice /agree")
        out = await change_text(rig, tmp_path)
        assert "[#recovery] (alice can no longer read the room)" in out
        assert "mod can no longer read" not in out  # moderators keep reading
        assert "[private → alice] The confidentiality reminder of recovery has changed" in out
        assert NEW_TEXT in out
        assert not await rig.app.store.has_access("console", "recovery", "alice")
        assert "cannot read #recovery yet" in await rig.say("alice: hello?")
        back = await rig.say(":dm alice /agree")
        assert "[#recovery] (alice can now read the room)" in back
        assert "You can now read recovery." in back
    finally:
        await rig.app.close()


async def test_suspend_after_a_restart_is_done_once(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated("suspend"))
    await rig.say(":join alice", ":dm alice /agree")
    await rig.app.close()
    path = tmp_path / "policies" / "circle.yaml"
    path.write_text(path.read_text().replace(REMINDER, NEW_TEXT))
    second = await started(tmp_path, gated("suspend"))
    await second.app.close()
    third = await started(tmp_path, gated("suspend"))
    try:
        first_start, later_start = second.out.getvalue(), third.out.getvalue()
        assert "alice can no longer read the room" in first_start
        assert first_start.count("[private → alice]") == 1
        assert later_start == ""  # revoked and reminded already
    finally:
        await third.app.close()


async def test_refused_grant_is_never_announced(tmp_path: Path) -> None:
    from bot.actions import GrantAccess

    rig = await started(tmp_path, gated())
    try:
        perform = rig.console.perform

        async def refusing(action):  # type: ignore[no-untyped-def]
            if isinstance(action, GrantAccess):
                raise ActionRefused("no permission to let members in (test)")
            await perform(action)

        rig.console.perform = refusing  # type: ignore[method-assign]
        await rig.say(":join alice")
        out = await rig.say(":dm alice /agree")
        assert "You can now read" not in out
        assert "can now read the room" not in out
        assert not await rig.app.store.has_access("console", "recovery", "alice")
        kinds = [e.action for e in await rig.app.store.audit_entries()]
        assert "access granted" not in kinds
        assert "[alert → #mods]" in out and "letting a member who agreed read the room" in out
    finally:
        await rig.app.close()


async def test_agreements_and_audit_show_who_was_admitted(tmp_path: Path) -> None:
    rig = await started(tmp_path, gated("suspend"))
    try:
        await rig.say(":join mod", ":join alice", ":join bob", ":dm alice /agree")
        shown = await rig.say("mod: /agreements")
        assert "admitted (read gate): alice (" in shown and ", mod (" in shown
        assert "bob" not in shown.split("admitted (read gate):")[1]
        await change_text(rig, tmp_path)
        entries = await rig.app.store.audit_entries()
        granted = [e for e in entries if e.action == "access granted"]
        revoked = [e for e in entries if e.action == "access revoked"]
        assert {e.detail.split(" ")[0] for e in granted} == {"mod", "alice"}
        assert granted[0].actor_id == "confidant" and granted[0].policy == "circle"
        assert [e.detail.split(" ")[0] for e in revoked] == ["alice"]
        assert REMINDER not in " ".join(e.detail for e in entries)
        later = await rig.say("mod: /agreements")
        assert "admitted before, out now: alice (until " in later
    finally:
        await rig.app.close()


async def test_dms_closed_reminder_goes_to_the_welcome_room(tmp_path: Path) -> None:
    welcome = "  welcome_room:\n    platform: console\n    name: welcome\n"
    rig = await started(tmp_path, gated(extra=welcome))
    try:
        out = await rig.say(":dms-closed erin", ":join erin")
        assert out.startswith("[#welcome] confidant → @erin: I could not reach you privately")
        assert REMINDER in out and "[#recovery]" not in out
        let_in = await rig.say(":room welcome", "erin: /agree")
        assert "[#recovery] (erin can now read the room)" in let_in
    finally:
        await rig.app.close()


async def test_member_added_by_hand_is_reminded_and_post_gated(tmp_path: Path) -> None:
    """A member inside without having asked (a moderator let them in): the reminder on the
    join as today, and the post gate until they agree."""
    rig = await started(tmp_path, gated())
    try:
        rig.console._readers.setdefault("recovery", set()).add("dan")  # in by hand
        out = await rig.say(":join dan")
        assert out.startswith("[private → dan] Welcome to recovery.")
        assert "hidden" in await rig.say("dan: hi")
        agreed = await rig.say(":dm dan /agree")
        assert "You can now read" not in agreed  # already inside: nothing to grant
        assert await rig.say("dan: hi") == ""
    finally:
        await rig.app.close()


async def test_post_gate_policies_keep_their_console_behaviour(tmp_path: Path) -> None:
    rig = await started(tmp_path, POLICY.replace("require_agreement: true", "gate: post"))
    try:
        out = await rig.say(":join alice")
        assert out.startswith("[private → alice] Welcome to recovery.")
        assert "hidden" in await rig.say("alice: hi")
    finally:
        await rig.app.close()


def _load(tmp: Path, text: str):  # type: ignore[no-untyped-def]
    from bot.policy import load_policy_dir

    write_policy(tmp / "policies", text)
    return load_policy_dir(tmp / "policies").policies[0].reminder


def test_gate_follows_require_agreement_and_fills_it_in(tmp_path: Path) -> None:
    old = _load(tmp_path / "a", POLICY)  # require_agreement: true, as policies always said
    assert (old.gate, old.require_agreement) == ("post", True)
    off = _load(
        tmp_path / "b", POLICY.replace("require_agreement: true", "require_agreement: false")
    )
    assert (off.gate, off.require_agreement) == ("none", False)
    read = _load(tmp_path / "c", gated("suspend"))
    assert (read.gate, read.require_agreement, read.reask) == ("read", True, "suspend")
    assert (read.history, read.welcome_room) == ("since_join", None)
    none = _load(tmp_path / "d", POLICY.replace("require_agreement: true", "gate: none"))
    assert (none.gate, none.require_agreement) == ("none", False)


def test_history_is_accepted_and_ignored_off_matrix(tmp_path: Path) -> None:
    reminder = _load(tmp_path, gated(extra="  history: any\n"))
    assert reminder.history == "any"


def test_read_gate_refusal_follows_the_platform_flag(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Flipping one entry of the table is all an adapter needs to have read gates accepted
    (Discord's is on: its adapter enforces them, tests/discord_live/test_adapter_read_gate.py)."""
    import pytest

    from bot.policy import PolicyLoadError, gate_support

    discord = (
        'name: circle\nrooms:\n  - platform: discord\n    id: "112233445566778899"\n'
        "reminder:\n  text: It stays here.\n  gate: read\n"
    )
    monkeypatch.setitem(gate_support.READ_GATE_SUPPORTED, "discord", False)
    with pytest.raises(PolicyLoadError, match="not yet available on Discord"):
        _load(tmp_path / "a", discord)
    monkeypatch.setitem(gate_support.READ_GATE_SUPPORTED, "discord", True)
    assert _load(tmp_path / "b", discord).gate == "read"


def test_confidant_check_accepts_console_and_matrix_read_gates(tmp_path: Path) -> None:
    """What an admin runs before handing a policy over says the same as the running bot:
    Matrix enforces read gates (knock and invite), so only what no platform allows is
    refused there."""
    from tests.test_cli import confidant

    drafts = tmp_path / "drafts"
    write_policy(drafts, gated("suspend"))
    ok = confidant("check", "drafts/circle.yaml", cwd=tmp_path)
    assert (ok.returncode, ok.stdout) == (0, "OK: 1 policies (circle)\n"), ok.stderr
    on_matrix = gated().replace(
        "platform: console\n    name: recovery", 'platform: matrix\n    alias: "#r:x.org"'
    )
    write_policy(drafts, on_matrix)
    accepted = confidant("check", "drafts/circle.yaml", cwd=tmp_path)
    assert (accepted.returncode, accepted.stdout) == (0, "OK: 1 policies (circle)\n")
    write_policy(drafts, on_matrix.replace("delivery: private", "delivery: rules_message"))
    refused = confidant("check", "drafts/circle.yaml", cwd=tmp_path)
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert not any("not yet available on Matrix" in line for line in lines)
    assert any("needs 'delivery: private' or 'both'" in line for line in lines)
    assert lines[0].startswith("drafts/circle.yaml:14:9: "), lines


async def test_agree_button_in_the_welcome_room_lets_in(tmp_path: Path) -> None:
    welcome = "  welcome_room:\n    platform: console\n    name: welcome\n"
    rig = await started(tmp_path, gated(extra=welcome))
    try:
        await rig.say(":dms-closed erin", ":join erin", ":room welcome")
        pressed = await rig.say(":press erin confidant:agree:circle")
        assert "[#recovery] (erin can now read the room)" in pressed
        assert "[only erin sees, #welcome] Thank you." in pressed
        assert await rig.app.store.has_access("console", "recovery", "erin")
    finally:
        await rig.app.close()


async def test_reload_to_a_read_gate_closes_the_room_at_once(tmp_path: Path) -> None:
    rig = await started(tmp_path, POLICY)
    try:
        await rig.say(":join alice")  # the bot has seen the room
        path = tmp_path / "policies" / "circle.yaml"
        path.write_text(gated())
        assert "Policies reloaded (changed)" in await rig.say("mod: /policy reload")
        shown = await rig.say("mod: /policy show")
        assert "read gate: newcomers read only after agreeing (changed text: keep_access)" in shown
        out = await rig.say(":join bob")
        assert out.startswith("[private → bob] Before you can read recovery")
        assert "cannot read #recovery yet" in await rig.say("bob: hi")
    finally:
        await rig.app.close()


async def test_access_rows_are_in_a_members_export_and_erased_with_their_data(
    tmp_path: Path,
) -> None:
    rig = await started(tmp_path, gated())
    try:
        await rig.say(":join alice", ":dm alice /agree")
        store = rig.app.store
        rows = (await store.member_records("console", "alice"))["room_access"]
        assert [(r["room_id"], r["policy"], r["ended_at"]) for r in rows] == [
            ("recovery", "circle", None)
        ]
        assert (await store.erase_member("console", "alice"))["room_access"] == 1
        assert not await store.has_access("console", "recovery", "alice")
    finally:
        await rig.app.close()
