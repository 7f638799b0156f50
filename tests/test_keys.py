"""The deployment key lives outside the database, 0600, and unsafe key files are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.keys import KeyFileError, load_or_create_key


def test_key_is_created_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "confidant.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == key


def test_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "confidant.key"
    load_or_create_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match=r"readable by other users.*chmod 600"):
        load_or_create_key(path)


def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "confidant.key"
    path.write_text("not hex at all\n")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="not the hex key"):
        load_or_create_key(path)
    path.write_text("abcd\n")
    with pytest.raises(KeyFileError, match="must be 32 bytes"):
        load_or_create_key(path)
