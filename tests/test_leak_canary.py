"""The privacy promise, tested as a whole: a canary sentence said in a confidential room,
quoted elsewhere, flagged and listed, never appears in the database file (with its WAL and
shared-memory files), a log record, or anything the bot printed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.leak_rig import alerts, leak_rig

CANARY = (
    "Quixotic zebras pirouette beneath turquoise lanterns while marmalade accordions hum "
    "fortissimo across Zanzibar"
)
WORDS = [word for word in CANARY.split() if len(word) > 5]


def leaked_words(data: str | bytes) -> list[str]:
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    folded = data.casefold()
    return [word for word in WORDS if word.casefold() in folded]


async def test_canary_words_are_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with leak_rig(tmp_path) as rig:
        printed = await rig.say(
            ":room recovery",
            f"alice: {CANARY}",
            ":room lobby",
            f"bob: you won't believe it: {CANARY.lower()}!",
            ":room mods",
            "mod: /flags",
            "mod: /audit",
        )
        [alert] = alerts(printed)
        assert "Possible leak from recovery" in alert
        assert "1: from recovery, quote in lobby" in printed
        db_files = [p for p in tmp_path.iterdir() if p.name.startswith("confidant.db")]
        assert {p.name for p in db_files} >= {"confidant.db", "confidant.db-wal"}
        for path in db_files:
            assert leaked_words(path.read_bytes()) == [], path.name
        assert leaked_words(printed) == []
    for path in tmp_path.iterdir():  # and after closing (checkpointed into the main file)
        if path.name.startswith("confidant.db"):
            assert leaked_words(path.read_bytes()) == [], path.name
    assert caplog.records, "the flow logs something, so this check means something"
    for record in caplog.records:
        assert leaked_words(record.getMessage()) == [], record.name
    assert leaked_words(caplog.text) == []


def test_the_canary_check_can_fail() -> None:
    assert leaked_words(b"... marmalade ...") == ["marmalade"]
    assert leaked_words(CANARY) == WORDS
