"""Idle footprint and cold start of the bot process, with Matrix and Discord both connected.

Why: Confidant should run for years on the smallest VPS a community can afford (1 GB,
shared with a homeserver or other services), and a restart (an upgrade, a crash) must not
leave a joining member unreminded for long. Targets: idle RSS ≤ 72 MB, cold start ≤ 3 s.

Setup (everything on 127.0.0.1, in a temp directory removed at the end): a LocalSynapse
with the bot, a moderator, a covered room and a moderators' room (built as
benchmarks/matrix_joins.py builds them), and the protocol-level Discord fake from
tests/discord_fake with a server, a covered #circle and a #mods channel. The bot is a
SEPARATE PROCESS running ``confidant run --config`` exactly (``bot.cli.main``, from
benchmarks/footprint_bot.py), with one difference: discord.py gets a connector whose
resolver sends Discord's host names to the fake and whose TLS trusts only the fake's
throwaway CA (the documented ``connector`` option).

The bot's code is measured as installed: ``pip install`` compiles every module to bytecode
(pip's ``--compile``, on by default), so the benchmark compiles the checkout's packages the
same way first (``__pycache__``, git-ignored). Run from a checkout without it, and with
PYTHONDONTWRITEBYTECODE=1 as deploy/confidant.service sets, each start would compile ~120
modules from source: about 1 MB more after imports and 0.5 MB more idle, which no installed
bot pays.

A priming run comes first (the bot logs in, makes its Matrix device and E2E keys, joins its
rooms, syncs its slash commands) and is stopped with SIGTERM, as an admin's first start.
Then each measured run is a restart:

- cold start to first reminder: the clock starts when the bot process is spawned (Synapse
  and the fake already running). A Matrix member (E2E device keys uploaded beforehand) joins
  the covered room at once; the Discord member joins as soon as the bot's gateway session
  exists (Discord delivers nothing earlier). Each reminder "arrives" when it reaches the
  server: Matrix, the origin_server_ts of the bot's first event in the member's private
  chat (same machine clock); Discord, the fake answering the bot's POST to the member's DM.
  ``cold_start_s`` is the later of the two: both platforms reminding.
- idle RSS: after both reminders and a settling pause, VmRSS of the bot process from
  /proc/PID/status, sampled several times (median and max), plus VmHWM (the peak) and the
  anonymous/file split (file pages are shared libraries, partly shared with other Python
  processes).

The bot's own structured log (logfmt) gives a breakdown per run: spawn → first log line
(interpreter, imports, config, policies), → Matrix connected, → Discord ready.

    python benchmarks/footprint.py              # 3 measured runs
    python benchmarks/footprint.py --runs 1 --samples 5

Every wait is bounded. The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

# Only the standard library at module level (the heavy imports are made where used).
import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_IDLE_RSS_MB = 72.0
TARGET_COLD_START_S = 3.0
DISCORD_POLICY = """\
name: discord-circle
rooms:
  - platform: discord
    name: circle
moderators:
  - platform: discord
    user: "{mod}"
alerts:
  - platform: discord
    name: mods
reminder:
  text: What is shared in the circle stays in the circle.
  delivery: private
  require_agreement: true
"""
START_DEADLINE_S = 120.0
REMIND_DEADLINE_S = 60.0
# What the bot process loads, in the order ``confidant run`` needs it, each step measured in a
# fresh interpreter: where the megabytes and the start-up seconds go.
# Packages a SQLite bot must not load: the embedded homeserver, PostgreSQL/MySQL drivers (peewee,
# nio's key store, imports any it finds), PyNaCl and cffi (bot/lean.py), and pydantic (the
# config and policy models are checked by bot/policy/frozen.py; Synapse still uses it).
NEVER_LOADED = (
    "synapse", "twisted", "psycopg", "psycopg2", "pymysql", "nacl", "cffi", "pydantic",
    "pydantic_core",
)
# Loaded only when needed, never by an idle bot: the exporter at the first /metrics scrape,
# backup/restore's tarfile, difflib for a policy error's "did you mean".
ON_DEMAND = ("prometheus_client", "tarfile", "difflib")
IMPORT_STEPS = (
    ("asyncio, ssl (event loop, TLS)", ("asyncio", "ssl")),
    ("PyYAML, config and policy models", ("bot.config",)),
    ("PyCryptodome (AES-GCM, HKDF)", ("Crypto.Cipher.AES", "Crypto.Protocol.KDF")),
    ("Confidant's core, store, CLI", ("bot.cli", "bot.app")),
    ("aiohttp (HTTP for nio and discord.py)", ("aiohttp",)),
    ("matrix-nio with E2E, the Matrix adapter", ("adapters.matrix.client",)),
    ("discord.py, the Discord adapter", ("adapters.discord",)),
    ("status endpoint: /healthz, /metrics", ("ops.status_server",)),
)
IMPORT_PROBE = """
import json, sys, time, tracemalloc
traced = sys.argv[2] == "traced"
if traced:
    tracemalloc.start()
def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
def py():
    return tracemalloc.get_traced_memory()[0] / 2**20 if traced else 0.0
from bot.lean import keep_out_unused_extras
keep_out_unused_extras()  # as ``confidant`` does first
steps = json.loads(sys.argv[1])
rows = [["interpreter", rss(), 0.0, py(), len(sys.modules)]]
for label, modules in steps:
    began = time.perf_counter()
    for module in modules:
        __import__(module)
    rows.append([label, rss(), time.perf_counter() - began, py(), len(sys.modules)])
loaded = {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
unused = sorted(loaded & set(NEVER_LOADED))
early = sorted(loaded & set(ON_DEMAND))
print(json.dumps({"rows": rows, "modules": len(sys.modules), "unused": unused, "early": early}))
"""


# -- measuring a process ---------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, float]:
    """Memory lines of /proc/PID/status, and PSS and private (USS) from smaps_rollup, in MB.
    RSS counts shared library pages in full; PSS divides them among the processes mapping
    them; USS is what stopping the bot would give back."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                found[key] = int(value.split()[0]) / 1024
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Pss", "Private_Clean", "Private_Dirty"):
                found[key] = int(value.split()[0]) / 1024
    found["USS"] = found.get("Private_Clean", 0.0) + found.get("Private_Dirty", 0.0)
    return found


def import_breakdown(repeats: int = 3, bot_env: dict[str, str] | None = None) -> dict[str, Any]:
    """IMPORT_STEPS measured in fresh interpreters: RSS added (first probe), seconds taken
    (median of ``repeats``), and, from one more probe under tracemalloc, the Python objects
    allocated (mostly code objects: what a module costs to have loaded) and modules added.
    RSS minus Python objects is native memory: C/Rust extension state and library pages."""
    steps = [[label, list(modules)] for label, modules in IMPORT_STEPS]

    code = f"NEVER_LOADED = {NEVER_LOADED!r}\nON_DEMAND = {ON_DEMAND!r}\n{IMPORT_PROBE}"

    def probe(mode: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-c", code, json.dumps(steps), mode],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(bot_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return dict(json.loads(result.stdout.splitlines()[-1]))

    probes = [probe("plain") for _ in range(repeats)]
    traced = probe("traced")["rows"]
    first = probes[0]["rows"]
    rows = []
    for index, (label, rss, *_) in enumerate(first):
        before = first[index - 1][1] if index else 0.0
        py_before = traced[index - 1][3] if index else 0.0
        mods_before = traced[index - 1][4] if index else 0
        seconds = statistics.median(p["rows"][index][2] for p in probes)
        rows.append(
            {
                "step": label,
                "rss_mb": round(rss - before, 1),
                "py_mb": round(traced[index][3] - py_before, 1),
                "modules": traced[index][4] - mods_before,
                "s": round(seconds, 3),
            }
        )
    return {
        "steps": rows,
        "rss_mb": round(first[-1][1], 1),
        "py_mb": round(traced[-1][3], 1),
        "s": round(sum(r["s"] for r in rows), 3),
        "modules": probes[0]["modules"],
        "unused_loaded": probes[0]["unused"],
        "on_demand_loaded": probes[0]["early"],
    }


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def bounded_poll(
    check: Callable[[], Awaitable[Any]], what: str, deadline_s: float, interval_s: float = 0.02
) -> Any:
    deadline = time.monotonic() + deadline_s
    for _ in range(int(deadline_s / interval_s) + 2):
        result = await check()
        if result:
            return result
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(interval_s)
    raise TimeoutError(f"{what}: not within {deadline_s:.0f} s")


@dataclass
class BotProcess:
    """One ``confidant run`` of the bot, spawned and stopped by the benchmark."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    spawned_wall: float = 0.0
    spawned_mono: float = 0.0

    def spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.spawned_wall, self.spawned_mono = time.time(), time.monotonic()
            self.proc = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return -9

    def log_events(self, since_wall: float) -> list[dict[str, str]]:
        """The bot's logfmt records written after ``since_wall`` (unparsable lines skipped)."""
        from bot.logs import parse_logfmt

        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = parse_logfmt(line)
            except ValueError:
                continue
            ts = record.get("ts")
            if ts and _wall(ts) >= since_wall - 0.001:
                found.append(record)
        return found


def _wall(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


# -- the benchmark --------------------------------------------------------------------------------


@dataclass
class Run:
    ready_s: float
    matrix_s: float
    discord_s: float
    first_log_s: float | None
    matrix_connected_s: float | None
    discord_ready_s: float | None
    rss: list[dict[str, float]] = field(default_factory=list)

    @property
    def cold_start_s(self) -> float:
        return max(self.matrix_s, self.discord_s)


@dataclass
class Scene:
    synapse: Any
    world: Any
    fake: Any
    guild: Any
    status_port: int
    bot: BotProcess


async def healthz(port: int) -> int | None:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


async def until_ready(scene: Scene) -> float:
    """Seconds from spawn until /healthz says both platforms are connected."""

    async def ready() -> bool:
        if not scene.bot.alive():
            raise RuntimeError(f"the bot process ended; see {scene.bot.log_path}")
        return await healthz(scene.status_port) == 200

    await bounded_poll(ready, "both adapters connected (/healthz 200)", START_DEADLINE_S, 0.05)
    return time.monotonic() - scene.bot.spawned_mono


async def matrix_reminder(scene: Scene, index: int, tmp: Path) -> float:
    """A member joins the covered room now; seconds from spawn to the reminder's event."""
    from benchmarks.matrix_joins import make_member, wait_for_bot_invite

    world = scene.world
    member = await make_member(scene.synapse, f"member-{index}", tmp / "members")
    try:
        from nio import JoinResponse

        scene.bot.spawn()  # once the member is ready: only the join itself follows the spawn
        joined = await member.client.join(world.room_id)
        if not isinstance(joined, JoinResponse):
            raise RuntimeError(f"the Matrix member could not join: {joined}")
        [dm, *_] = await wait_for_bot_invite(member, world.bot_id, REMIND_DEADLINE_S)

        async def sent_ts() -> int | None:
            events = await world.admin.bot_messages(dm, world.bot_id)
            return int(events[0]["origin_server_ts"]) if events else None

        ts = await bounded_poll(sent_ts, "the bot's reminder event", REMIND_DEADLINE_S, 0.05)
        return ts / 1000 - scene.bot.spawned_wall
    finally:
        await member.client.close()


async def discord_reminder(scene: Scene, index: int, frames_mark: int) -> float:
    """The member joins the server as soon as the bot's gateway session exists."""
    from tests.discord_fake.gateway import IDENTIFY

    fake = scene.fake
    user = fake.world.add_user(f"member-{index}")
    dm = fake.world.open_dm(user)
    requests_mark = fake.requests.mark()
    await fake.wait_for_op(IDENTIFY, since=frames_mark, timeout=START_DEADLINE_S)

    async def session() -> bool:
        return fake.gateway.connected

    await bounded_poll(session, "the bot's gateway session", START_DEADLINE_S, 0.005)
    await fake.events.member_add(scene.guild, user)
    [call] = await fake.wait_for_call(
        "POST", f"/channels/{dm.id}/messages", since=requests_mark, timeout=REMIND_DEADLINE_S
    )
    if call.status != 200:
        raise RuntimeError(f"the Discord reminder failed with HTTP {call.status}")
    return float(call.at - scene.bot.spawned_mono)


async def measured_run(scene: Scene, index: int, tmp: Path, args: argparse.Namespace) -> Run:
    frames_mark = scene.fake.frames.mark()
    discord = asyncio.create_task(discord_reminder(scene, index, frames_mark))
    try:
        matrix_s = await matrix_reminder(scene, index, tmp)  # spawns the bot
        ready_s = await until_ready(scene)
        discord_s = await discord
    except BaseException:
        discord.cancel()
        with contextlib.suppress(BaseException):
            await discord
        raise
    breakdown = breakdown_of(scene.bot)
    await asyncio.sleep(args.settle)
    samples = []
    for _ in range(args.samples):
        samples.append(proc_status(scene.bot.pid))
        await asyncio.sleep(args.interval)
    code = scene.bot.stop()
    if code != 0:
        raise RuntimeError(f"the bot exited with {code}; see {scene.bot.log_path}")
    return Run(ready_s, matrix_s, discord_s, *breakdown, rss=samples)


def breakdown_of(bot: BotProcess) -> tuple[float | None, float | None, float | None]:
    """From the bot's own log: first line, Matrix connected, Discord ready (s after spawn)."""
    records = bot.log_events(bot.spawned_wall)

    def first(predicate: Callable[[dict[str, str]], bool]) -> float | None:
        for record in records:
            if predicate(record):
                return round(_wall(record["ts"]) - bot.spawned_wall, 3)
        return None

    return (
        first(lambda r: True),
        first(lambda r: r.get("event") == "adapter_connected" and r.get("platform") == "matrix"),
        first(lambda r: r.get("event") == "adapter_connected" and r.get("platform") == "discord"),
    )


def compile_like_pip() -> None:
    """Bytecode for Confidant's packages (pyproject's packages.find) and the bot process's
    module, as ``pip install`` leaves beside the sources."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "bot", "adapters", "ops",
         "benchmarks/footprint_bot.py"],
        cwd=ROOT, check=True, timeout=300, stdout=subprocess.DEVNULL,
    )  # fmt: skip


BOT_MODULES = ("bot.cli", "bot.app", "adapters.matrix.client", "adapters.discord",
               "ops.status_server", "benchmarks.footprint_bot")  # fmt: skip


def optimized_bytecode(tmp: Path) -> dict[str, str]:
    """The bot's environment as deploy/confidant.service runs it: PYTHONOPTIMIZE=2, from
    bytecode compiled ahead (docs/admin.md runs ``python -OO -m compileall`` over the
    virtualenv after each ``pip install``). Here the bytecode goes to a cache folder in the
    temp directory (PYTHONPYCACHEPREFIX) rather than into the shared virtualenv: one import
    of everything the bot loads writes it, and later starts read it. Same code objects,
    same memory."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONOPTIMIZE": "2",
        "PYTHONPYCACHEPREFIX": str(tmp / "bytecode"),
        "PYTHONDONTWRITEBYTECODE": "",
    }
    subprocess.run(
        [sys.executable, "-c", f"import {', '.join(BOT_MODULES)}"],
        cwd=ROOT, env=env, check=True, timeout=600, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return {key: env[key] for key in ("PYTHONOPTIMIZE", "PYTHONPYCACHEPREFIX")} | {
        "PYTHONDONTWRITEBYTECODE": "1"
    }


async def build_scene(tmp: Path, bot_env: dict[str, str]) -> Scene:
    from adapters.matrix.homeserver import LocalSynapse
    from benchmarks.matrix_joins import build_world
    from tests.discord_fake import FakeDiscord, tls

    synapse = LocalSynapse(tmp / "synapse", relaxed_rate_limits=True, bcrypt_rounds=4)
    began = time.monotonic()
    await synapse.start()
    print(f"Synapse on {synapse.base_url} in {time.monotonic() - began:.1f} s", flush=True)
    fake = FakeDiscord()
    scene: Scene | None = None
    try:
        world = await build_world(synapse, tmp)
        await fake.start()
        guild = fake.world.add_guild("Recovery Circle")
        fake.world.add_text_channel(guild, "circle")
        fake.world.add_text_channel(guild, "mods")
        mod = fake.world.add_user("mod")
        fake.world.add_member(guild, mod)
        (world.tmp / "policies" / "discord-circle.yaml").write_text(
            DISCORD_POLICY.format(mod=mod.id), encoding="utf-8"
        )
        ca_file = tmp / "fake-discord-ca.pem"
        tls._authority()[0].cert_pem.write_to_path(str(ca_file))  # the fake's throwaway CA
        status_port = free_port()
        config = world.config_path
        config.write_text(
            "database: confidant.db\nkey_file: confidant.key\npolicy_dir: policies\n"
            "log_level: INFO\n"
            f'status:\n  listen: "127.0.0.1:{status_port}"\n'
            "adapters:\n  matrix:\n"
            f"    homeserver: {synapse.base_url}\n"
            f'    user_id: "{world.bot_id}"\n'
            "    password: ${BOT_PASSWORD}\n"
            "    store_dir: matrix-store\n"
            "  discord:\n"
            "    token: ${DISCORD_TOKEN}\n"
            f'    guild_ids: ["{guild.id}"]\n',
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_PASSWORD": world.bot_password,
            "DISCORD_TOKEN": fake.token,
            **bot_env,
        }
        args = [
            sys.executable,
            "-m",
            "benchmarks.footprint_bot",  # -m: from its compiled bytecode, as installed code
            str(config),
            str(fake.port),
            str(ca_file),
        ]
        bot = BotProcess(args, env, tmp / "bot.log")
        scene = Scene(synapse, world, fake, guild, status_port, bot)
        return scene
    finally:
        if scene is None:
            await fake.stop()
            await synapse.stop()


async def prime(scene: Scene) -> float:
    """The admin's first start: log in, make keys, join rooms, sync commands; then stop."""
    world = scene.world
    scene.bot.spawn()
    ready_s = await until_ready(scene)

    async def in_rooms() -> bool:
        rooms = set(await world.admin.joined_rooms(world.bot_id))
        return {world.room_id, world.mods_room} <= rooms

    await bounded_poll(in_rooms, "the bot joining its Matrix rooms", START_DEADLINE_S, 0.2)
    await asyncio.sleep(1.0)  # let the first sync's work (keys, commands) finish
    code = scene.bot.stop()
    if code != 0:
        raise RuntimeError(f"the priming run exited with {code}; see {scene.bot.log_path}")
    return ready_s


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="confidant-footprint-"))
    scene: Scene | None = None
    compile_like_pip()
    bot_env = optimized_bytecode(tmp) if args.bytecode == "optimized" else {}
    try:
        scene = await build_scene(tmp, bot_env)
        first_ready_s = await prime(scene)
        print(f"priming run (login, keys, rooms, commands): ready in {first_ready_s:.2f} s")
        runs = []
        for index in range(args.runs):
            result = await measured_run(scene, index, tmp, args)
            runs.append(result)
            print(
                f"  run {index + 1}: cold start {result.cold_start_s:.2f} s, idle RSS "
                f"{statistics.median(s['VmRSS'] for s in result.rss):.1f} MB",
                flush=True,
            )
        found = figures(runs, first_ready_s, import_breakdown(bot_env=bot_env))
        found["bytecode"] = args.bytecode
        return found
    finally:
        if scene is not None:
            scene.bot.stop()
            with contextlib.suppress(Exception):
                await scene.world.admin.close()
            with contextlib.suppress(Exception):
                await scene.world.mod.client.close()
            await scene.fake.stop()
            await scene.synapse.stop()
        if args.keep:
            print(f"kept {tmp} (the bot's log is bot.log)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def figures(runs: list[Run], first_ready_s: float, imports: dict[str, Any]) -> dict[str, Any]:
    rss = [s["VmRSS"] for r in runs for s in r.rss]
    last = runs[-1].rss[-1]

    def median(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return round(statistics.median(present), 3) if present else None

    cold = [r.cold_start_s for r in runs]
    found: dict[str, Any] = {
        "mode": "bot as a separate `confidant run` process; Synapse and the Discord fake local",
        "runs": len(runs),
        "idle_rss_mb": round(statistics.median(rss), 1),
        "idle_rss_max_mb": round(max(rss), 1),
        "peak_rss_mb": round(max(s["VmHWM"] for r in runs for s in r.rss), 1),
        "rss_anon_mb": round(last.get("RssAnon", 0.0), 1),
        "rss_file_mb": round(last.get("RssFile", 0.0), 1),
        "idle_pss_mb": round(statistics.median(s["Pss"] for r in runs for s in r.rss), 1),
        "idle_uss_mb": round(statistics.median(s["USS"] for r in runs for s in r.rss), 1),
        "cold_start_s": round(statistics.median(cold), 3),
        "cold_start_max_s": round(max(cold), 3),
        "matrix_reminder_s": median([r.matrix_s for r in runs]),
        "discord_reminder_s": median([r.discord_s for r in runs]),
        "both_connected_s": median([r.ready_s for r in runs]),
        "first_log_line_s": median([r.first_log_s for r in runs]),
        "matrix_connected_s": median([r.matrix_connected_s for r in runs]),
        "discord_ready_s": median([r.discord_ready_s for r in runs]),
        "priming_ready_s": round(first_ready_s, 3),
        "imports_rss_mb": imports["rss_mb"],
        "imports_s": imports["s"],
        "imports": imports,
        "target_idle_rss_mb": TARGET_IDLE_RSS_MB,
        "target_cold_start_s": TARGET_COLD_START_S,
    }
    found["targets_met"] = {
        "idle_rss": found["idle_rss_mb"] <= TARGET_IDLE_RSS_MB,
        "cold_start": found["cold_start_s"] <= TARGET_COLD_START_S,
    }
    return found


def table(rows: Sequence[tuple[str, Any]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def report(found: dict[str, Any]) -> None:
    def s(key: str) -> str:
        value = found[key]
        return "-" if value is None else f"{value:6.2f} s"

    def mb(key: str) -> str:
        return f"{found[key]:6.1f} MB"

    ok = found["targets_met"]
    print()
    print(
        f"Bot process footprint, both adapters connected ({found['runs']} restarts measured; "
        f"{found.get('bytecode', 'plain')} bytecode)"
    )
    print(
        table(
            [
                (
                    "idle RSS (median)",
                    f"{mb('idle_rss_mb')}   target ≤ {TARGET_IDLE_RSS_MB:.0f} MB"
                    f"   {'met' if ok['idle_rss'] else 'MISSED'}",
                ),
                ("idle RSS (max)", mb("idle_rss_max_mb")),
                ("peak RSS (VmHWM)", mb("peak_rss_mb")),
                ("  anonymous", mb("rss_anon_mb")),
                ("  file-backed (libraries)", mb("rss_file_mb")),
                ("idle PSS / USS (median)", f"{mb('idle_pss_mb')} / {mb('idle_uss_mb')}"),
                (
                    "cold start → both reminded",
                    f"{s('cold_start_s')}   target ≤ {TARGET_COLD_START_S:.0f} s"
                    f"   {'met' if ok['cold_start'] else 'MISSED'}   (max {s('cold_start_max_s')})",
                ),
                ("  Matrix member's reminder", s("matrix_reminder_s")),
                ("  Discord member's reminder", s("discord_reminder_s")),
                ("  first log line", s("first_log_line_s")),
                ("  Matrix connected", s("matrix_connected_s")),
                ("  Discord gateway ready", s("discord_ready_s")),
                ("  /healthz 200 (both connected)", s("both_connected_s")),
                ("first start (login, keys, rooms)", s("priming_ready_s")),
            ]
        )
    )
    imports = found["imports"]
    print()
    print(
        f"Where it goes: importing what `confidant run` loads, step by step in a fresh "
        f"interpreter ({imports['modules']} modules; never-used packages loaded: "
        f"{', '.join(imports['unused_loaded']) or 'none'}; left for first use: "
        f"{', '.join(p for p in ON_DEMAND if p not in imports['on_demand_loaded'])}); "
        "Python objects from tracemalloc"
    )
    print(
        table(
            [
                (
                    row["step"],
                    f"{row['rss_mb']:+6.1f} MB RSS  {row['py_mb']:+5.1f} MB Python objects"
                    f"  {row['modules']:4d} modules  {row['s']:6.3f} s",
                )
                for row in imports["steps"]
            ]
            + [
                (
                    "all imports",
                    f"{imports['rss_mb']:6.1f} MB RSS  {imports['py_mb']:5.1f} MB Python objects"
                    f"  {imports['modules']:4d} modules  {imports['s']:6.3f} s",
                )
            ]
        )
    )
    print()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measured restarts (default 3)")
    parser.add_argument("--samples", type=int, default=10, help="RSS samples per run")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before sampling")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and bot log")
    parser.add_argument(
        "--bytecode",
        choices=("optimized", "plain"),
        default="optimized",
        help="optimized (default): PYTHONOPTIMIZE=2 as deploy/confidant.service runs the "
        "bot; plain: bytecode as pip install alone leaves it",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.samples < 1:
        parser.error("--runs and --samples must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # benchmarks.matrix_joins and tests.discord_fake
    found = asyncio.run(run(args))
    report(found)
    print(json.dumps(found, ensure_ascii=False))
    return 0 if all(found["targets_met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
