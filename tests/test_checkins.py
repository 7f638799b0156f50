"""Private check-ins on the console: consent, questions, skip/stop/timeout, crisis resources,
contact only after a yes, /claim, history, stats, export, erase, encryption, restarts."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot.actions import (
    AlertModerators,
    Attachment,
    Button,
    Option,
    ReplyToInvoker,
    Select,
    SendPrivate,
)
from bot.app import build_registry
from bot.checkins.sealing import SealBroken, Sealer, derive_key
from bot.clock import FakeClock
from bot.events import ChoiceMade, CommandInvoked, Member, PrivateReply, Room
from bot.leaks import author_key
from bot.ports import Capabilities
from tests.checkin_rig import (
    CHECKIN_POLICY,
    alerts_to,
    checkin_rig,
    dm,
    file_block,
    private_to,
)
from tests.conftest import POLICY, ConsoleRig, make_config, start_rig
from tests.leak_rig import SHARED

AGREE = (":room recovery", "alice: /checkin", ":dm alice agree")


def db_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, read with a separate connection."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in tables}


async def answered(rig: ConsoleRig, *answers: str, who: str = "alice") -> str:
    return await rig.say(*dm(who, *answers))


async def test_whole_flow_consent_questions_and_finish(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        out = await rig.say(":room recovery", "alice: /checkin")
        assert "[only alice sees, #recovery] Your check-in continues in our private chat." in out
        intro = private_to("alice", out)
        assert "only you can" in intro and "kept for 90 days" in intro and "stop" in intro
        assert "agree or decline" in intro and "[#recovery]" not in out
        out = await answered(rig, "agree")
        assert "Question 1 of 4: How is your mood today?" in out and "1 (very low)" in out
        out = await answered(rig, "4", "y", "friends", "went to the lake")
        assert "Question 2 of 4" in out and "Question 4 of 4" in out
        assert "Thank you for checking in" in out
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.status == "complete"
        rows = await rig.app.store.checkin_answers(checkin.id)
        assert [r.question_id for r in rows] == ["mood", "slept", "support", "note"]
        sealer = rig.app.core.checkins.sealer  # type: ignore[union-attr]
        opened = [sealer.open(checkin.id, r.question_id, r.sealed) for r in rows if r.sealed]
        assert opened == [4, "yes", "friends", "went to the lake"]
        # consent is asked once: the next check-in starts with the questions
        assert "Question 1 of 4" in await rig.say(*dm("alice", "/checkin"))


async def test_unclear_answers_are_asked_again_and_labels_count(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        out = await answered(rig, "9")
        assert "did not understand" in out and "Question 2" not in out
        assert "Question 2 of 4" in await answered(rig, "Very good")
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.step == 1


async def test_declined_consent_stores_nothing(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        before = db_rows(rig.app.store.path)
        out = await rig.say(*dm("alice", "/checkin", "decline"))
        assert "Nothing about it was recorded" in out
        after = db_rows(rig.app.store.path)
        assert after == before
        assert not any("alice" in repr(rows) for rows in after.values())
        # a later private message is no longer read as a consent answer
        assert await rig.say(*dm("alice", "agree")) == ""


async def test_skip_and_stop_keep_what_was_answered(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        out = await answered(rig, "skip", "no", "stop")
        assert "Question 3 of 4" in out and "Check-in stopped" in out
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.status == "stopped"
        rows = await rig.app.store.checkin_answers(checkin.id)
        assert [(r.question_id, r.skipped) for r in rows] == [("mood", True), ("slept", False)]
        assert await answered(rig, "hello") == ""  # nothing open any more


async def test_timeout_closes_a_half_finished_checkin(tmp_path: Path) -> None:
    clock = FakeClock()
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await rig.say(*AGREE)
        await answered(rig, "3")
        await clock.advance(timedelta(minutes=19))
        await rig.app.runtime.tick()
        assert "closed after" not in rig.out.getvalue()
        await clock.advance(timedelta(minutes=2))
        start = len(rig.out.getvalue())
        await rig.app.runtime.tick()
        out = rig.out.getvalue()[start:]
        assert "[private → alice] Your check-in closed after 20 minutes" in out
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.status == "timed_out"
        assert [r.question_id for r in await rig.app.store.checkin_answers(checkin.id)] == [
            "mood"
        ]


async def test_a_late_reply_is_not_taken_as_an_answer(tmp_path: Path) -> None:
    clock = FakeClock()
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await rig.say(*AGREE)
        await clock.advance(timedelta(minutes=25))
        out = await answered(rig, "5")
        assert "closed after 20 minutes" in out
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.status == "timed_out"
        assert await rig.app.store.checkin_answers(checkin.id) == []


async def test_crisis_keyword_shows_resources_and_nobody_is_told_on_no(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        out = await answered(rig, "3", "yes", "nothing", "I feel HOPELESS today")
        assert "Samaritans - 116 123 - https://www.samaritans.org" in out
        assert "peer supporter to contact you" in out
        assert alerts_to("supporters", out) == []
        out = await answered(rig, "no")
        assert "nobody is told" in out and "Thank you for checking in" in out
        assert alerts_to("supporters", rig.out.getvalue()) == []
        assert await rig.app.store.member_escalations("console", "alice") == []
        # German keyword from the same policy, typed where a number was expected
        out = await rig.say(*dm("alice", "/checkin", "hoffnungslos"))
        assert "Samaritans" in out and "Question 1 of 4" in out


async def test_escalation_after_yes_carries_only_who_asked(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        out = await answered(rig, "1")
        assert "Samaritans" in out and alerts_to("supporters", out) == []
        out = await answered(rig, "yes")
        assert alerts_to("supporters", out) == []  # sharing is asked first
        out = await answered(rig, "no")
        [alert] = alerts_to("supporters", out)
        assert "Contact request 1: console user alice asked a peer supporter" in alert
        assert "/claim 1" in alert
        assert "mood" not in alert.casefold() and "very low" not in alert
        assert "Question 2 of 4" in out  # the check-in goes on
        out = await answered(rig, "no", "meeting", "my private note")
        assert alerts_to("supporters", out) == [] and "my private note" not in alert
        [request] = await rig.app.store.member_escalations("console", "alice")
        assert (request.shared, request.claimed_by) == (False, None)


async def test_shared_answers_reach_supporters_when_the_member_says_so(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        out = await answered(rig, "1", "yes", "yes")
        [alert] = alerts_to("supporters", out)
        assert "They chose to share" in alert and "How is your mood today? 1 (very low)" in alert


async def test_duty_to_warn_is_in_the_intro_and_told_when_it_applies(tmp_path: Path) -> None:
    rule = "  duty_to_warn: If you tell us you will harm someone, a supporter is told.\n"
    async with checkin_rig(tmp_path, CHECKIN_POLICY + rule) as rig:
        out = await rig.say(*AGREE[:2])
        assert "If you tell us you will harm someone" in private_to("alice", out)
        out = await answered(rig, "agree", "1")
        assert "duty-to-warn rule applies" in out
        [alert] = alerts_to("supporters", out)
        assert "duty-to-warn" in alert and "very low" not in alert
        assert "Question 2 of 4" in out


async def test_claim_gives_one_winner_and_refuses_non_supporters(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        await answered(rig, "1", "yes", "no")
        out = await rig.say(":room supporters", "bob: /claim 1")
        assert "Only peer supporters can use /claim." in out
        core, room, at = rig.app.core, Room("console", "supporters", "supporters"), clock_now(rig)
        claims = [
            core.handle(CommandInvoked(room, Member("console", who), "claim", at, argv=("1",)))
            for who in ("sam", "sue")
        ]
        results = await asyncio.gather(*claims)
        replies = [a.text for actions in results for a in actions if isinstance(a, ReplyToInvoker)]
        assert sum("is yours" in r for r in replies) == 1
        assert sum("already claimed" in r for r in replies) == 1
        told = [a for actions in results for a in actions if isinstance(a, SendPrivate)]
        assert [a.member.id for a in told] == ["alice"]
        [request] = await rig.app.store.member_escalations("console", "alice")
        assert request.claimed_by in ("console:sam", "console:sue")


def clock_now(rig: ConsoleRig):  # type: ignore[no-untyped-def]
    return rig.clock.now()


async def test_claim_race_between_two_store_connections(tmp_path: Path) -> None:
    """Two processes on one database: the conditional UPDATE still lets one win."""
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        await answered(rig, "1", "yes", "no")
        other = await type(rig.app.store).open(rig.app.store.path, rig.clock.now())
        try:
            results = await asyncio.gather(
                *(
                    store.claim_escalation(1, who, rig.clock.now())
                    for _ in range(5)
                    for store, who in ((rig.app.store, "console:sam"), (other, "console:sue"))
                )
            )
        finally:
            await other.close()
        assert results.count(True) == 1


async def test_history_shows_own_entries_with_a_sparkline(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        await answered(rig, "5", "stop")
        for mood in ("3", "skip", "1"):
            await rig.say(*dm("alice", "/checkin", mood, "stop"))
        await rig.say(*dm("alice", "no"))  # the contact offer after the 1
        await rig.say(":room recovery", "bob: /checkin", *dm("bob", "agree", "2", "stop"))
        out = await rig.say(":room recovery", "alice: /checkin history")
        assert "[only alice sees, #recovery] Sent to you privately." in out
        history = private_to("alice", out)
        assert "Mood, oldest to newest: █▅·▁" in history
        assert "5 (very good)" in history and "(stopped)" in history
        assert "2 (low)" not in history  # bob's answer


async def test_stats_show_counts_and_no_answers_or_names(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        await answered(rig, "2", "yes", "sponsor", "a canary-note")
        await rig.say(":room recovery", "carol: /checkin", ":dm carol agree", ":dm carol stop")
        out = await rig.say(":room recovery", "mod: /checkin stats")
        assert "2026-W02: 2 check-ins, 1 finished, 0 asked for contact" in out
        for secret in ("alice", "carol", "sponsor", "canary", "(low)"):
            assert secret not in out
        await rig.say(":room recovery", "dave: /checkin", *dm("dave", "agree", "1", "yes", "no"))
        out = await rig.say(":room recovery", "mod: /checkin stats")
        assert "3 check-ins, 1 finished, 1 asked for contact" in out
        assert "1: console user dave" in out and "alice" not in out and "carol" not in out
        [entry, *_] = await rig.app.store.audit_entries(1)
        assert entry[3] == "checkin stats"


async def test_members_are_refused_moderator_and_supporter_commands(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        out = await rig.say(":room recovery", "alice: /checkin stats", "alice: /claim 1")
        assert "Only moderators can use /checkin stats." in out
        assert "Only peer supporters can use /claim." in out
        assert "check-ins" not in out.casefold().replace("only moderators", "")


async def test_export_contains_exactly_the_members_data(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(":room recovery", ":join alice", ":join bob", "alice: /agree")
        await rig.say(*AGREE)
        await answered(rig, "1", "yes", "no", "no", "meeting", "alice-canary")
        await rig.say("bob: /checkin", ":dm bob agree", ":dm bob 4", ":dm bob bob-canary")
        await rig.say(":dm bob skip", ":dm bob skip", ":dm bob bob-canary")
        out = await rig.say(":room recovery", "alice: /mydata")
        text = private_to("alice", out)
        assert "attached file confidant-mydata.json (JSON)" in text
        assert "[#recovery]" not in out and '"checkins"' not in out.split("[file:")[0]
        data = json.loads(file_block(text, "confidant-mydata.json"))
        assert data["member"] == {"platform": "console", "id": "alice"}
        [checkin] = data["checkins"]
        assert [a.get("answer") for a in checkin["answers"]] == [
            "1 (very low)", "no", "meeting", "alice-canary"
        ]
        assert [r["answers_shared"] for r in data["contact_requests"]] == [False]
        assert [c["policy"] for c in data["checkin_consents"]] == ["circle"]
        assert len(data["agreements"]) == 1 and data["memberships"][0]["room_id"] == "recovery"
        assert "bob" not in json.dumps(data)
        assert data["fingerprints_linked"] == 0
        [entry, *_] = await rig.app.store.audit_entries(1)
        assert (entry[2], entry[3], entry[4]) == ("alice", "mydata", "export sent")


async def test_forgetme_leaves_no_row_of_the_member(tmp_path: Path) -> None:
    member = "zed-7731"
    async with checkin_rig(tmp_path) as rig:
        await rig.say(":room recovery", f":join {member}", f"{member}: /agree")
        await rig.say(f"{member}: {SHARED}")
        await rig.say(f"{member}: /checkin", *dm(member, "agree", "1", "yes", "yes", "no"))
        await rig.say(":room supporters", "sam: /claim 1", f":dm {member} /mydata")
        key = rig.app.key
        author = author_key(key, "console", member)
        assert await rig.app.store.count_author_fingerprints(author) > 0
        out = await rig.say(*dm(member, "/forgetme"))
        assert "forgetme confirm" in out
        assert any(member in repr(rows) for rows in db_rows(rig.app.store.path).values())
        out = await rig.say(*dm(member, "/forgetme confirm"))
        assert "erased" in out
        rows = db_rows(rig.app.store.path)
        assert set(rows) >= {"checkins", "checkin_answers", "checkin_escalations", "audit_log"}
        for table, table_rows in rows.items():
            assert member not in repr(table_rows), table
        assert rows["checkin_answers"] == [] and rows["checkins"] == []
        with sqlite3.connect(rig.app.store.path) as db:
            [(left,)] = db.execute("SELECT COUNT(*) FROM fingerprints WHERE author = ?", (author,))
        assert left == 0
        [entry, *_] = await rig.app.store.audit_entries(1)
        assert (entry[2], entry[3]) == ("(erased member)", "forgetme")
        # sam's claim stays, without the member
        assert any("claim" in repr(r) for r in rows["audit_log"])


async def test_canary_answers_never_reach_the_database_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "canary-blue-giraffe-4471"
    caplog.set_level(logging.DEBUG)
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*AGREE)
        await answered(rig, "2", "no", "sponsor", f"{canary} hopeless", "yes", "yes")
        await rig.say(":room supporters", "sam: /claim 1")
        await rig.say(*dm("alice", "/checkin history", "/mydata"))
        assert canary in rig.out.getvalue()  # the member sees it, and the supporters (shared)
        path = rig.app.store.path
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if file.exists():
                raw = file.read_bytes()
                assert canary.encode() not in raw, file.name
                assert b"sponsor" not in raw, file.name
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert canary not in logged and "sponsor" not in logged
    assert caplog.records  # the check-in did log (without content)


def test_sealing_is_keyed_and_bound_to_its_row() -> None:
    key = bytes(range(32))
    sealed = Sealer(key).seal(7, "note", "hello")
    assert Sealer(key).open(7, "note", sealed) == "hello"
    assert derive_key(key) != key
    assert b"hello" not in sealed
    with pytest.raises(SealBroken):
        Sealer(key).open(8, "note", sealed)
    with pytest.raises(SealBroken):
        Sealer(bytes(32)).open(7, "note", sealed)
    with pytest.raises(SealBroken):
        Sealer(key).open(7, "note", sealed[:20])  # shorter than a nonce and a tag
    tampered = bytearray(sealed)
    tampered[14] ^= 1
    with pytest.raises(SealBroken):
        Sealer(key).open(7, "note", bytes(tampered))


# Sealed by the first implementation (the `cryptography` package's AESGCM and HKDF) with
# key bytes(range(32)): answers already in members' databases must keep opening.
SEALED_BEFORE = {
    (7, "mood", "Ünïcode answer 4"): "9b87a0aa58bfdaf48b095875c6313059ad559970f4930ec1b383df9fed5c"
    "6084cbfa32bf2aa0a6cfeba55be6590fb1d18fc2bed4583c0f",
    (7, "n", 3): "01133ccab259d712eaf37c12f9cb60a1ef079b878fbf2da19f4aa9974f7e08ece4d2a12d",
}


def test_answers_sealed_by_the_earlier_implementation_still_open() -> None:
    sealer = Sealer(bytes(range(32)))
    for (checkin_id, question_id, answer), sealed in SEALED_BEFORE.items():
        assert sealer.open(checkin_id, question_id, bytes.fromhex(sealed)) == answer


async def test_restart_mid_checkin_resumes_with_no_lost_answer(tmp_path: Path) -> None:
    clock = FakeClock()
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await rig.say(*AGREE)
        await answered(rig, "4", "yes")
    rig = await start_rig(make_config(tmp_path), clock)
    try:
        out = rig.out.getvalue()
        assert "continues where you left off" in out and "Question 3 of 4" in out
        out = await answered(rig, "friends", "done")
        assert "Thank you for checking in" in out
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.status == "complete"
        rows = await rig.app.store.checkin_answers(checkin.id)
        assert [r.question_id for r in rows] == ["mood", "slept", "support", "note"]
    finally:
        await rig.app.close()


async def test_restart_after_the_timeout_closes_cleanly(tmp_path: Path) -> None:
    clock = FakeClock()
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await rig.say(*AGREE)
        await answered(rig, "4")
    await clock.advance(timedelta(hours=1))
    rig = await start_rig(make_config(tmp_path), clock)
    try:
        out = rig.out.getvalue()
        assert "closed after 20 minutes" in out and "Question" not in out
        [checkin] = await rig.app.store.member_checkins("console", "alice", 5)
        assert checkin.status == "timed_out"
        assert len(await rig.app.store.checkin_answers(checkin.id)) == 1
    finally:
        await rig.app.close()


async def test_buttons_where_the_platform_has_them(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        core = rig.app.core
        core.capabilities = {"console": Capabilities(buttons=True)}
        dm_room = Room("console", "dm:alice", "dm", is_private_chat=True)
        alice, at = Member("console", "alice"), rig.clock.now()
        [intro] = await core.handle(CommandInvoked(dm_room, alice, "checkin", at))
        assert isinstance(intro, SendPrivate) and [b.label for b in intro.buttons] == [
            "agree", "decline"
        ]
        [question] = await core.handle(ChoiceMade(dm_room, alice, intro.buttons[0].id, at))
        assert isinstance(question, SendPrivate) and question.select is not None  # 7 choices
        [after] = await core.handle(ChoiceMade(dm_room, alice, question.select.id, at, ("4",)))
        assert isinstance(after, SendPrivate) and [b.label for b in after.buttons][:2] == [
            "yes", "no"
        ]
        # another member's press on alice's buttons does nothing
        bob = Member("console", "bob")
        assert await core.handle(ChoiceMade(dm_room, bob, after.buttons[0].id, at)) == []
        assert await core.handle(PrivateReply(dm_room, alice, "stop", at)) != []
        assert not any(isinstance(a, AlertModerators) for a in [intro, question, after])


async def test_a_checkin_started_in_a_room_offers_consent_buttons_privately(
    tmp_path: Path,
) -> None:
    """The core has no handle on the member's private chat when /checkin comes from a room;
    the intro still carries its Agree/Decline choices, and a press on them starts it."""
    async with checkin_rig(tmp_path) as rig:
        core = rig.app.core
        core.capabilities = {"console": Capabilities(buttons=True)}
        room, alice = Room("console", "recovery", "recovery"), Member("console", "alice")
        at = rig.clock.now()
        [intro] = await core.handle(CommandInvoked(room, alice, "checkin", at))
        assert isinstance(intro, SendPrivate) and intro.member == alice
        [ack] = intro.then  # said only once the intro was delivered
        assert isinstance(ack, ReplyToInvoker) and "continues in our private chat" in ack.text
        assert intro.text.startswith("Private check-in")
        assert [(b.id, b.label) for b in intro.buttons] == [
            ("confidant:checkin:alice:agree", "agree"),
            ("confidant:checkin:alice:decline", "decline"),
        ]
        dm_room = Room("console", "dm:alice", "dm", is_private_chat=True)
        [first] = await core.handle(ChoiceMade(dm_room, alice, intro.buttons[0].id, at))
        assert isinstance(first, SendPrivate) and first.text.startswith("Question 1 of 4")
        assert await rig.app.store.checkin_consent("console", "alice", "circle") is not None


async def test_console_prints_private_choices_and_files(tmp_path: Path) -> None:
    """A terminal has neither buttons nor files: both become text the tester can read."""
    out = io.StringIO()
    console = ConsoleAdapter(build_registry(), FakeClock(), out=out)
    alice = Member("console", "alice")
    await console.perform(
        SendPrivate(alice, "Pick one", buttons=(Button("confidant:x:a", "agree"),))
    )
    await console.perform(
        SendPrivate(alice, "Or", select=Select("confidant:x", (Option("1", "one"),)))
    )
    data = json.dumps({"a": [1, 2]}, indent=2).encode()
    await console.perform(
        SendPrivate(alice, "Your file", attachment=Attachment("x.json", "application/json", data))
    )
    text = out.getvalue()
    assert "[private → alice] Pick one\n    [buttons: agree]\n" in text
    assert "[private → alice] Or\n    [select: one]\n" in text
    assert json.loads(file_block(text, "x.json")) == {"a": [1, 2]}
    assert f"[file: x.json, application/json, {len(data)} bytes]" in text
    assert "data=" not in repr(Attachment("x.json", "application/json", data))


async def test_policy_show_describes_checkins_without_member_data(tmp_path: Path) -> None:
    rule = "  duty_to_warn: If you tell us you will harm someone, a supporter is told.\n"
    async with checkin_rig(tmp_path, CHECKIN_POLICY + rule) as rig:
        await rig.say(*AGREE)
        await answered(rig, "1", "yes", "yes", "sponsor", "canary-in-policy-show")
        out = await rig.say(":room recovery", "mod: /policy show")
        assert "[only mod sees, #recovery] Policy circle" in out
        assert "check-ins: 4 questions, each may be skipped:" in out
        assert "mood: How is your mood today? (scale 1-5)" in out
        assert "slept: Did you sleep well? (yes/no)" in out
        assert "support: What helped most this week? (choice: meeting, sponsor, friends," in out
        assert "note: Anything you want to note for yourself? (free text)" in out
        assert "kept 90 days; a silent check-in closes after 20 minutes" in out
        assert "crisis resources: 1, shown on keywords in de, en and 1 answer threshold\n" in out
        assert "peer supporters: 2, contact requests go to console:supporters" in out
        assert "duty to warn: yes" in out
        shown = out.split("Policy circle", 1)[1]
        for member_data in ("alice", "canary", "very low", "Contact request"):
            assert member_data not in shown
    async with checkin_rig(tmp_path / "plain", POLICY) as rig:
        out = await rig.say(":room recovery", "mod: /policy show")
        assert "check-ins: off" in out and "duty to warn" not in out
