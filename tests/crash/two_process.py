"""The crash harness with two bot processes on one PostgreSQL (``--processes 2``).

Process 0 runs Discord shard 0 and the Matrix account, process 1 Discord shard 1; both use
one PostgreSQL (a pgserver in the run's temporary directory, started and stopped here), one
key file and one policy folder, as a two-instance ``confidant@.service`` deployment does. The
fake has a server on each shard (tests/crash/sharded_discord.py); the seeded stream drives
both servers and Matrix; SIGKILLs at the script's points hit either process (chosen from the
seed), and scheduled check-ins fall due during the run with kills timed to their firing
(tests/crash/scheduled.py). Each killed process is started again at once.

The invariants are the single-process harness's (tests/crash/verify.py), over both servers
(a quote in one server's lobby of a post in the other server's circle must be alerted once
in each alert room, though another process fingerprinted the source), plus: no scheduled
check-in fired twice.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.matrix.homeserver import LocalSynapse
from bot.keys import load_or_create_key
from bot.store import open_store
from tests.crash import verify
from tests.crash.bot_pair import BotPair
from tests.crash.botproc import BotProcess
from tests.crash.driver import Driver, Played
from tests.crash.harness import LOBBY_POLICY, Options, settle
from tests.crash.matrix_side import MatrixSide
from tests.crash.scheduled import (
    FireCount,
    ScheduledFires,
    count_fires,
    scheduler_keys,
)
from tests.crash.script import Script, make_script
from tests.crash.sharded_discord import ShardedDiscordSide
from tests.crash.verify import CIRCLE_REMINDER, LOBBY_REMINDER, Report
from tests.discord_fake import FakeDiscord
from tests.discord_fake.tls import _authority

SETUP_GUESS_S = 20.0  # the first scheduled check-ins fall due this long after the start, or later
TICK_S = 1.0  # the bots' tick: leases of 2.5 s, scheduled check-ins within a second
FIRE_MARGIN_S = 15.0  # after the last boundary, before settling: the fires and their kills
# Reminders Discord would not take just now (40003: two processes open DMs, each pausing only
# after its own refusals) are tried again after 1 and then 5 minutes, then the policy's
# fallback (bot/reminding.py RETRY_PAUSES, PRIVATE_ATTEMPTS): that long, and a few ticks,
# the harness waits with both processes up before stopping them for the count.
OWED_WAIT_S = 7 * 60.0
OWED_POLL_S = 5.0

CIRCLE_POLICY = """\
name: circle
rooms:
  - platform: matrix
    id: "{m_circle}"
  - platform: discord
    id: "{circle0}"
  - platform: discord
    id: "{circle1}"
moderators:
  - platform: matrix
    user: "{m_mod}"
  - platform: discord
    user: "{mod}"
alerts:
  - platform: matrix
    id: "{m_mods}"
  - platform: discord
    id: "{mods0}"
  - platform: discord
    id: "{mods1}"
reminder:
  text: "{reminder} It does not hold where someone is at risk of serious harm, where a child
    or vulnerable adult is being abused, or where the law requires us to tell."
  delivery: private
  require_agreement: true
  private_timeout_minutes: 600
checkins:
  intro: >-
    Check-ins are private. Confidant records your answers, encrypted, and only you can
    read them. Moderators see counts only.
  timeout_minutes: 600
  questions:
    - {{id: mood, prompt: How is your mood today?, kind: scale, min: 1, max: 5}}
    - {{id: slept, prompt: Did you sleep well?, kind: yesno}}
    - {{id: support, prompt: What helped most this week?, kind: choice,
       options: [meeting, sponsor, friends, nothing]}}
    - {{id: note, prompt: Anything you want to note for yourself?, kind: text}}
"""


@dataclass(frozen=True)
class PairOptions:
    fire_minutes: int = 1  # minute boundaries with scheduled check-ins
    discord_per_minute: int = 4  # Discord members whose schedule falls on each boundary
    matrix_per_minute: int = 1
    broken: str | None = None  # a planted bug (tests/crash/launch.py BREAKS), for the test


@dataclass
class PairReport(Report):
    processes: int = 2
    scheduled_checkins: int = 0
    duplicate_scheduled_checkins: int = 0

    def violations(self) -> list[str]:
        found = super().violations()
        if self.duplicate_scheduled_checkins:
            found.append(f"{self.duplicate_scheduled_checkins} scheduled check-in(s) fired twice")
        return found


@dataclass
class PairRun:
    script: Script
    played: Played
    report: PairReport
    log: Path
    fires: FireCount | None = None
    notes: list[str] = field(default_factory=list)


class PostgresServer:
    """pgserver's PostgreSQL in the run's directory, on a unix socket there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server: Any = None

    async def start(self) -> str:
        from tests.pg_server import new_database

        def boot() -> Any:
            import pgserver

            with warnings.catch_warnings():  # platformdirs without XDG_RUNTIME_DIR
                warnings.simplefilter("ignore")
                return pgserver.get_server(self.root, cleanup_mode="stop")

        self.server = await asyncio.to_thread(boot)
        return await asyncio.to_thread(new_database, self.server)

    async def stop(self) -> None:
        if self.server is not None:
            await asyncio.to_thread(self.server.cleanup)
            self.server = None


def write_files(
    root: Path, matrix: MatrixSide, discord: ShardedDiscordSide, base_url: str, database: str
) -> list[Path]:
    """The policies and one config per process (the same but for the shard and Matrix)."""
    policies = root / "policies"
    policies.mkdir(parents=True)
    ids = discord.policy_ids()
    (policies / "circle.yaml").write_text(
        CIRCLE_POLICY.format(
            m_circle=matrix.circle,
            m_mod=matrix.mod.user_id if matrix.mod else "",
            m_mods=matrix.mods_room,
            reminder=CIRCLE_REMINDER,
            **ids,
        )
    )
    (policies / "lobby.yaml").write_text(
        LOBBY_POLICY.format(m_lobby=matrix.lobby, reminder=LOBBY_REMINDER)
    )
    configs = []
    for shard in (0, 1):
        text = (
            f'database: "{database}"\nkey_file: {root / "confidant.key"}\n'
            f"policy_dir: {policies}\nlog_level: INFO\nadapters:\n"
        )
        if shard == 0:
            text += (
                "  matrix:\n"
                f"    homeserver: {base_url}\n"
                f'    user_id: "{matrix.bot_id}"\n'
                "    password: ${CRASH_BOT_PASSWORD}\n"
                f"    store_dir: {root / 'matrix-store'}\n"
            )
        text += (
            "  discord:\n    token: ${CRASH_DISCORD_TOKEN}\n"
            f'    guild_ids: ["{ids["guild0"]}", "{ids["guild1"]}"]\n'
            f"    shard_ids: [{shard}]\n    shard_count: 2\n"
            'status:\n  listen: "127.0.0.1:0"\n'
        )
        config = root / f"config-{shard}.yaml"
        config.write_text(text)
        configs.append(config)
    return configs


async def run_two_processes(
    options: Options,
    synapse: LocalSynapse,
    tmp: Path,
    progress: Callable[[str], None] | None = None,
    pair: PairOptions | None = None,
) -> PairRun:
    say = progress or (lambda _: None)
    pair = pair or PairOptions()
    began = time.monotonic()
    script = make_script(options.seed, options.events, options.kills, options.regulars)
    say(f"script {script.digest()}: {len(script.steps)} events, {len(script.kills)} kills")
    schedulers = {
        "matrix": scheduler_keys("matrix", pair.matrix_per_minute * pair.fire_minutes),
        "discord": scheduler_keys("discord", pair.discord_per_minute * pair.fire_minutes),
    }
    fires = ScheduledFires(options.seed, schedulers, pair.fire_minutes)
    fires.plan(datetime.now(UTC), SETUP_GUESS_S)
    postgres = PostgresServer(tmp / "pg")
    fake = FakeDiscord()
    await fake.start()
    matrix = MatrixSide(synapse, tmp, f"p{options.seed}x{secrets.token_hex(3)}")
    discord = ShardedDiscordSide(fake)
    bots: BotPair | None = None
    killer: asyncio.Task[None] | None = None
    try:
        database = await postgres.start()
        say(f"PostgreSQL up in {time.monotonic() - began:.1f} s")
        m_keys = [*script.regulars["matrix"], *schedulers["matrix"], *script.joiners["matrix"]]
        await matrix.build(m_keys)
        discord.build(
            [*script.regulars["discord"], *schedulers["discord"], *script.joiners["discord"]]
        )
        root = tmp / "bot"
        configs = write_files(root, matrix, discord, synapse.base_url, database)
        load_or_create_key(root / "confidant.key")  # made once, before two processes race
        store = await open_store(database, datetime.now(UTC))  # migrated once, likewise
        ca_file = root / "fake-discord-ca.pem"
        _authority()[0].cert_pem.write_to_path(str(ca_file))
        env = {"CRASH_BOT_PASSWORD": matrix.bot_password, "CRASH_DISCORD_TOKEN": fake.token}
        extra = ("--tick-seconds", str(TICK_S))
        if pair.broken:
            extra += ("--break", pair.broken)
        processes = [
            BotProcess(configs[0], env, fake.port, ca_file, tmp / "bot-0.log",
                       launch_args=extra),
            BotProcess(configs[1], env, fake.port, ca_file, tmp / "bot-1.log",
                       ready_markers=("discord gateway ready",), launch_args=extra),
        ]
        bots = BotPair(processes, options.seed, tmp / "bot-0.log")
        await bots.start()
        for process in processes:
            await process.wait_ready()
        await matrix.wait_bot_in_rooms()
        await matrix.admit([*script.regulars["matrix"], *schedulers["matrix"]])
        await discord.admit([*script.regulars["discord"], *schedulers["discord"]])
        setup_s = time.monotonic() - began
        say(f"world ready in {setup_s:.0f} s; playing the script")
        member_ids = {key: matrix.members[key].user_id for key in matrix.members}
        member_ids.update({key: str(user.id) for key, user in discord.users.items()})
        now = datetime.now(UTC)
        fires.replan(now)
        await fires.write(store, member_ids, now)
        await store.close()
        say(f"scheduled check-ins at {', '.join(b.strftime('%H:%M') for b in fires.boundaries)}")
        killer = asyncio.create_task(fires.kill_around_fires(bots.kill_and_restart))
        driver = Driver(script, matrix, discord, bots, options.rate, say, options.window)  # type: ignore[arg-type]
        played_at = time.monotonic()
        played = await driver.run()
        play_s = time.monotonic() - played_at
        say(f"script played in {play_s:.0f} s; waiting for the scheduled check-ins")
        await fires.all_due(FIRE_MARGIN_S)
        await killer
        played.kill_times = sorted([*played.kill_times, *bots.clock_kill_times])
        owed_at_end, waited_s = await wait_for_owed_reminders(driver, database)
        say(f"{owed_at_end[0]} reminders owed after the script; none after {waited_s:.0f} s"
            if owed_at_end[-1] == 0 else f"reminders still owed: {owed_at_end}")
        settled_at = time.monotonic()
        owed = await settle(driver, matrix, discord, bots, database, script)  # type: ignore[arg-type]
        settle_s = time.monotonic() - settled_at
        say("checking the invariants")
        run = await check(script, played, matrix, discord, bots, database, root, fires, began)
        run.report.details.update(
            setup_s=round(setup_s, 1),
            play_s=round(play_s, 1),
            settle_s=round(settle_s, 1),
            reminders_owed_at_each_stop=owed,
            reminders_owed_after_the_script=owed_at_end[0],
            reminders_owed_waited_s=round(waited_s, 1),
            events_per_s=round(played.events / play_s, 1) if play_s else None,
        )
        run.report.elapsed_s = round(time.monotonic() - began, 1)
        return run
    finally:
        if killer is not None and not killer.done():
            killer.cancel()
        await matrix.close()
        if bots is not None:
            for process in bots.processes:
                await process.kill()
        await fake.stop()
        await postgres.stop()


async def wait_for_owed_reminders(driver: Driver, database: str) -> tuple[list[int], float]:
    """With both processes up, until the store owes no reminder (bounded by OWED_WAIT_S):
    a reminder still in its retry pause is owed, not lost. Returns the counts seen (first
    and last) and the seconds waited."""
    began = time.monotonic()
    seen: list[int] = []
    for _ in range(int(OWED_WAIT_S / OWED_POLL_S) + 1):
        await driver.up()
        store = await open_store(database, datetime.now(UTC))
        try:
            seen.append(len(await store.pending_reminders()))
        finally:
            await store.close()
        if seen[-1] == 0 or time.monotonic() - began >= OWED_WAIT_S:
            break
        await asyncio.sleep(OWED_POLL_S)
    return [seen[0], seen[-1]], time.monotonic() - began


async def check(
    script: Script,
    played: Played,
    matrix: MatrixSide,
    discord: ShardedDiscordSide,
    bots: BotPair,
    database: str,
    root: Path,
    fires: ScheduledFires,
    began: float,
) -> PairRun:
    schedulers = [f.member for f in fires.fires]
    regulars_m = [*script.regulars["matrix"], *(k for k in schedulers if k.startswith("matrix:"))]
    joined_m = regulars_m + [k for p, k in played.joined if p == "matrix"]
    regulars_d = [*script.regulars["discord"], *(k for k in schedulers if k.startswith("discord"))]
    joined_d = regulars_d + [k for p, k in played.joined if p == "discord"]
    counts, matrix_extra = await verify.matrix_reminders(matrix, joined_m, regulars_m)
    counts += verify.discord_reminders(discord, joined_d)
    prompts = {
        key: await (matrix if key.startswith("matrix:") else discord).read_private(key)
        for key in played.conversations
    }
    answers = verify.acknowledged(played, prompts)
    member_ids = {key: matrix.members[key].user_id for key in matrix.members}
    member_ids.update({key: str(user.id) for key, user in discord.users.items()})
    key_file = root / "confidant.key"
    lost = await verify.lost_answers(answers, member_ids, database, key_file)  # type: ignore[arg-type]
    assert matrix.mod is not None
    matrix_alerts = await matrix.history(matrix.mod, matrix.mods_room)
    flags = await count_flags(script, played, matrix, discord, matrix_alerts, database)
    fire_count = await scheduled_fires(fires, matrix, discord, member_ids, database)
    startups = [i.startup_s for i in bots.restarts if i.startup_s is not None]
    report = PairReport(
        seed=script.seed,
        events=played.events,
        kills=bots.kills,
        joins=len(counts),
        reminders=sum(c.count for c in counts),
        duplicate_reminders=sum(max(0, c.count - 1) for c in counts),
        never_reminded=sum(1 for c in counts if c.count == 0),
        acknowledged_answers=sum(1 for a in answers if a.acknowledged),
        lost_answers=len(lost),
        flags=flags["flagged"],
        duplicate_flags=flags["duplicated"],
        elapsed_s=round(time.monotonic() - began, 1),
        processes=len(bots.processes),
        scheduled_checkins=fire_count.fired,
        duplicate_scheduled_checkins=fire_count.duplicated,
    )
    report.details.update(
        script_digest=script.digest(),
        events_by_kind={str(k): v for k, v in played.sent.items()},
        seconds_by_kind={str(k): round(v, 1) for k, v in played.seconds.items()},
        step_errors=dict(played.step_errors),
        answers_typed=len(answers),
        agreements_skipped=played.agreements_skipped,
        posts_refused=len(played.refused),
        circle_posts_refused_by_member=dict(
            Counter(script.steps[i].member for i in played.refused
                    if script.steps[i].room == "circle")
        ),
        kills_per_process=[bots.kills_of[n] for n in range(len(bots.processes))],
        kills_at_scheduled_fires=fires.kills,
        scheduled_due=fire_count.due,
        scheduled_claimed_in_store=fire_count.claimed,
        scheduled_fired_twice=list(fire_count.twice[:20]),
        restarts=len(bots.restarts),
        restart_s_median=round(sorted(startups)[len(startups) // 2], 2) if startups else None,
        restart_s_max=round(max(startups), 2) if startups else None,
        bot_exited_on_its_own=bots.unexpected_exits,
        bot_error_lines=sum(i.errors for i in bots.incarnations),
        never_reminded_members=[f"{c.member}@{c.room}" for c in counts if c.count == 0][:20],
        duplicate_reminder_members=[f"{c.member}@{c.room}" for c in counts if c.count > 1][:20],
        lost=[f"{a.member} session {a.session} {a.question_id}" for a in lost][:20],
        **{k: v for k, v in flags.items() if k not in ("flagged", "duplicated")},
        **matrix_extra,
    )
    return PairRun(script, played, report, bots.log_path, fire_count)


async def count_flags(
    script: Script,
    played: Played,
    matrix: MatrixSide,
    discord: ShardedDiscordSide,
    matrix_alerts: list[Any],
    database: str,
) -> dict[str, Any]:
    """Each quote's alerts per alert room (Matrix's, each server's moderators' room), matched
    by the copy's id, which every alert names; and its flag rows in the store."""
    rooms = {
        "matrix": [n.body for n in matrix_alerts if verify.ALERT in n.body],
        **{
            f"discord{n}": [c for c in discord.messages_in(s.mods) if verify.ALERT in c]
            for n, s in enumerate(discord.servers)
        },
    }
    copies = [c for c in played.copies if c.copy_id is not None]
    flagged = duplicated = cross = cross_flagged = stored_dup = near_kill = unposted = 0
    missed: list[str] = []
    store = await open_store(database, datetime.now(UTC))
    try:
        for copy in copies:
            assert copy.copy_id is not None
            hits = {room: sum(copy.copy_id in body for body in bodies)
                    for room, bodies in rooms.items()}
            alerted = any(hits.values())
            flagged += alerted
            duplicated += any(count > 1 for count in hits.values())
            member = script.steps[copy.step].member
            source = script.steps[copy.source]
            if copy.platform == "discord" and source.platform == "discord":
                crossing = discord.server_of(member) is not discord.server_of(source.member)
                cross += crossing
                cross_flagged += crossing and alerted
            if not alerted and copy.source in played.refused:
                unposted += 1  # its source never went out: nothing to leak
            elif not alerted:
                near_kill += played.near_a_kill(copy.step) or played.near_a_kill(copy.source)
                missed.append(f"{copy.platform} {copy.step} <- {copy.source}")
            room = matrix.lobby if copy.platform == "matrix" else discord.lobby_id(member)
            rows = await store.flags_for_copy(copy.platform, room, copy.copy_id)
            stored_dup += len(rows) > 1
    finally:
        await store.close()
    return {
        "flagged": flagged,
        "duplicated": duplicated,
        "quotes": len(copies),
        "quotes_across_shards": cross,
        "quotes_across_shards_alerted": cross_flagged,
        "duplicate_flags_in_store": stored_dup,
        "quotes_unflagged_near_a_kill": near_kill,
        "quotes_of_posts_never_sent": unposted,
        "quotes_not_alerted_count": len(missed),
        "quotes_not_alerted": missed[:20],
    }


async def scheduled_fires(
    fires: ScheduledFires,
    matrix: MatrixSide,
    discord: ShardedDiscordSide,
    member_ids: dict[str, str],
    database: str,
) -> FireCount:
    keys = [f.member for f in fires.fires]
    views = await matrix.final_views([k for k in keys if k.startswith("matrix:")])
    received = {k: [n.body for n in v] for k, v in views.items()}
    received.update({k: discord.dm_messages(k) for k in keys if k.startswith("discord:")})
    store = await open_store(database, datetime.now(UTC))
    try:
        last_fired = {}
        for key in keys:
            row = await store.checkin_schedule(key.split(":", 1)[0], member_ids[key])
            last_fired[key] = row.last_fired if row is not None else None
    finally:
        await store.close()
    return count_fires(fires.fires, received, last_fired)
