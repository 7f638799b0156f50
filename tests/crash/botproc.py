"""The bot under test as a separate process: start it, know when it is up, kill it hard.

SIGKILL is the point of the harness: no handler runs, no buffer is flushed, no task is
finished, so whatever the bot promised must already be on disk (its SQLite store, its Matrix
session file) or on the platform. "Up" is read from the bot's own log: the Matrix adapter's
first successful sync and discord.py's READY, both logged by the adapters; until both came
for the current incarnation, events sent to Discord would be lost (a new gateway session is
not sent what happened before it), so the driver waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_MARKERS = ("matrix: connected", "discord gateway ready")
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    """In the child, before exec: if the harness itself dies (a test timeout exits the
    process without cleanup), the kernel kills the bot too, so no bot outlives its run."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class BotDied(RuntimeError):
    """The bot process ended on its own (not by the harness's hand)."""


@dataclass
class Incarnation:
    """One run of the process, from spawn to its end."""

    number: int
    spawned_at: float
    ready_at: float | None = None
    markers: set[str] = field(default_factory=set)
    errors: int = 0  # log records at level error

    @property
    def startup_s(self) -> float | None:
        return None if self.ready_at is None else self.ready_at - self.spawned_at


class BotProcess:
    """``python -m tests.crash.launch`` with the harness's config, restartable at will."""

    def __init__(
        self,
        config: Path,
        env: dict[str, str],
        discord_port: int,
        ca_file: Path,
        log: Path,
        ready_markers: tuple[str, ...] = READY_MARKERS,
        launch_args: tuple[str, ...] = (),
    ) -> None:
        """``ready_markers``: the log lines that say this process is up (a process without
        Matrix never logs "matrix: connected"); ``launch_args``: more for the launcher."""
        self.config = config
        self.ready_markers = ready_markers
        self.launch_args = launch_args
        self.env = env
        self.discord_port = discord_port
        self.ca_file = ca_file
        self.log_path = log
        self.incarnations: list[Incarnation] = []
        self.kills = 0
        self.unexpected_exits = 0  # the bot ended without the harness killing or stopping it
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._expected_end = False

    @property
    def current(self) -> Incarnation:
        return self.incarnations[-1]

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def is_ready(self) -> bool:
        return self.running and self._ready.is_set()

    async def start(self) -> None:
        if self.running:
            raise RuntimeError("the bot is already running")
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO_ROOT)}
        self._ready = asyncio.Event()
        self._expected_end = False
        self.incarnations.append(Incarnation(len(self.incarnations) + 1, time.monotonic()))
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.crash.launch",
            "--config",
            str(self.config),
            "--discord-port",
            str(self.discord_port),
            "--discord-ca",
            str(self.ca_file),
            *self.launch_args,
            cwd=REPO_ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the harness must not reach the bot
            preexec_fn=_die_with_parent,
        )
        self._reader = asyncio.create_task(self._read(self._proc, self.current))

    async def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until both adapters of the current incarnation are up; raises if it died."""
        if self._proc is None:
            raise RuntimeError("the bot was never started")
        ready = asyncio.ensure_future(self._ready.wait())
        ended = asyncio.ensure_future(self._proc.wait())
        try:
            done, _ = await asyncio.wait(
                {ready, ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
            ended.cancel()
        if self._ready.is_set():
            return
        if ended in done:
            raise BotDied(f"the bot exited with {self._proc.returncode}; see {self.log_path}")
        raise TimeoutError(f"the bot was not up within {timeout:.0f} s; see {self.log_path}")

    async def kill(self) -> None:
        """SIGKILL: nothing in the bot gets to run afterwards."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        self._expected_end = True
        proc.send_signal(signal.SIGKILL)
        await self._reap(proc)
        self.kills += 1

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """A clean stop (SIGTERM, as a service manager does); SIGKILL if it hangs."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return None if proc is None else proc.returncode
        self._expected_end = True
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.send_signal(signal.SIGKILL)
        await self._reap(proc)
        return proc.returncode

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 10.0)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5.0)
            self._reader = None

    async def _read(self, proc: asyncio.subprocess.Process, life: Incarnation) -> None:
        """Copy the bot's log to a file and watch it for the ready markers and errors."""
        assert proc.stdout is not None
        with self.log_path.open("a", encoding="utf-8") as out:
            out.write(f"--- incarnation {life.number} (pid {proc.pid}) ---\n")
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace")
                out.write(line)
                if "level=error" in line or '"level": "error"' in line:
                    life.errors += 1
                for marker in self.ready_markers:
                    if marker in line and marker not in life.markers:
                        life.markers.add(marker)
                        if len(life.markers) == len(self.ready_markers):
                            life.ready_at = time.monotonic()
                            self._ready.set()
            out.write(f"--- incarnation {life.number} ended ---\n")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 10.0)
        if not self._expected_end:
            self.unexpected_exits += 1
