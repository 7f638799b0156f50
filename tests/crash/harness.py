"""One crash-harness run, start to verdict: world, bot process, script, kills, settling, checks.

Shared by ``benchmarks/crash_harness.py`` (10,000 events, 20+ kills) and the test suite (a few
hundred events, 3 kills): the same code, different sizes. The caller owns the homeserver
(a benchmark starts its own LocalSynapse, the tests reuse the session's); the harness owns
the Discord fake, the bot process and a temporary directory.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.matrix.homeserver import LocalSynapse
from bot.config import Config
from tests.crash import verify
from tests.crash.botproc import BotProcess
from tests.crash.discord_side import DiscordSide
from tests.crash.driver import Driver, Played
from tests.crash.matrix_side import MatrixSide, bounded
from tests.crash.script import Script, make_script
from tests.crash.verify import CIRCLE_REMINDER, LOBBY_REMINDER, Report
from tests.discord_fake import FakeDiscord
from tests.discord_fake.tls import _authority

MARKER_WAIT_S = 600.0  # after the script, the bot may have a backlog of joins to work off
SETTLE_ROUNDS = 3

CIRCLE_POLICY = """\
name: circle
rooms:
  - platform: matrix
    id: "{m_circle}"
  - platform: discord
    id: "{d_circle}"
moderators:
  - platform: matrix
    user: "{m_mod}"
  - platform: discord
    user: "{d_mod}"
alerts:
  - platform: matrix
    id: "{m_mods}"
  - platform: discord
    id: "{d_mods}"
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
LOBBY_POLICY = """\
name: lobby
rooms:
  - platform: matrix
    id: "{m_lobby}"
reminder:
  text: "{reminder} Be kind."
  delivery: room
leaks:
  enabled: false
"""


@dataclass(frozen=True)
class Options:
    seed: int
    events: int
    kills: int
    regulars: int = 6  # per platform
    rate: float | None = None  # events per second; None: as fast as the members can
    window: int = 8  # steps in flight at once


@dataclass
class Run:
    """What a finished run leaves for the report (and for a test's assertions)."""

    script: Script
    played: Played
    report: Report
    log: Path


def write_bot_files(root: Path, matrix: MatrixSide, discord: DiscordSide, base_url: str) -> Path:
    policies = root / "policies"
    policies.mkdir(parents=True)
    ids = discord.policy_ids()
    (policies / "circle.yaml").write_text(
        CIRCLE_POLICY.format(
            m_circle=matrix.circle,
            d_circle=ids["circle"],
            m_mod=matrix.mod.user_id if matrix.mod else "",
            d_mod=ids["mod"],
            m_mods=matrix.mods_room,
            d_mods=ids["mods"],
            reminder=CIRCLE_REMINDER,
        )
    )
    (policies / "lobby.yaml").write_text(
        LOBBY_POLICY.format(m_lobby=matrix.lobby, reminder=LOBBY_REMINDER)
    )
    config = root / "config.yaml"
    text = (
        "database: confidant.db\nkey_file: confidant.key\npolicy_dir: policies\n"
        "log_level: INFO\n"
        "adapters:\n  matrix:\n"
        f"    homeserver: {base_url}\n"
        f'    user_id: "{matrix.bot_id}"\n'
        "    password: ${CRASH_BOT_PASSWORD}\n"
        "    store_dir: matrix-store\n"
        "  discord:\n    token: ${CRASH_DISCORD_TOKEN}\n"
        f'    guild_ids: ["{ids["guild"]}"]\n'
    )
    if "status" in Config.model_fields:  # a status endpoint: on a free port, never a fixed one
        text += 'status:\n  listen: "127.0.0.1:0"\n'
    config.write_text(text)
    return config


async def run_harness(
    options: Options,
    synapse: LocalSynapse,
    tmp: Path,
    progress: Callable[[str], None] | None = None,
) -> Run:
    say = progress or (lambda _: None)
    began = time.monotonic()
    script = make_script(options.seed, options.events, options.kills, options.regulars)
    say(f"script {script.digest()}: {len(script.steps)} events, {len(script.kills)} kills")
    fake = FakeDiscord()
    await fake.start()
    matrix = MatrixSide(synapse, tmp, f"c{options.seed}x{secrets.token_hex(3)}")
    discord = DiscordSide(fake)
    bot: BotProcess | None = None
    try:
        await matrix.build([*script.regulars["matrix"], *script.joiners["matrix"]])
        discord.build([*script.regulars["discord"], *script.joiners["discord"]])
        root = tmp / "bot"
        config = write_bot_files(root, matrix, discord, synapse.base_url)
        ca_file = root / "fake-discord-ca.pem"
        _authority()[0].cert_pem.write_to_path(str(ca_file))
        env = {"CRASH_BOT_PASSWORD": matrix.bot_password, "CRASH_DISCORD_TOKEN": fake.token}
        bot = BotProcess(config, env, fake.port, ca_file, tmp / "bot.log")
        await bot.start()
        await bot.wait_ready()
        await matrix.wait_bot_in_rooms()
        await matrix.admit(script.regulars["matrix"])
        await discord.admit(script.regulars["discord"])
        setup_s = time.monotonic() - began
        say(f"world ready in {setup_s:.0f} s; playing the script")
        driver = Driver(script, matrix, discord, bot, options.rate, say, options.window)
        played_at = time.monotonic()
        played = await driver.run()
        play_s = time.monotonic() - played_at
        say(f"script played in {play_s:.0f} s; settling")
        settled_at = time.monotonic()
        owed = await settle(driver, matrix, discord, bot, root / "confidant.db", script)
        settle_s = time.monotonic() - settled_at
        say("checking the invariants")
        report = await check(script, played, matrix, discord, bot, root, began)
        report.details.update(
            setup_s=round(setup_s, 1),
            play_s=round(play_s, 1),
            settle_s=round(settle_s, 1),
            reminders_owed_at_each_stop=owed,
            events_per_s=round(played.events / play_s, 1) if play_s else None,
        )
        report.elapsed_s = round(time.monotonic() - began, 1)
        return Run(script, played, report, bot.log_path)
    finally:
        await matrix.close()
        if bot is not None:
            await bot.kill()
        await fake.stop()


async def settle(
    driver: Driver,
    matrix: MatrixSide,
    discord: DiscordSide,
    bot: BotProcess,
    database: Path,
    script: Script,
) -> list[int]:
    """Let the bot finish what it was sent, then stop it cleanly. A message answered after
    everything else proves the backlog was worked off (Matrix hands the bot batches in
    order); reminders still owed after a stop bring the bot back for another round, as a
    restart is what delivers them. Returns the reminders owed after each stop."""
    pending: list[int] = []
    for number in range(1, SETTLE_ROUNDS + 1):
        await driver.up()
        await _answered(matrix, script.regulars["matrix"][0], "!help")
        await _answered(discord, script.regulars["discord"][0], "/help")
        await discord.quiet(3.0, 60.0)
        await bot.stop()
        pending.append(await verify.pending_reminders(database))
        if pending[-1] == 0 or number == SETTLE_ROUNDS:
            break
        await bot.start()
    return pending


async def _answered(side: MatrixSide | DiscordSide, key: str, text: str) -> None:
    before = len(await side.read_private(key))
    if not await side.say_privately(key, text):
        raise RuntimeError(f"{key} could not write to the bot")

    async def answered() -> bool:
        if isinstance(side, DiscordSide):
            await asyncio.sleep(0.1)
        return len(await side.read_private(key, wait_s=1.0)) > before

    await bounded(f"the bot's answer to {key}'s {text}", answered, MARKER_WAIT_S)


async def check(
    script: Script,
    played: Played,
    matrix: MatrixSide,
    discord: DiscordSide,
    bot: BotProcess,
    root: Path,
    began: float,
) -> Report:
    database, key_file = root / "confidant.db", root / "confidant.key"
    regulars_m = list(script.regulars["matrix"])
    joined_m = regulars_m + [k for p, k in played.joined if p == "matrix"]
    joined_d = list(script.regulars["discord"]) + [k for p, k in played.joined if p == "discord"]
    counts, matrix_extra = await verify.matrix_reminders(matrix, joined_m, regulars_m)
    counts += verify.discord_reminders(discord, joined_d)
    prompts = {
        key: await (matrix if key.startswith("matrix:") else discord).read_private(key)
        for key in played.conversations
    }
    answers = verify.acknowledged(played, prompts)
    member_ids = {key: matrix.members[key].user_id for key in matrix.members}
    member_ids.update({key: str(user.id) for key, user in discord.users.items()})
    lost = await verify.lost_answers(answers, member_ids, database, key_file)
    assert matrix.mod is not None
    alerts = await matrix.history(matrix.mod, matrix.mods_room)
    flags = await verify.count_flags(
        played,
        alerts,
        discord.messages_in(discord.mods),
        {"matrix": matrix.lobby, "discord": str(discord.lobby.id)},
        database,
    )
    startups = [i.startup_s for i in bot.incarnations[1:] if i.startup_s is not None]
    report = Report(
        seed=script.seed,
        events=played.events,
        kills=bot.kills,
        joins=len(counts),
        reminders=sum(c.count for c in counts),
        duplicate_reminders=sum(max(0, c.count - 1) for c in counts),
        never_reminded=sum(1 for c in counts if c.count == 0),
        acknowledged_answers=sum(1 for a in answers if a.acknowledged),
        lost_answers=len(lost),
        flags=flags.flagged,
        duplicate_flags=flags.duplicated,
        elapsed_s=round(time.monotonic() - began, 1),
    )
    report.details.update(
        script_digest=script.digest(),
        events_by_kind={str(k): v for k, v in played.sent.items()},
        seconds_by_kind={str(k): round(v, 1) for k, v in played.seconds.items()},
        step_errors=dict(played.step_errors),
        answers_typed=len(answers),
        conversations=sum(len(c) for c in played.conversations.values()),
        agreements_skipped=played.agreements_skipped,
        replies_turned_posts=played.conversation_fillers,
        matrix_sends_refused=matrix.send_failures,
        quotes=flags.copies,
        alerts=flags.alerts,
        alerts_not_about_a_quote=flags.unmatched_alerts,
        flags_in_store=flags.stored_flags,
        duplicate_flags_in_store=flags.stored_duplicates,
        flags_missing_an_alert=flags.stored_without_alert,
        quotes_unflagged_near_a_kill=flags.unflagged_near_a_kill,
        quotes_not_alerted=list(flags.unflagged[:20]),
        restarts=len(bot.incarnations) - 1,
        restart_s_median=round(sorted(startups)[len(startups) // 2], 2) if startups else None,
        restart_s_max=round(max(startups), 2) if startups else None,
        bot_exited_on_its_own=bot.unexpected_exits,
        bot_error_lines=sum(i.errors for i in bot.incarnations),
        never_reminded_members=[f"{c.member}@{c.room}" for c in counts if c.count == 0][:20],
        duplicate_reminder_members=[f"{c.member}@{c.room}" for c in counts if c.count > 1][:20],
        lost=[f"{a.member} session {a.session} {a.question_id}" for a in lost][:20],
        transcripts=[transcript(played, prompts, member) for member in {a.member for a in lost}],
        **matrix_extra,
    )
    return report


def transcript(played: Played, prompts: dict[str, list[str]], member: str) -> str:
    """A member's check-in conversations as they saw them: what they typed (>) between the
    bot's private messages (<, first line only), for the report of a lost answer."""
    lines: list[str] = []
    typed = {}
    for conversation in played.conversations.get(member, []):
        for exchange in conversation.exchanges:
            typed.setdefault(exchange.seen, []).append(exchange.text)
    seen = prompts.get(member, [])
    for position in range(len(seen) + 1):
        lines += [f"> {text}" for text in typed.get(position, [])]
        if position < len(seen):
            lines.append("< " + seen[position].split("\n")[0][:70])
    return "\n".join([member, *lines])
