"""Crash safety: the bot, as its own process on a real Synapse and the Discord fake, is killed
with SIGKILL at seeded points of a scripted stream of member events and restarted each time.
Afterwards, from what members and moderators received: every join was reminded exactly once,
no check-in answer the bot acknowledged is missing from its store, and no leak was alerted
twice. ``benchmarks/crash_harness.py`` runs the same harness with 10,000 events and 20 kills.
Bugs it found in the bot have their regression tests in tests/test_crash_replays.py, and here
(the one that needs a homeserver).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

import pytest

from adapters.matrix.homeserver import LocalSynapse
from tests.crash.harness import Options, run_harness
from tests.crash.script import VOCABULARY, Kind, make_script
from tests.crash.verify import Report
from tests.matrix_live.rig import create_world, poll_until, say, wait_until

SEED = 8


def explain(report: Report) -> str:
    """What a failure needs to be understood: the broken invariants, who, and transcripts."""
    details = report.details
    lines = [*report.violations(), json.dumps(report.headline())]
    for name in (
        "never_reminded_members",
        "duplicate_reminder_members",
        "matrix_duplicate_reminders_in",
        "lost",
        "step_errors",
    ):
        lines.append(f"{name}: {details.get(name)}")
    lines += details.get("transcripts", [])
    return "\n".join(lines)


@pytest.mark.timeout(240)
async def test_a_killed_bot_keeps_every_promise(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Member clients cannot decrypt each other's posts (keys go to the bot only); nio
    # warns about every one, and formatting those warnings would slow the run down.
    caplog.set_level(logging.ERROR, logger="nio")
    options = Options(seed=SEED, events=300, kills=3, regulars=3)
    run = await run_harness(options, synapse, tmp_path, progress=print)  # shown on failure
    report = run.report
    assert report.kills == 3
    assert report.violations() == [], explain(report)
    # The run did exercise what the invariants are about.
    assert report.joins >= 12 + 2 * 3, report.details
    assert report.reminders == report.joins
    assert report.acknowledged_answers >= 4, report.details
    assert report.flags >= 1, report.details
    assert report.details["bot_exited_on_its_own"] == 0


def test_the_script_and_the_kill_points_follow_from_the_seed() -> None:
    first, again, other = make_script(5, 500, 4), make_script(5, 500, 4), make_script(6, 500, 4)
    assert first.steps == again.steps and first.kills == again.kills
    assert first.digest() == again.digest() != other.digest()
    assert len(first.kills) == 4 and len({k.after for k in first.kills}) == 4
    assert all(first.count(kind) > 0 for kind in Kind)
    # joins come before their agreements; every quote copies an earlier circle post
    joined = {s.member: s.index for s in first.steps if s.kind is Kind.JOIN}
    assert all(joined[s.member] < s.index for s in first.steps if s.kind is Kind.AGREE)
    for quote in (s for s in first.steps if s.kind is Kind.QUOTE):
        source = first.steps[quote.source]
        assert source.kind is Kind.POST and source.room == "circle" and source.index < quote.index
        assert " ".join(quote.text.split()[-14:]) in source.text


async def test_a_burst_of_posts_between_two_syncs_reaches_the_bot_whole(
    synapse: LocalSynapse, tmp_path: Path, matrix_client
) -> None:
    """Found by the crash harness: quotes of some circle posts were never flagged because
    the bot never saw those posts. A sync returns at most a room's last few events (ten,
    unless the filter asks for more) and says the rest were left out; the bot took what
    came, so a busy room (or the minutes a restart takes) lost messages: not fingerprinted,
    not held back, commands and check-in answers unseen."""
    world = await create_world(synapse, tmp_path, matrix_client)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined the circle")
        assert world.app is not None
        store = world.app.store

        async def indexed() -> int:
            return len({f.message for f in await store.fingerprints()})

        posts = [
            " ".join(VOCABULARY[(n * 7 + i) % len(VOCABULARY)] for i in range(14))
            for n in range(40)
        ]
        # The moderator is never held back; 40 posts at once outrun any one sync.
        await asyncio.gather(*(say(world.mod, world.room_id, text) for text in posts))

        async def all_seen() -> bool:
            return await indexed() == len(posts)

        with contextlib.suppress(AssertionError):  # the count below says how many were lost
            await poll_until(all_seen, "every post of the burst fingerprinted", deadline_s=30.0)
        assert await indexed() == len(posts)
    finally:
        await world.stop_bot()
