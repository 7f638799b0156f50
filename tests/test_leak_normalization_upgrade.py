"""Upgrading the normalisation never silently stops matching what was stored before.

Fingerprints cannot be recomputed (the text is gone), so rows say which normalisation made
them in their scheme ("k11w2" is version 1, "n2k11w2" version 2), each version's rows are
looked up with that version's frozen pipeline, and old rows age out by retention.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.leaks import Fingerprinter, LeakParams, author_key
from bot.leaks_flow.engines import (
    day_number,
    parse_scheme,
    scheme_name,
    scheme_of,
    stored_params,
)
from bot.policy.model import LeaksSpec
from bot.store.sqlite import StoredFingerprint
from tests.conftest import ConsoleRig
from tests.leak_rig import QUOTE, SHARED, alerts, leak_rig

KEY = b"an old deployment key, 32 bytes!"
# Texts fingerprinted by the code released before normalisation versions existed (commit
# 258989c), with KEY and k=11, w=2; the sha256 of its printed sorted values per text.
BEFORE_VERSIONS = (
    "I relapsed last weekend after my sister told me she never wants to see me again and I "
    "have not slept since",
    "Müller sagte: „Ich habe seit Wochen nicht geschlafen“ — und dann weinte er, ganz leise, "
    "allein",
    "Я наконец рассказал сестре, что уже много лет тайно пью и очень стыжусь этого",
    "ฉันเข้าใจนะ เพื่อนรัก ฉันอยู่ตรงนี้เสมอ ไม่ว่าจะเกิดอะไรขึ้น",
    "tоld her I'd stay, but the ｆｕｌｌｗｉｄｔｈ part and the zero\u200bwidth one are still here",
)
BEFORE_VERSIONS_SHA256 = "02d148785cb4f2d641651581e61656b3f03c0e6874a75e9f45028c59a8863abb"
LATER = (
    "my job interview went badly because I could not stop shaking and I think everyone in "
    "the room could see it"
)


def test_version_1_makes_the_fingerprints_the_old_code_made() -> None:
    params = LeakParams(k=11, w=2, min_matches=1, min_tokens_whole=11)
    printed = "".join(
        f"{sorted(Fingerprinter(KEY, params, normalization=1).fingerprints(text).values)}\n"
        for text in BEFORE_VERSIONS
    )
    assert hashlib.sha256(printed.encode()).hexdigest() == BEFORE_VERSIONS_SHA256


def test_scheme_names_carry_the_normalisation() -> None:
    assert scheme_of(LeaksSpec()) == "n2k11w2"
    assert scheme_name(11, 2, 1) == "k11w2"
    assert parse_scheme("k11w2") == (1, 11, 2)
    assert parse_scheme("n2k8w5") == (2, 8, 5)
    with pytest.raises(ValueError):
        parse_scheme("n0k11w2")
    with pytest.raises(ValueError):
        Fingerprinter(KEY, normalization=99)


async def store_as_before(rig: ConsoleRig, text: str, clock: FakeClock) -> None:
    """Rows exactly as the code before versions wrote them for alice's message in recovery."""
    key = rig.app.core.leak_key
    watch = rig.app.core.leaks
    assert key is not None and watch is not None
    spec = LeaksSpec(retention_days=30)
    values = Fingerprinter(key, stored_params(spec), normalization=1).fingerprints(text).values
    assert values
    message = watch.engines.message_hash("console", "recovery", "m-old")
    author = author_key(key, "console", "alice")
    day = day_number(clock.now())
    await rig.app.store.add_fingerprints(
        StoredFingerprint(value, "k11w2", "console:recovery", "circle", day, author, message)
        for value in values
    )


async def test_a_database_from_before_the_upgrade_still_flags_an_exact_copy(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with leak_rig(tmp_path, clock=clock) as rig:
        await rig.say(":room recovery", "alice: hello all")  # the bot knew the room
        await store_as_before(rig, SHARED, clock)
    async with leak_rig(tmp_path, clock=clock) as rig:  # the upgraded bot starts on it
        watch = rig.app.core.leaks
        assert watch is not None
        assert set(watch.engines.engines) == {"k11w2", "n2k11w2"}
        [alert] = alerts(await rig.say(":room lobby", f"bob: {QUOTE}"))
        assert "Possible leak from recovery" in alert

        # New confidential messages are stored under the new version only.
        await clock.advance(timedelta(days=20))
        await rig.say(":room recovery", f"carol: {LATER}")
        rows = await rig.app.store.fingerprints()
        carol = author_key(rig.app.core.leak_key or b"", "console", "carol")
        # (with its near rows, which are named after the new version's scheme)
        assert {r.scheme for r in rows if r.author == carol} == {"n2k11w2", "n2k11w2n5"}
        assert {r.scheme for r in rows} == {"k11w2", "n2k11w2", "n2k11w2n5"}
        [alert] = alerts(await rig.say(":room lobby", f"dave: {LATER.upper()}"))
        assert "from recovery" in alert

        # Retention ends the old rows, and their index with them; the new ones stay.
        await clock.advance(timedelta(days=11))
        await rig.app.runtime.tick()
        assert {r.scheme for r in await rig.app.store.fingerprints()} == {
            "n2k11w2",
            "n2k11w2n5",
        }
        assert set(watch.engines.engines) == {"n2k11w2"}
        assert alerts(await rig.say(":room lobby", f"erin: {QUOTE}")) == []
        assert len(alerts(await rig.say(":room lobby", f"frank: {LATER}"))) == 1


async def test_a_plain_copy_matches_both_versions_once(tmp_path: Path) -> None:
    """A copy of an old message and of a new one in the same post: one flag per room."""
    clock = FakeClock()
    async with leak_rig(tmp_path, clock=clock) as rig:
        await store_as_before(rig, SHARED, clock)
        await rig.say(":room recovery", f"carol: {LATER}")
        watch = rig.app.core.leaks
        assert watch is not None
        await watch.load()
        [alert] = alerts(await rig.say(":room lobby", f"bob: {QUOTE} and also {LATER}"))
        assert "from recovery" in alert
