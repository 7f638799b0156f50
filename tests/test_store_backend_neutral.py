"""The core names the store protocol, never a backend.

Outside ``bot/store/`` no module imports ``bot.store.sqlite`` or ``bot.store.postgres``:
the core types against :class:`bot.store.Store` (the protocol) and takes rows from
:mod:`bot.store.rows`, so a deployment on PostgreSQL runs the same core code paths.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("bot.store.sqlite", "bot.store.postgres")
# Typed against the SQLite class still; they call only protocol methods, so a PostgreSQL
# store works there at run time. To move to the protocol with that package's next change.
# The admin's commands for one backend (migrate on PostgreSQL) name it by nature.
ADMIN = {"bot/maintenance_pg.py"}
NOT_YET = {"bot/leaks_flow/engines.py", "bot/leaks_flow/held.py", "bot/leaks_flow/watch.py",
           "bot/leaks_flow/commands.py", "bot/leaks_flow/loading.py"}


def backend_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in BACKENDS:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name in BACKENDS]
    return found


def test_no_core_module_imports_a_store_backend() -> None:
    offenders = []
    for folder in ("bot", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name.startswith("bot/store/") or name in NOT_YET | ADMIN:
                continue
            if backend_imports(path.read_text(encoding="utf-8")):
                offenders.append(name)
    assert offenders == []


def test_the_check_sees_an_import_of_a_backend() -> None:
    assert backend_imports("from bot.store.sqlite import LeakFlag\n") == ["bot.store.sqlite"]
    assert backend_imports("import bot.store.postgres\n") == ["bot.store.postgres"]
    assert backend_imports("from bot.store.rows import LeakFlag\n") == []
