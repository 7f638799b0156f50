"""What the bot process keeps out of memory, checked in fresh interpreters (an import
already made by the test process would hide the effect)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fresh(code: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_the_matrix_adapter_does_not_load_a_postgresql_driver() -> None:
    found = fresh(
        "import json, sys\n"
        "import adapters.matrix.client\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'psycopg2', 'pymysql', 'MySQLdb'))\n"
        "import peewee\n"
        "db = peewee.SqliteDatabase(':memory:'); db.connect(); db.execute_sql('select 1')\n"
        "import importlib.util\n"
        "pg = importlib.util.find_spec('psycopg') is not None\n"
        "if pg:\n"
        "    import psycopg\n"
        "print(json.dumps({'loaded': loaded, 'pg_installed': pg, "
        "'pg_importable_after': 'psycopg' in sys.modules if pg else None}))\n"
    )
    assert found["loaded"] == []
    # The PostgreSQL store can still import its driver afterwards.
    assert found["pg_importable_after"] in (True, None)


def test_a_postgresql_driver_already_loaded_is_left_alone() -> None:
    found = fresh(
        "import json, sys, importlib.util\n"
        "pg = importlib.util.find_spec('psycopg') is not None\n"
        "if pg:\n"
        "    import psycopg\n"
        "import adapters.matrix.client, peewee\n"
        "print(json.dumps({'pg': pg, 'peewee_sees_it': peewee.pg3_errors is not None}))\n"
    )
    assert found["peewee_sees_it"] == found["pg"]
