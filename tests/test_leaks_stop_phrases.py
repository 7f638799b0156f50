"""Everyday phrasing in many languages is common ground, not a leak, even matched whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.leaks.stoplist import corpus_phrases
from tests.leak_rig import alerts, leak_rig, policy_with

WHOLE = policy_with("whole_message: true\nmin_tokens_whole: 2")
EVERYDAY = [
    "お元気ですか？",
    "我还不错，你呢？",
    "좋은 아침입니다. 오늘의 기분은 어떠세요?",
    "Buenos días, ¿cómo estás?",
    "Mir geht es gut, und wie geht es dir?",
    "Je vais bien, merci, et toi ?",
    "Guten Morgen, wie geht es dir?",
]


@pytest.mark.parametrize("phrase", EVERYDAY)
async def test_an_everyday_line_said_in_two_rooms_is_not_flagged(
    tmp_path: Path, phrase: str
) -> None:
    async with leak_rig(tmp_path, WHOLE) as rig:
        await rig.say(":room recovery", f"alice: {phrase}")
        assert alerts(await rig.say(":room lobby", f"bob: {phrase}")) == []


async def test_a_short_message_of_its_own_still_matches_whole(tmp_path: Path) -> None:
    """The stop list leaves other short messages alone (the control for the test above)."""
    async with leak_rig(tmp_path, WHOLE) as rig:
        await rig.say(":room recovery", "alice: 姉にお酒のことを話しました")
        [alert] = alerts(await rig.say(":room lobby", "bob: 姉にお酒のことを話しました"))
        assert "from recovery" in alert


def test_the_stop_list_names_its_source_and_covers_the_major_languages() -> None:
    text = Path(__file__).parent.parent.joinpath("bot/leaks/stop_phrases.txt").read_text()
    assert "chatterbot-corpus 1.3.3" in text.splitlines()[1]
    languages = {line.split("\t")[0] for line in text.splitlines() if not line.startswith("#")}
    assert {"ja", "zh", "ko", "th", "es", "de", "fr", "pt", "it", "ru"} <= languages
    assert len(corpus_phrases()) > 4000
