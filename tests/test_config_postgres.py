"""``database: postgresql://...`` selects the PostgreSQL store; its password comes from the
environment and is never shown (repr, str, an error about the URL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, read_config
from bot.store import is_postgres, postgres_url
from bot.store.url import PostgresUrl

SECRET = "pg-sekrit-3141"
CONFIG = (
    "database: postgresql://confidant:${CONFIDANT_DB_PASSWORD}@db.example.org:5432/confidant\n"
    "adapters:\n  console: {}\n"
)


def test_a_postgresql_url_is_read_with_its_password_from_the_environment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path, {"CONFIDANT_DB_PASSWORD": SECRET})
    assert isinstance(config.database, PostgresUrl) and is_postgres(config.database)
    assert postgres_url(config.database) == (
        f"postgresql://confidant:{SECRET}@db.example.org:5432/confidant"
    )
    for shown in (str(config.database), repr(config.database), repr(config), str(config)):
        assert SECRET not in shown
    assert str(config.database) == "postgresql://confidant:***@db.example.org:5432/confidant"
    _, places, errors = read_config(path, {"CONFIDANT_DB_PASSWORD": SECRET})
    assert errors == [] and places is not None and "database" not in places.paths


def test_a_file_path_is_still_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("database: state/c.db\nadapters:\n  console: {}\n", encoding="utf-8")
    config = load_config(path, {})
    assert config.database == tmp_path / "state" / "c.db" and not is_postgres(config.database)


def test_a_url_without_a_database_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "database: postgresql://confidant:${CONFIDANT_DB_PASSWORD}@db.example.org\n"
        "adapters:\n  console: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path, {"CONFIDANT_DB_PASSWORD": SECRET})
    message = str(raised.value)
    assert "names no database" in message and SECRET not in message
