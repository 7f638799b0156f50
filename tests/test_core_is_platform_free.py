"""The core must import with every platform library blocked: adapters own them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = """
import importlib.abc, pkgutil, sys
BLOCKED = ("discord", "nio", "synapse", "aiohttp")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("platform library imported by the core: " + name)
sys.meta_path.insert(0, Block())
import bot
for info in pkgutil.walk_packages(bot.__path__, "bot."):
    __import__(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not loaded, loaded
print("ok", len([m for m in sys.modules if m.startswith("bot.")]))
"""


def test_core_imports_without_platform_libraries() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")
    assert int(result.stdout.split()[1]) >= 10  # it really walked the core's modules


def test_the_blocker_can_fail() -> None:
    """Guard against a blocker that silently blocks nothing."""
    probe = BLOCKER.replace("import bot\n", "import bot\nimport discord\n", 1)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "platform library imported by the core: discord" in result.stderr
