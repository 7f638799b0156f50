"""Crash safety under SIGKILL: the bot as its own process against a real Synapse and the
Discord protocol fake, driven through a seeded stream of member events and killed at seeded
points, restarted each time; then the invariants, from what members and moderators received.

What runs (all on 127.0.0.1, in a temporary directory removed at the end): a LocalSynapse
(relaxed rate limits), the Discord fake from tests/discord_fake, and the bot started with
``python -m tests.crash.launch`` (``confidant run --config`` with discord.py's connection
pointed at the fake) on a generated config with both adapters and two policies: a
confidential circle on both platforms (agreement required, check-ins) and a Matrix lobby.
Members are nio clients with end-to-end encryption on Matrix and users of the fake on
Discord; the circle on Matrix is encrypted.

The stream (tests/crash/script.py, from the seed only) is mostly posts, with hundreds of
joins, agreements, check-in conversations and quotes of circle posts in a lobby; each kill
comes right after its event, after a seeded delay of up to 0.4 s, so it lands mid-handling.

Invariants (exit status 1 if any is broken):
- every join got exactly one reminder, counted per (member, room, policy text) in what the
  member's client shows (duplicate_reminders, never_reminded);
- every check-in answer the bot acknowledged (the member saw the next question or the
  closing thanks) is in the store afterwards, read with the bot's Store and key
  (lost_answers);
- each quote gave at most one alert in each alert room (duplicate_flags); ``flags`` counts
  the quotes alerted.

    python benchmarks/crash_harness.py --seed 1 --events 10000 --kills 20
    python benchmarks/crash_harness.py --quick          # 1,000 events, 5 kills
    python benchmarks/crash_harness.py --processes 2    # two processes on one PostgreSQL

With ``--processes 2`` (tests/crash/two_process.py): process 0 runs Discord shard 0 and the
Matrix account, process 1 Discord shard 1, on one PostgreSQL the harness starts (pgserver)
in its temporary directory; the fake has a server on each shard; kills hit either process;
scheduled check-ins fall due on ``--fire-minutes`` minute boundaries with kills timed to
their firing, and one more invariant: no scheduled check-in fired twice. The JSON line adds
``processes``, ``scheduled_checkins`` and ``duplicate_scheduled_checkins``.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives in tests/

from adapters.matrix.homeserver import LocalSynapse
from tests.crash.harness import Options, Run, run_harness
from tests.crash.two_process import PairOptions, PairRun, run_two_processes

TARGET_S = 30 * 60


def progress(text: str) -> None:
    print(text, flush=True)


async def run(
    options: Options, keep: Path | None, keep_dir: Path | None, pair: PairOptions | None = None
) -> Run | PairRun:
    tmp = Path(tempfile.mkdtemp(prefix="confidant-crash-", dir=keep_dir))
    synapse = LocalSynapse(
        tmp / "synapse",
        relaxed_rate_limits=True,
        bcrypt_rounds=4,
        extra_config={"presence": {"enabled": False}},  # nobody here reads presence
    )
    try:
        began = time.monotonic()
        await synapse.start()
        progress(f"Synapse on {synapse.base_url} in {time.monotonic() - began:.1f} s")
        if pair is not None:
            return await run_two_processes(options, synapse, tmp, progress, pair)
        return await run_harness(options, synapse, tmp, progress)
    finally:
        for log in ("bot.log", "bot-0.log", "bot-1.log"):
            if keep is not None and (tmp / log).exists():
                shutil.copy(tmp / log, keep.with_name(f"{keep.stem}-{log}") if log != "bot.log"
                            else keep)
        await synapse.stop()
        if keep_dir is None:
            shutil.rmtree(tmp, ignore_errors=True)


def table(rows: Sequence[tuple[str, Any]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def report(result: Run) -> None:
    r, d = result.report, result.report.details
    print()
    print(f"Crash harness, seed {r.seed} (script {d['script_digest']})")
    print(
        table(
            [
                ("events sent", f"{r.events}  {d['events_by_kind']}"),
                ("seconds per kind", d["seconds_by_kind"]),
                ("steps that raised", d["step_errors"] or 0),
                (
                    "SIGKILLs",
                    f"{r.kills} (restarts {d['restarts']}, "
                    f"median restart {d['restart_s_median']} s, max {d['restart_s_max']} s)",
                ),
                ("joins (member, room)", r.joins),
                ("reminders seen by members", r.reminders),
                ("duplicate reminders", r.duplicate_reminders),
                ("joins never reminded", r.never_reminded),
                (
                    "answers typed / acknowledged",
                    f"{d['answers_typed']} / {r.acknowledged_answers}",
                ),
                ("acknowledged answers lost", r.lost_answers),
                (
                    "quotes / alerted",
                    f"{d['quotes']} / {r.flags} (of those not alerted, copy or source "
                    f"sent near a kill: {d['quotes_unflagged_near_a_kill']})",
                ),
                ("quotes alerted twice", r.duplicate_flags),
                (
                    "flags in the store (dup.)",
                    f"{d['flags_in_store']} ({d['duplicate_flags_in_store']})",
                ),
                ("flags missing an alert", d["flags_missing_an_alert"]),
                ("alerts not about a quote", d["alerts_not_about_a_quote"]),
                ("undecryptable bot messages", d["matrix_undecryptable"]),
                ("agreements skipped", d["agreements_skipped"]),
                ("reminders owed at each clean stop", d["reminders_owed_at_each_stop"]),
                ("bot error log lines", d["bot_error_lines"]),
                ("bot exits on its own", d["bot_exited_on_its_own"]),
                (
                    "setup / play / settle",
                    f"{d['setup_s']} s / {d['play_s']} s / {d['settle_s']} s"
                    f" ({d['events_per_s']} events/s)",
                ),
                ("elapsed", f"{r.elapsed_s} s (target < {TARGET_S} s)"),
            ]
        )
    )
    broken = r.violations()
    print()
    print("Invariants: " + ("all hold" if not broken else "BROKEN: " + "; ".join(broken)))
    for name in (
        "never_reminded_members",
        "duplicate_reminder_members",
        "matrix_duplicate_reminders_in",
        "quotes_not_alerted",
        "lost",
    ):
        if d.get(name):
            print(f"  {name}: {d[name]}")
    for text in d.get("transcripts", []):
        print(text)
    print()


def report_pair(result: PairRun) -> None:
    r, d = result.report, result.report.details
    print()
    print(f"Crash harness, two processes, seed {r.seed} (script {d['script_digest']})")
    print(
        table(
            [
                ("events sent", f"{r.events}  {d['events_by_kind']}"),
                ("steps that raised", d["step_errors"] or 0),
                (
                    "SIGKILLs",
                    f"{r.kills} (per process {d['kills_per_process']}, at scheduled fires "
                    f"{d['kills_at_scheduled_fires']}; restarts {d['restarts']}, median "
                    f"restart {d['restart_s_median']} s, max {d['restart_s_max']} s)",
                ),
                ("joins (member, room)", r.joins),
                ("duplicate reminders", r.duplicate_reminders),
                ("joins never reminded", r.never_reminded),
                ("answers acknowledged", r.acknowledged_answers),
                ("acknowledged answers lost", r.lost_answers),
                (
                    "quotes / alerted",
                    f"{d['quotes']} / {r.flags} (across shards {d['quotes_across_shards']}, "
                    f"alerted {d['quotes_across_shards_alerted']}; not alerted: "
                    f"{d['quotes_not_alerted_count']}, near a kill "
                    f"{d['quotes_unflagged_near_a_kill']}; of a post never sent "
                    f"{d['quotes_of_posts_never_sent']})",
                ),
                (
                    "posts Discord refused (circle, by member)",
                    f"{d['posts_refused']} ({d['circle_posts_refused_by_member']})",
                ),
                ("quotes alerted twice", r.duplicate_flags),
                (
                    "scheduled check-ins due / fired",
                    f"{d['scheduled_due']} / {r.scheduled_checkins} "
                    f"(claimed in the store {d['scheduled_claimed_in_store']})",
                ),
                ("scheduled check-ins fired twice", r.duplicate_scheduled_checkins),
                (
                    "reminders owed after the script",
                    f"{d['reminders_owed_after_the_script']} (waited "
                    f"{d['reminders_owed_waited_s']} s for their retries)",
                ),
                ("reminders owed at each clean stop", d["reminders_owed_at_each_stop"]),
                ("bot error log lines", d["bot_error_lines"]),
                ("bot exits on its own", d["bot_exited_on_its_own"]),
                (
                    "setup / play / settle",
                    f"{d['setup_s']} s / {d['play_s']} s / {d['settle_s']} s"
                    f" ({d['events_per_s']} events/s)",
                ),
                ("elapsed", f"{r.elapsed_s} s"),
            ]
        )
    )
    broken = r.violations()
    print()
    print("Invariants: " + ("all hold" if not broken else "BROKEN: " + "; ".join(broken)))
    for name in ("never_reminded_members", "duplicate_reminder_members", "lost",
                 "scheduled_fired_twice", "quotes_not_alerted"):
        if d.get(name):
            print(f"  {name}: {d[name]}")
    print()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events", type=int, default=None, help="default 10000")
    parser.add_argument("--kills", type=int, default=None, help="default 20")
    parser.add_argument(
        "--regulars", type=int, default=6, help="long-standing members per platform"
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="events per second (default: unpaced)"
    )
    parser.add_argument("--window", type=int, default=8, help="events in flight at once")
    parser.add_argument("--quick", action="store_true", help="1,000 events and 5 kills")
    parser.add_argument(
        "--processes", type=int, choices=(1, 2), default=1,
        help="2: two bot processes (Discord shards 0 and 1) on one PostgreSQL",
    )
    parser.add_argument(
        "--fire-minutes", type=int, default=None,
        help="--processes 2: minute boundaries with scheduled check-ins (default events/1000)",
    )
    parser.add_argument("--keep-log", type=Path, default=None, help="copy the bot's log here")
    parser.add_argument(
        "--keep-dir", type=Path, default=None, help="work under this folder and keep it all"
    )
    args = parser.parse_args(argv)
    args.events = args.events if args.events is not None else (1000 if args.quick else 10_000)
    args.kills = args.kills if args.kills is not None else (5 if args.quick else 20)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Member clients fail to decrypt what was never shared with them (other members' posts
    # read back by the moderator); nio says so at WARNING for every event.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("nio").setLevel(logging.ERROR)
    options = Options(args.seed, args.events, args.kills, args.regulars, args.rate, args.window)
    pair = None
    if args.processes == 2:
        pair = PairOptions(fire_minutes=args.fire_minutes or max(1, args.events // 1000))
    result = asyncio.run(run(options, args.keep_log, args.keep_dir, pair))
    if isinstance(result, PairRun):
        report_pair(result)
    else:
        report(result)
    print(json.dumps(result.report.headline()))
    return 1 if result.report.violations() else 0


if __name__ == "__main__":
    sys.exit(main())
