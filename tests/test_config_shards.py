"""Discord shard keys in the admin config: both or neither, one shard per process, an id
below the count, and every mistake reported at its file:line (also by ``confidant check``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.conftest import write_policy
from tests.test_cli import _config, confidant

BASE = "adapters:\n  discord:\n    token: abc\n"


def problems(tmp_path: Path, keys: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + keys, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env or {})
    return [str(e).removeprefix(f"{tmp_path}/") for e in caught.value.errors]


def test_shard_keys_give_this_process_its_shard(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "    shard_ids: [1]\n    shard_count: 2\n", encoding="utf-8")
    discord = load_config(path, {}).adapters.discord
    assert discord is not None and discord.shard == (1, 2)
    path.write_text(BASE, encoding="utf-8")
    unsharded = load_config(path, {}).adapters.discord
    assert unsharded is not None and unsharded.shard is None


def test_the_shard_id_may_come_from_a_systemd_instance_name(tmp_path: Path) -> None:
    """``confidant@1.service`` sets CONFIDANT_SHARD=1; the environment holds only text."""
    path = tmp_path / "config.yaml"
    path.write_text(
        BASE + '    shard_ids: ["${CONFIDANT_SHARD}"]\n    shard_count: 2\n', encoding="utf-8"
    )
    discord = load_config(path, {"CONFIDANT_SHARD": "1"}).adapters.discord
    assert discord is not None and discord.shard == (1, 2)
    assert problems(
        tmp_path, '    shard_ids: ["${CONFIDANT_SHARD}"]\n    shard_count: 2\n',
        {"CONFIDANT_SHARD": "one"},
    ) == [
        "config.yaml:4:17: 'one' is not a shard number (0, 1, 2, ...) (the value came from "
        "the environment variable CONFIDANT_SHARD)"
    ]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("    shard_ids: [2]\n    shard_count: 2\n",
         "config.yaml:4:16: shard 2 does not exist: shard ids go from 0 to 1 when "
         "'shard_count' is 2"),
        ("    shard_ids: [0]\n",
         "config.yaml:4:16: 'shard_ids' needs 'shard_count' (how many shards the bot has in "
         "all)"),
        ("    shard_count: 2\n",
         "config.yaml:3:5: 'shard_count' is set but 'shard_ids' is not; give both (like "
         "'shard_ids: [0]') or neither"),
        ("    shard_ids: [0, 1]\n    shard_count: 2\n",
         "config.yaml:4:16: list exactly one shard: each process runs one shard (start one "
         "process per shard, e.g. confidant@0 and confidant@1)"),
        ("    shard_ids: [0]\n    shard_count: 0\n",
         "config.yaml:5:18: must be at least 1, got 0"),
    ],
)
def test_shard_mistakes_are_located(tmp_path: Path, keys: str, expected: str) -> None:
    assert problems(tmp_path, keys) == [expected]


def test_check_names_the_line_of_a_shard_past_the_count(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies")
    config = _config(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8")
        + "  discord:\n    token: abc\n    shard_ids: [3]\n    shard_count: 2\n",
        encoding="utf-8",
    )
    bad = confidant("check", "--config", "config.yaml", cwd=tmp_path)
    assert bad.returncode == 1
    assert "config.yaml:9:16: shard 3 does not exist" in bad.stderr
