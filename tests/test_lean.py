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


# What ``confidant run`` imports (bot/cli.py's run path, both adapters, the status endpoint),
# then what it does before going idle: make the metrics, count, watch the adapters.
RUN_IMPORTS = (
    "import json, sys\n"
    "from bot.lean import keep_out_unused_extras\n"
    "keep_out_unused_extras()\n"
    "import bot.cli, bot.app, adapters.matrix.client, adapters.discord, ops.status_server\n"
    "from bot.config import StatusConfig\n"
    "status = ops.status_server.status_for(StatusConfig(listen='127.0.0.1:0'))\n"
    "status.metrics.event_handled('MemberJoined', 0.01)\n"
    "status.metrics.count('reminder_sent')\n"
    "status.metrics.watch(lambda: {})\n"
)


def test_the_running_bot_leaves_out_what_only_some_commands_or_a_scrape_need() -> None:
    """Backup/restore's archive code (tarfile), migrate-store's table copier, the "did you
    mean" suggestions of a policy error (difflib), and prometheus_client (with wsgiref,
    gzip, timeit) until /metrics is scraped: each is imported where it is used."""
    found = fresh(
        RUN_IMPORTS + "print(json.dumps(sorted(m for m in sys.modules if m in ("
        "'tarfile', 'bot.store.archive', 'bot.store.transfer', 'difflib', "
        "'prometheus_client', 'wsgiref'))))\n"
    )
    assert found == []


def test_a_scrape_loads_the_exporter_and_writes_what_its_own_classes_wrote() -> None:
    """The text a scrape gets is the one prometheus_client's Counter and Histogram write
    for the same observations (their ``_created`` timestamps aside)."""
    found = fresh(
        RUN_IMPORTS + "import re\n"
        "from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest\n"
        "ours = status.metrics\n"
        "ours.event_handled('MemberJoined', 0.3)\n"
        "ours.event_handled('PrivateReply', 12.0)\n"
        "ours.event_handled('PrivateReply', 0.005)\n"
        "ours.count('flag_raised')\n"
        "ours.count('reminder_sent')\n"
        "registry = CollectorRegistry()\n"
        "handled = Counter('confidant_events_handled', "
        "'Events taken through the core, by kind.', ['kind'], registry=registry)\n"
        "latency = Histogram('confidant_event_handling_seconds', "
        "\"From an event's arrival to its actions being carried out, by kind.\", ['kind'], "
        "registry=registry)\n"
        "for kind, seconds in (('MemberJoined', 0.01), ('MemberJoined', 0.3), "
        "('PrivateReply', 12.0), ('PrivateReply', 0.005)):\n"
        "    handled.labels(kind=kind).inc(); latency.labels(kind=kind).observe(seconds)\n"
        "from ops.metrics import _HELP\n"
        "counters = {w: Counter(n, t, registry=registry) for w, (n, t) in _HELP.items()}\n"
        "counters['reminder_sent'].inc(2); counters['flag_raised'].inc()\n"
        "def text(raw):\n"
        "    return re.sub(r'(_created(\\{[^}]*\\})?) \\S+', r'\\1 T', raw.decode())\n"
        "print(json.dumps({'ours': text(ours.exposition()), "
        "'theirs': text(generate_latest(registry))}))\n"
    )
    ours, gauge = str(found["ours"]).split("# HELP confidant_adapter_connected")
    assert ours == found["theirs"]
    assert gauge.startswith(" 1 while the platform connection is up")  # no adapter watched
    assert 'confidant_event_handling_seconds_bucket{kind="PrivateReply",le="+Inf"} 2.0' in ours


def test_the_stop_phrases_are_not_kept_once_fingerprinted() -> None:
    """Only the background fingerprints are needed after an index load; the ~4,700 everyday
    lines they come from (about 0.45 MB of strings) are read again at the next load."""
    found = fresh(
        "import json, sys, tracemalloc\n"
        "from bot.leaks import Fingerprinter, background_fingerprints\n"
        "tracemalloc.start()\n"
        "background = background_fingerprints(Fingerprinter(bytes(32)))\n"
        "held = tracemalloc.take_snapshot().filter_traces(\n"
        "    [tracemalloc.Filter(True, '*/bot/leaks/stoplist.py')])\n"
        "beside = sum(s.size for s in held.statistics('filename')) - sys.getsizeof(background)\n"
        "print(json.dumps({'held': beside, "
        "'fingerprints': len(background)}))\n"
    )
    assert int(str(found["fingerprints"])) > 4000
    assert int(str(found["held"])) < 50_000  # beside the fingerprint set itself


def test_the_service_and_the_container_run_optimized_bytecode_compiled_first() -> None:
    """PYTHONOPTIMIZE=2 (no docstrings or asserts in memory, about 3 MB) only pays with
    the optimized bytecode on disk: pip compiles the plain one, and the service keeps
    PYTHONDONTWRITEBYTECODE=1, so without it every start would compile from source. So
    every ``pip install`` the admin guide and the container recipe run is followed by it."""
    import shlex

    from tests.test_deploy_files import DEPLOY, ROOT, unit

    service = unit("confidant.service")["Service"]
    environment = [pair for value in service["Environment"] for pair in shlex.split(value)]
    assert "PYTHONOPTIMIZE=2" in environment
    assert "PYTHONDONTWRITEBYTECODE=1" in environment  # the service user writes no bytecode
    compile_line = "/opt/confidant/venv/bin/python -OO -m compileall -q /opt/confidant/venv/lib"
    guide = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8").splitlines()
    installs = [i for i, line in enumerate(guide) if "/venv/bin/pip install" in line]
    assert len(installs) >= 2  # the install and the upgrade
    for index in installs:
        assert compile_line in guide[index + 1], guide[index]
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    compiled = text.index(compile_line)
    assert text.index("pip install") < compiled < text.index("ENV PYTHONOPTIMIZE=2")


def test_the_bot_runs_on_optimized_bytecode(tmp_path: Path) -> None:
    """A console session under PYTHONOPTIMIZE=2: reminders, agreement and its thanks as
    without it (nothing Confidant runs reads a docstring or needs an assert)."""
    from tests.conftest import write_policy
    from tests.test_cli import _config, confidant

    write_policy(tmp_path / "policies")
    _config(tmp_path)
    script = tmp_path / "session.txt"
    script.write_text(":join alice\n:join bob\nbob: /agree\nalice: /help\n")
    session = confidant(
        "console", "--config", "config.yaml", "--script", str(script),
        cwd=tmp_path, env_extra={"PYTHONOPTIMIZE": "2"},
    )  # fmt: skip
    assert session.returncode == 0, session.stderr
    assert session.stdout.count("[private → ") >= 2
    assert "[only bob sees, #recovery] Thank you." in session.stdout


def test_the_running_bot_builds_its_config_and_policies_without_pydantic() -> None:
    """The config and policy models are checked by bot/policy/frozen.py: a general
    validation library (pydantic was about 6 MB of 58 modules) stays out of the process,
    also once a config file and the packaged policies are loaded and one is refused."""
    found = fresh(
        RUN_IMPORTS + "import tempfile, pathlib\n"
        "from bot.config import DEFAULTS_DIR, ConfigError, load_config\n"
        "from bot.policy import PolicyLoadError, load_policy_dir, load_policy_text\n"
        "policies = load_policy_dir(DEFAULTS_DIR)\n"
        "folder = pathlib.Path(tempfile.mkdtemp())\n"
        "(folder / 'confidant.yaml').write_text(\n"
        "    'adapters:\\n  matrix:\\n    homeserver: https://example.org\\n'\n"
        "    '    user_id: \"@bot:example.org\"\\n    password: ${PW}\\n'\n"
        "    '  discord:\\n    token: ${TOKEN}\\n')\n"
        "config = load_config(folder / 'confidant.yaml', {'PW': 'p', 'TOKEN': 't'})\n"
        "try:\n"
        "    load_policy_text('rooms: []\\nreminder: {text: hi, require_agreement: \"yes\"}\\n',"
        " 'x.yaml')\n"
        "except PolicyLoadError as error:\n"
        "    refused = [str(e) for e in error.errors]\n"
        "print(json.dumps({'pydantic': sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('pydantic', 'pydantic_core')), 'policies': "
        "len(policies.policies), 'refused': refused}))\n"
    )
    assert found["pydantic"] == []
    assert int(str(found["policies"])) >= 1
    assert any("expected true or false, got 'yes'" in e for e in found["refused"])  # type: ignore[union-attr]
