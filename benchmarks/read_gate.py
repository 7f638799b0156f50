"""Read gate (``reminder.gate: read``) on both platforms, in one run: how long a newcomer
waits for the reminder, and how long after agreeing they can read the room.

Why: under a read gate a newcomer sees nothing of the circle until they agreed, so these two
waits are all they notice of it. Each platform's half is its own module, with its setup and
its definitions in its docstring:

- ``benchmarks/read_gate_discord.py``: server join → the reminder DM in front of the member,
  and the Agree press → the member allowed to view the channel, against the Discord fake;
- ``benchmarks/read_gate_matrix.py``: a knock → the reminder decrypted in the member's
  client, and ``!agree`` → the invite in the member's sync, on a local Synapse.

    python benchmarks/read_gate.py                    # 50 members per platform
    python benchmarks/read_gate.py --members 100
    python benchmarks/read_gate.py --only discord     # one platform

Every wait is bounded. The last line printed is one JSON object with every figure
(``read_gate_<platform>_reminder_p50_ms``, ``..._p99_ms``,
``read_gate_<platform>_agree_to_access_p50_ms``, ``..._p99_ms``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ("discord", "matrix")
ROWS = (
    ("the reminder in front of the newcomer", "reminder"),
    ("agreeing → allowed to read", "agree_to_access"),
)


def table(platform: str, figures: dict[str, float]) -> None:
    print(f"\n{platform.capitalize()} read gate, ms{'p50':>28}{'p99':>10}")
    for label, key in ROWS:
        p50 = figures[f"read_gate_{platform}_{key}_p50_ms"]
        p99 = figures[f"read_gate_{platform}_{key}_p99_ms"]
        print(f"  {label:<40}{p50:>10.1f}{p99:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--members", type=int, default=50, help="members per platform (>= 50)")
    parser.add_argument("--only", choices=PLATFORMS, help="measure one platform")
    args = parser.parse_args()
    members = max(args.members, 1)
    sys.path.insert(0, str(ROOT))  # the halves, and the fake and the rig they use from tests/
    result: dict[str, float] = {}
    for platform in PLATFORMS:
        if args.only in (None, platform):
            half = importlib.import_module(f"benchmarks.read_gate_{platform}")
            measure: Callable[[int], Awaitable[dict[str, float]]] = half.measure
            figures = asyncio.run(measure(members))
            table(platform, figures)
            result.update(figures)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
