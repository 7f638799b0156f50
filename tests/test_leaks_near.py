"""Near-verbatim quotes: a long quote with a word or two changed, dropped or swapped is still
flagged, through the bot's own decision code; ordinary messages that share short phrases
with a confidential message are not; and only keyed hashes are stored for it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.leaks.near import best_source, ordered_match
from tests.conftest import ConsoleRig
from tests.leak_rig import alerts, leak_rig, policy_with

SOURCE = (
    "after the meeting on thursday my brother admitted he had been drinking again every "
    "night since the funeral and he begged me not to tell our mother or anyone at church "
    "about it"
)
WORDS = SOURCE.split()  # 33 words


def quote(start: int, end: int, *, change: dict[int, str] | None = None,
          drop: int | None = None, swap: int | None = None) -> str:
    """Words ``start:end`` of SOURCE, edited by position (positions count in SOURCE)."""
    words = list(WORDS)
    for at, word in (change or {}).items():
        words[at] = word
    if swap is not None:
        words[swap], words[swap + 1] = words[swap + 1], words[swap]
    picked = [w for at, w in enumerate(words) if start <= at < end and at != drop]
    return "you won't believe it: " + " ".join(picked) + " so yeah"


async def share(rig: ConsoleRig, text: str = SOURCE, who: str = "alice") -> str:
    return await rig.say(":room recovery", f"{who}: {text}")


async def in_lobby(rig: ConsoleRig, text: str, who: str = "bob") -> list[str]:
    return alerts(await rig.say(":room lobby", f"{who}: {text}"))


# Every edit leaves no shared run of 12 words, so the main fingerprints alone miss it.
EVASIONS = {
    "one changed word in 20": quote(0, 20, change={9: "has"}),
    "one dropped word in 20": quote(0, 20, drop=9),
    "two adjacent words swapped in 20": quote(0, 20, swap=9),
    "two changed words in 30": quote(0, 30, change={9: "has", 20: "asked"}),
    "one changed word in 20, mid-message": quote(8, 28, change={17: "a"}),
}


@pytest.mark.parametrize("name", sorted(EVASIONS))
async def test_a_near_verbatim_quote_is_flagged(tmp_path: Path, name: str) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        [alert] = await in_lobby(rig, EVASIONS[name])
        assert alert.startswith("[alert → #mods] Possible leak from recovery (flag 1): a quote")
        [flag] = await rig.app.store.open_flags()
        assert (flag.source_room_id, flag.signal) == ("recovery", "quote")
        assert flag.matched >= 8


async def test_without_near_quotes_the_policy_misses_them(tmp_path: Path) -> None:
    """The edits really do defeat the main fingerprints: near matching is what finds them."""
    async with leak_rig(tmp_path, policy_with("near_quotes: false")) as rig:
        await share(rig)
        for text in EVASIONS.values():
            assert await in_lobby(rig, text) == []
        assert not [f for f in await rig.app.store.fingerprints() if f.scheme != "n2k11w2"]


async def test_ordinary_messages_sharing_short_phrases_are_not_flagged(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        ordinary = (
            # common phrases of the source, each alone or a few together, in other words
            "after the meeting on thursday I went straight home and slept",
            "my brother admitted he was wrong about the car, can you believe it",
            "every night since the funeral I light a candle, and I tell my mother about it",
            "he begged me not to tell our mother about the dent in the car, it was funny",
            "after the meeting on thursday we went bowling; he begged me not to tell anyone at "
            "work, and every night since the funeral of our cat he sleeps on the sofa",
        )
        for text in ordinary:
            assert await in_lobby(rig, text) == [], text
        assert await rig.app.store.open_flags() == []


async def test_shingles_out_of_order_or_from_two_messages_do_not_add_up(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        second = (
            "the doctor said the new medication could take six weeks before I notice any "
            "change in how I sleep at night"
        )
        await share(rig, second)
        first_part, second_part = " ".join(WORDS[11:20]), " ".join(second.split()[0:9])
        # nine words of each message: many near shingles of the room, few of either message
        assert await in_lobby(rig, f"{first_part} and then {second_part}") == []
        # three 9-word pieces of one message, backwards: they match, but not in order
        pieces = [" ".join(WORDS[at : at + 9]) for at in (22, 11, 0)]
        assert await in_lobby(rig, " / ".join(pieces)) == []
        # the same pieces in the source's order are a quote with two gaps
        assert len(await in_lobby(rig, " / ".join(reversed(pieces)), who="carol")) == 1


async def test_own_words_stay_exempt(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        assert await in_lobby(rig, EVASIONS["one changed word in 20"], who="alice") == []


async def test_near_rows_are_keyed_hashes_removed_with_their_message(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        await share(rig, "a short message of fewer than sixteen words keeps no near rows")
        rows = await rig.app.store.fingerprints()
        near = [row for row in rows if row.scheme == "n2k11w2n5"]
        assert len(near) == len(WORDS) - 4  # one per 5-word shingle of the long message only
        assert len({row.message for row in near}) == 1
        assert {row.message for row in near} < {row.message for row in rows}
        assert all(isinstance(row.fingerprint, int) and row.fingerprint >= 0 for row in near)
        watch = rig.app.core.leaks
        assert watch is not None
        await watch.erase_member("console", "alice")
        assert await rig.app.store.fingerprints() == []
        assert await in_lobby(rig, EVASIONS["one changed word in 20"]) == []


async def test_restart_keeps_near_quotes(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
    async with leak_rig(tmp_path) as rig:
        assert len(await in_lobby(rig, EVASIONS["one dropped word in 20"])) == 1


async def test_false_positive_stops_a_near_quote(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        assert len(await in_lobby(rig, EVASIONS["one changed word in 20"])) == 1
        out = await rig.say(":room mods", "mod: /flag false-positive 1")
        assert "Flag 1 is marked a false positive" in out
        assert await in_lobby(rig, EVASIONS["one changed word in 20"], who="dave") == []


CANARY = (
    "Quixotic zebras pirouette beneath turquoise lanterns while marmalade accordions hum "
    "fortissimo across Zanzibar every solstice evening until cantankerous flamingos applaud"
)
CANARY_WORDS = [word.casefold() for word in CANARY.split() if len(word) > 5]


async def test_near_quote_canary_is_nowhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    words = CANARY.split()
    edited = " ".join([*words[:9], "orange", *words[10:]])
    async with leak_rig(tmp_path) as rig:
        printed = await share(rig, CANARY)
        printed += await rig.say(":room lobby", f"bob: look {edited.lower()}!")
        printed += await rig.say(":room mods", "mod: /flags")
        assert len(alerts(printed)) == 1
        assert [r for r in await rig.app.store.fingerprints() if r.scheme == "n2k11w2n5"]
        db_files = [p for p in tmp_path.iterdir() if p.name.startswith("confidant.db")]
        for path in db_files:
            data = path.read_bytes().decode("utf-8", errors="replace").casefold()
            assert [w for w in CANARY_WORDS if w in data] == [], path.name
        assert [w for w in CANARY_WORDS if w in printed.casefold()] == []
    logged = caplog.text.casefold()
    assert caplog.records and [w for w in CANARY_WORDS if w in logged] == []


def test_ordered_match_keeps_the_longest_run_in_order() -> None:
    copy = [1, 2, 3, 4, 5, 6, 7, 8]
    assert ordered_match(copy, [1, 2, 3, 4, 5, 6, 7, 8]) == tuple(copy)
    assert ordered_match(copy, [9, 1, 2, 10, 4, 5]) == (1, 2, 4, 5)
    assert ordered_match(copy, [7, 8, 4, 5, 6, 1, 2]) == (4, 5, 6)  # blocks moved around
    assert ordered_match(copy, [8, 7, 6, 5]) in {(8,), (7,), (6,), (5,)}
    assert ordered_match(copy, [11, 12]) == ()
    assert best_source(copy, [[1, 2, 3], [4, 5, 6, 7], [3, 1]]) == (4, 5, 6, 7)


def test_near_shingles_span_only_words_of_spaced_scripts() -> None:
    from bot.leaks import Fingerprinter

    fingerprinter = Fingerprinter(bytes(range(32)))
    english = fingerprinter.tokens(SOURCE)
    assert len(fingerprinter.near_hashes(english)) == len(WORDS) - 4
    japanese = fingerprinter.tokens("いつもありがとうございます。今日もよろしくお願いします。" * 2)
    assert len(japanese) > 40 and fingerprinter.near_hashes(japanese) == ()
    mixed = fingerprinter.tokens(" ".join(WORDS[:10]) + " 東京 " + " ".join(WORDS[10:20]))
    # the two characters break every shingle that spans them: 6 + 6 remain
    assert len(fingerprinter.near_hashes(mixed)) == 12


async def test_a_long_message_in_a_script_without_spaces_keeps_no_near_rows(
    tmp_path: Path,
) -> None:
    async with leak_rig(tmp_path) as rig:
        said = "昨日の集まりのあと兄がまた毎晩お酒を飲んでいると打ち明けて"
        await share(rig, said + "母には言わないでと頼まれた")
        rows = await rig.app.store.fingerprints()
        assert rows and not [row for row in rows if row.scheme == "n2k11w2n5"]


async def test_the_store_groups_near_rows_per_message_in_stored_order(
    database: Path | str,
) -> None:
    """On both backends (rowid on SQLite, the identity ``position`` on PostgreSQL)."""
    from datetime import UTC, datetime

    from bot.store import open_store
    from bot.store.sqlite import StoredFingerprint

    store = await open_store(database, datetime(2026, 3, 1, tzinfo=UTC))
    try:
        def rows(values: list[int], author: bytes, message: bytes, room: str = "console:a"
                 ) -> list[StoredFingerprint]:
            return [StoredFingerprint(v, "n2k11w2n5", room, "p", 1, author, message)
                    for v in values]

        await store.add_fingerprints(rows([5, 3, 9, 1], b"x" * 16, b"m1" * 8))
        await store.add_fingerprints(rows([3, 4], b"y" * 16, b"m2" * 8))
        await store.add_fingerprints(rows([3, 5], b"z" * 16, b"m3" * 8, room="console:b"))
        found = await store.near_matches("n2k11w2n5", "console:a", [1, 3, 5, 4, 7], None)
        assert sorted(found) == [[3, 4], [5, 3, 1]]  # per message, in the order stored
        assert await store.near_matches("n2k11w2n5", "console:a", [3, 5], b"x" * 16) == [[3]]
        assert await store.near_matches("n2k11w2", "console:a", [3, 5], None) == []
    finally:
        await store.close()


async def test_an_edited_or_deleted_source_no_longer_matches_near(tmp_path: Path) -> None:
    from bot.events import Member, MessageDeleted, MessageEdited, MessagePosted, Room

    recovery = Room("console", "recovery", "recovery")
    alice = Member("console", "alice")
    async with leak_rig(tmp_path) as rig:
        core = rig.app.core
        await core.handle(MessagePosted(recovery, alice, "c1", SOURCE, rig.clock.now()))
        await core.handle(MessagePosted(recovery, alice, "c2", SOURCE, rig.clock.now()))
        await core.handle(MessageEdited(recovery, alice, "c1", "never mind", rig.clock.now()))
        assert len(await in_lobby(rig, EVASIONS["one dropped word in 20"])) == 1  # c2 holds it
        await core.handle(MessageDeleted(recovery, "c2", rig.clock.now()))
        assert await rig.app.store.fingerprints() == []
        assert await in_lobby(rig, EVASIONS["one changed word in 20"], who="carol") == []


async def test_a_quote_in_british_spelling_is_flagged(tmp_path: Path) -> None:
    """American spellings turned British (the benchmark's spelling row): four words of 30
    differ; the words between them still find the source, and the respelt words carry no
    stop: the copy with every respelling is flagged as one quote."""
    american = (
        "my mom realized last night that my favorite neighbor had seen me at the liquor "
        "store again and she asked me not to lie to her about it anymore please"
    )
    british = american.replace("mom realized", "mum realised").replace(
        "favorite neighbor", "favourite neighbour"
    )
    async with leak_rig(tmp_path) as rig:
        await share(rig, american)
        [alert] = await in_lobby(rig, f"wow, she said: {british}")
        assert alert.startswith("[alert → #mods] Possible leak from recovery (flag 1): a quote")
        for word in ("realised", "neighbour", "liquor"):
            assert word not in alert
