"""Members' private reports to moderators on the console: anonymous and named, with and
without words, an answer that reaches the member privately, the rate limit, audit, and the
member's data rights. No report keeps the member's words or their plain id."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.builtin_commands import REPORT
from bot.checkins.sealing import SealBroken
from bot.commands import bind
from bot.events import CommandInvoked, Member, Room
from bot.ports import Capabilities
from bot.reports import read_request
from tests.checkin_rig import alerts_to, dm, file_block, private_to
from tests.conftest import POLICY, policy_rig, write_policy

WORDS = "someone retold my story about my brother in the lobby canary-7f3e"
RATE_POLICY = POLICY + "reports:\n  per_hour: 2\n"
THREAD_POLICY = POLICY.replace(
    "  delivery: private\n", "  delivery: private\n  fallback: private_thread\n"
)


def all_text(path: Path) -> str:
    """Every value of every row, as text and bytes decoded loosely."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [row for t in tables for row in db.execute(f"SELECT * FROM {t}").fetchall()]
    return " ".join(
        v.decode("latin-1") if isinstance(v, bytes) else str(v) for row in rows for v in row
    )


def only_sees(who: str, output: str) -> str:
    return "\n".join(line for line in output.splitlines() if line.startswith(f"[only {who} sees"))


async def test_anonymous_report_without_words_names_the_room_only(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        out = await rig.say(":room recovery", "alice: /report")
        assert "Your report (1) is with the moderators" in only_sees("alice", out)
        assert "They do not see who you are" in out
        [alert] = alerts_to("mods", out)
        assert "Report 1 from a member who asked to stay anonymous" in alert
        assert "about the room recovery" in alert
        assert "Where: console room recovery" in alert  # the room, as the console links it
        assert "They added no words of their own." in alert
        assert "/answer 1 <your answer>" in alert
        assert "alice" not in alert
        entries = await rig.app.store.audit_entries(policies=["circle"])
        assert [(e.actor_id, e.action, e.detail) for e in entries] == [
            ("(anonymous member)", "report.made", "report 1")
        ]
    assert "alice" not in all_text(tmp_path / "confidant.db")


async def test_named_report_with_words_shows_both_and_keeps_neither(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        out = await rig.say(":room recovery", f"alice: /report named {WORDS}")
        [alert] = alerts_to("mods", out)
        assert "Report 1 from console user alice" in alert
        assert "In their own words:" in alert and WORDS in alert
        assert "they stay anonymous" not in alert
        assert "They can see that it came from you" in only_sees("alice", out)
        assert WORDS not in only_sees("alice", out)
    stored = all_text(tmp_path / "confidant.db")
    assert "canary-7f3e" not in stored and "retold" not in stored


async def test_anonymous_words_reach_the_moderators_without_the_name(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        out = await rig.say(":room recovery", f"alice: /report anonymous {WORDS}")
        [alert] = alerts_to("mods", out)
        assert WORDS in alert and "alice" not in alert
        assert "asked to stay anonymous" in alert


async def test_answer_reaches_the_member_privately_and_only_them(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        await rig.say(":room recovery", "alice: /report")
        await rig.say(":mod mod")
        out = await rig.say(":room mods", "mod: /answer 1 Thank you, we removed it.")
        assert "on its way to the member's private messages" in only_sees("mod", out)
        private = private_to("alice", out)
        assert "A moderator answered your report 1:" in private
        assert "Thank you, we removed it." in private
        # nowhere else: no room post, no alert repeats the answer
        others = [line for line in out.splitlines() if "we removed it" in line]
        assert len(others) == 1
        entries = await rig.app.store.audit_entries(policies=["circle"])
        assert (entries[0].actor_id, entries[0].action, entries[0].detail) == (
            "mod",
            "report.answered",
            "report 1",
        )
    assert "we removed it" not in all_text(tmp_path / "confidant.db")


async def test_answer_to_closed_private_messages_says_so_honestly(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        await rig.say(":room recovery", "alice: /report", ":dms-closed alice", ":mod mod")
        out = await rig.say(":room mods", "mod: /answer 1 We are on it.")
        assert "[private → alice]" not in out
        [alert] = alerts_to("mods", out)
        assert "could not be delivered" in alert and "not posted anywhere else" in alert
        assert "We are on it" not in alert
        assert "[#recovery]" not in out  # never a room post naming the member


async def test_only_moderators_of_the_reports_policy_answer(tmp_path: Path) -> None:
    other = (
        POLICY.replace("name: circle", "name: grief")
        .replace("name: recovery", "name: grief-room")
        .replace("user: mod", "user: gmod")
        .replace("name: mods", "name: grief-mods")
    )
    write_policy(tmp_path / "policies", POLICY)
    write_policy(tmp_path / "policies", other, "grief.yaml")
    async with policy_rig(tmp_path, POLICY) as rig:
        await rig.say(":room recovery", "alice: /report")
        out = await rig.say("bob: /answer 1 hello")
        assert "Only moderators can use /answer." in out
        out = await rig.say(":room grief-mods", "gmod: /answer 1 hello")
        assert "There is no report 1 among the reports you moderate." in out
        assert "[private → alice]" not in out
        await rig.say(":mod mod")
        out = await rig.say(":room mods", "mod: /answer 99 hello")
        assert "There is no report 99" in out


async def test_rate_limit_is_kind_and_frees_up_after_an_hour(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, RATE_POLICY) as rig:
        first = await rig.say(":room recovery", "alice: /report", "alice: /report")
        assert len(alerts_to("mods", first)) == 2
        await rig.clock.advance(timedelta(minutes=20))
        out = await rig.say("alice: /report named please look")
        assert alerts_to("mods", out) == []
        refused = only_sees("alice", out)
        assert "You have sent 2 reports in the last hour" in refused
        assert "about 40 minutes" in refused and "was not sent" in refused
        # another member is not held back by alice's reports
        assert len(alerts_to("mods", await rig.say("bob: /report"))) == 1
        await rig.clock.advance(timedelta(minutes=41))
        assert len(alerts_to("mods", await rig.say("alice: /report"))) == 1


async def test_mydata_lists_reports_and_forgetme_erases_them(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        await rig.say(":room recovery", "alice: /report named hello", "bob: /report")
        await rig.say(":mod mod", ":room mods", "mod: /answer 1 thanks")
        out = await rig.say(*dm("alice", "/mydata"))
        data = json.loads(file_block(private_to("alice", out), "confidant-mydata.json"))
        [report] = data["reports"]
        assert report["id"] == 1 and report["named"] is True and report["answers"] == 1
        assert "hello" not in json.dumps(report)
        await rig.say(*dm("alice", "/forgetme confirm"))
        assert (
            await rig.app.store.member_reports_of(
                rig.app.core.reports.member_key("console", "alice")  # type: ignore[union-attr]
            )
            == []
        )
        # bob's report stays; an answer to alice's erased one reaches nobody
        out = await rig.say(":room mods", "mod: /answer 1 still there?")
        assert "There is no report 1" in out and "[private → alice]" not in out
        out = await rig.say("mod: /answer 2 thanks bob")
        assert "[private → bob]" in out


async def test_report_in_a_private_chat_goes_to_the_members_community(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        await rig.say(":room recovery", ":join alice")
        out = await rig.say(*dm("alice", "/report something worries me"))
        [alert] = alerts_to("mods", out)
        assert "not about one place in particular" in alert
        assert "something worries me" in alert


def test_text_lines_are_read_in_any_order() -> None:
    """A member need not remember an order: named first, a link anywhere, words around."""
    room, member = Room("matrix", "!r:x"), Member("matrix", "@a:x")
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def read(*argv: str) -> tuple[bool, bool, str | None]:
        event = CommandInvoked(room, member, "report", at, argv=argv)
        return read_request(event, bind(REPORT, argv))

    assert read() == (False, False, None)
    assert read("he", "retold", "it") == (False, False, "he retold it")
    assert read("named", "https://matrix.to/#/!r:x/$e", "see") == (True, True, "see")
    assert read("https://matrix.to/#/!r:x/$e") == (True, False, None)
    assert read("anonymous", "please", "look") == (False, False, "please look")
    assert read(*("word",) * 50)[2] == " ".join(("word",) * 50)


def test_discord_options_are_read_as_given() -> None:
    who = Member("discord", "2")
    event = CommandInvoked(Room("discord", "1"), who, "report", datetime.now(UTC))
    args = {"link": "https://discord.com/channels/1/2/3", "name": "named", "words": "look"}
    assert read_request(event, args) == (True, True, "look")
    assert read_request(event, {}) == (False, False, None)


async def test_closed_dms_named_report_answered_in_a_private_thread(tmp_path: Path) -> None:
    """The policy's private-thread fallback reaches a member who chose to be named; an
    anonymous member is never put in a thread the moderators could see."""
    async with policy_rig(tmp_path, THREAD_POLICY) as rig:
        await rig.say(":room recovery", "alice: /report named", "bob: /report", ":room mods")
        await rig.say(":dms-closed alice", ":dms-closed bob")
        out = await rig.say("mod: /answer 1 We saw it.")
        assert "a private thread with them" in only_sees("mod", out)
        assert "[#recovery, private thread with alice] confidant → @alice:" in out
        assert "We saw it." in out and alerts_to("mods", out) == []
        out = await rig.say("mod: /answer 2 We saw it too.")
        assert "private thread" not in out
        [note] = alerts_to("mods", out)
        assert "could not be delivered" in note and "We saw it too" not in note


async def test_a_room_that_saw_the_line_is_named_in_the_thanks(tmp_path: Path) -> None:
    """Without ephemeral replies (Matrix) the room saw what was typed: the member hears so,
    and where to report unseen next time; in the private chat there is nothing to say."""
    async with policy_rig(tmp_path, POLICY) as rig:
        rig.app.core.capabilities = {"console": Capabilities(ephemeral_replies=False)}
        out = await rig.say(":room recovery", "alice: /report")
        assert "This room could see the /report line you typed" in out
        out = await rig.say(*dm("alice", "/report"))
        assert "Your report (2)" in out and "could see" not in out


async def test_the_sealed_member_opens_only_for_its_own_report(tmp_path: Path) -> None:
    """The member's id is stored sealed under the report's id: copied onto another row (or
    read without the key) it names nobody, and the keyed hash is not the id either."""
    async with policy_rig(tmp_path, POLICY) as rig:
        await rig.say(":room recovery", "alice: /report", "bob: /report")
        store, reports = rig.app.store, rig.app.core.reports
        assert reports is not None
        first, second = await store.member_report(1), await store.member_report(2)
        assert first is not None and second is not None
        assert reports.sealer.open(1, "report-member/console", first.member_sealed) == "alice"
        with pytest.raises(SealBroken):
            reports.sealer.open(2, "report-member/console", first.member_sealed)
        assert b"alice" not in first.member_sealed + first.member_key
        assert first.room_id is None  # anonymous: no room kept
