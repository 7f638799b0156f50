"""Two bot processes that the driver handles as one bot: up when both are, killed one at a time.

Process 0 runs Discord shard 0 and the Matrix account, process 1 Discord shard 1 (see
``two_process``). The driver's interface is :class:`~tests.crash.botproc.BotProcess`'s:
``kill`` kills one of the two, chosen from the seed (so a replay kills the same ones),
``start`` starts whichever is not running, and both are awaited ready before a Discord step,
since Discord replays nothing to a session that was down.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from tests.crash.botproc import BotDied, BotProcess, Incarnation


class BotPair:
    def __init__(self, processes: list[BotProcess], seed: int, log: Path) -> None:
        self.processes = processes
        self.log_path = log
        self._rng = random.Random(seed * 104_729 + 3)
        self._lock = asyncio.Lock()
        self.kills_of: Counter[int] = Counter()
        self.clock_kill_times: list[float] = []  # the kills timed to scheduled fires

    @property
    def kills(self) -> int:
        return sum(p.kills for p in self.processes)

    @property
    def unexpected_exits(self) -> int:
        return sum(p.unexpected_exits for p in self.processes)

    @property
    def incarnations(self) -> list[Incarnation]:
        """The first run of each, then every restart (the report's restart times)."""
        firsts = [p.incarnations[0] for p in self.processes if p.incarnations]
        return firsts + [i for p in self.processes for i in p.incarnations[1:]]

    @property
    def restarts(self) -> list[Incarnation]:
        return [i for p in self.processes for i in p.incarnations[1:]]

    @property
    def running(self) -> bool:
        return all(p.running for p in self.processes)

    @property
    def is_ready(self) -> bool:
        return all(p.is_ready for p in self.processes)

    async def start(self) -> None:
        async with self._lock:
            for process in self.processes:
                if not process.running:
                    await process.start()

    async def wait_ready(self, timeout: float) -> None:
        """Both up; raises BotDied if either ended on its own (the driver restarts it)."""
        for process in self.processes:
            try:
                await process.wait_ready(timeout)
            except BotDied:
                raise
            except RuntimeError as error:  # never started (killed and not yet respawned)
                raise BotDied(str(error)) from error

    async def kill(self, which: int | None = None) -> None:
        """SIGKILL one process: ``which``, or one chosen from the seed."""
        number = self._rng.randrange(len(self.processes)) if which is None else which
        async with self._lock:
            process = self.processes[number]
            if process.running:
                await process.kill()
                self.kills_of[number] += 1

    async def kill_and_restart(self, which: int) -> None:
        """For kills timed by the clock (scheduled check-ins) rather than by the script: one
        that comes while the script's kill has the process down still kills it (started
        first), so that the clock's kills all happen."""
        async with self._lock:
            process = self.processes[which]
            if not process.running:
                await process.start()
            await process.kill()
            self.kills_of[which] += 1
            self.clock_kill_times.append(time.monotonic())
            await process.start()

    async def stop(self) -> None:
        async with self._lock:
            await asyncio.gather(*(p.stop() for p in self.processes))
